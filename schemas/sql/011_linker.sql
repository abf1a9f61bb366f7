-- Linkage as a derived stage (docs/linkage.md, "The linker").
--
-- Until now each batch folded the persons, judgments and marriages its
-- records touch inside its own transaction, under advisory locks on each of
-- them; the fold cost as much as the rest of the write (docs/performance.md).
-- Now the batch only states its records' facts (crvs.person_fact,
-- crvs.linked_record, the record-level items) and queues each changed
-- record in crvs.link_queue; the linker (crvs.link_drain, run by a thread
-- of every service, one at a time per database) folds everything queued in
-- large sets and deletes the queue rows in the same transaction as its
-- results. The fold is a function of the set of facts, so the registry ends
-- in the state the synchronous fold gave, whatever the order and grouping.

-- What is still to fold: one row per record version written (or marriage
-- registered). The queue is the linker's watermark made exact: a watermark
-- on a sequence would skip a row committed after a higher one was folded
-- (a sequence gives numbers in the order transactions ask, not the order
-- they commit).
CREATE TABLE crvs.link_queue (
    id bigserial PRIMARY KEY,
    entity text NOT NULL,     -- birth_certificate, death_notice, divorce_judgment, marriage
    key text NOT NULL,
    before_ids text[],        -- the persons the record's previous version named
    before_cancels text,      -- the judgment its previous version cancelled
    marriage_id bigint,       -- entity marriage: the register's row
    enqueued_at timestamptz NOT NULL DEFAULT clock_timestamp()
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 20000,
        autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 20000,
        autovacuum_vacuum_cost_delay = 0);
-- Rows come and go by the million: vacuumed after a fixed number of dead
-- rows rather than a share of a table that is usually almost empty.

GRANT SELECT, INSERT, DELETE ON crvs.link_queue TO crvs_service;
GRANT USAGE ON SEQUENCE crvs.link_queue_id_seq TO crvs_service;

-- One linker per database. A linker process claims the session lock
-- (crvs.linker_claim) and folds for as long as its connection lives; the
-- others stand by and try again now and then, so one takes over when the
-- active one's connection ends. Each fold also holds the transaction lock
-- (crvs.linker_lock), which SQL callers folding at once (crvs.person_link,
-- crvs.register_marriage) take too. One linker rather than one per key
-- range: the fold of a person reads judgments and marriages of other
-- persons, so folds split by key range would need the cross-range locks
-- this stage removed. Both are advisory locks on ('crvs', n): pg_locks shows
-- them as classid 1668445811, objid 1 (active linker) and 2 (fold).
CREATE FUNCTION crvs.linker_claim() RETURNS boolean LANGUAGE sql AS $$
    SELECT pg_try_advisory_lock(1668445811, 1)
$$;

CREATE FUNCTION crvs.linker_lock(p_wait boolean) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF p_wait THEN
        PERFORM pg_advisory_xact_lock(1668445811, 2);
        RETURN true;
    END IF;
    RETURN pg_try_advisory_xact_lock(1668445811, 2);
END
$$;

-- The application_name of the active linker's connection; NULL when none.
CREATE FUNCTION crvs.linker_active() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.database = a.datid
      AND l.classid = 1668445811 AND l.objid = 1 AND l.objsubid = 2
      AND a.datname = current_database()
    LIMIT 1
$$;

-- The ingest side, called by the write path for the records of a batch that
-- were created or corrected (p_recs: [{key, facts, reconcile, created}], one
-- per key, in batch order; created: the record is new, so it stated no facts
-- before): replaces the records' facts and record-level items and queues
-- each record with what its previous version named. Locks nothing but the
-- records' own rows.
CREATE OR REPLACE FUNCTION crvs.link_records(p_entity text, p_recs jsonb)
RETURNS void LANGUAGE plpgsql
SET enable_seqscan = off SET jit = off AS $$
DECLARE
    keys text[];
BEGIN
    SELECT array_agg(r->>'key' ORDER BY o) INTO keys
    FROM jsonb_array_elements(p_recs) WITH ORDINALITY AS e(r, o);

    WITH gone AS (
        DELETE FROM crvs.person_fact
        WHERE source_entity = p_entity
          AND source_key = ANY (ARRAY(SELECT r->>'key' FROM jsonb_array_elements(p_recs) AS r
                                      WHERE NOT coalesce((r->>'created')::boolean, false)))
        RETURNING source_key, personal_id
    ), before AS (
        SELECT source_key, array_agg(DISTINCT personal_id) AS ids FROM gone GROUP BY source_key
    ), prior AS (
        SELECT l.source_key, l.cancels FROM crvs.linked_record l
        WHERE l.source_entity = p_entity AND l.source_key = ANY (keys) AND l.cancels IS NOT NULL
    )
    INSERT INTO crvs.link_queue (entity, key, before_ids, before_cancels)
    SELECT p_entity, u.k, b.ids, p.cancels
    FROM unnest(keys) WITH ORDINALITY AS u(k, o)
    LEFT JOIN before b ON b.source_key = u.k
    LEFT JOIN prior p ON p.source_key = u.k
    ORDER BY u.o;

    INSERT INTO crvs.person_fact (source_entity, source_key, role, personal_id, kind,
                                  effective_date, sex, birth_date, name, name_key, cancels,
                                  marriage)
    SELECT p_entity, r->>'key', f->>'role', f->>'personal_id', f->>'kind',
           (f->>'effective_date')::date, f->>'sex', (f->>'birth_date')::date, f->>'name',
           f->>'name_key', f->>'cancels', f->'marriage'
    FROM jsonb_array_elements(p_recs) AS r, jsonb_array_elements(r->'facts') AS f
    WHERE f->>'personal_id' IS NOT NULL;

    INSERT INTO crvs.linked_record AS l (source_entity, source_key, cancels, marriage,
                                         effective_date, kind)
    SELECT p_entity, r->>'key', x.cancels, x.marriage, x.effective_date, x.kind
    FROM jsonb_array_elements(p_recs) AS r,
         LATERAL (SELECT (array_agg(f->>'cancels') FILTER (WHERE f->>'cancels' IS NOT NULL))[1]
                             AS cancels,
                         (array_agg(f->'marriage')
                              FILTER (WHERE jsonb_typeof(f->'marriage') = 'object'))[1]
                             AS marriage,
                         min((f->>'effective_date')::date) AS effective_date,
                         min(f->>'kind') AS kind
                  FROM jsonb_array_elements(r->'facts') AS f) x
    ON CONFLICT (source_entity, source_key) DO UPDATE
        SET cancels = EXCLUDED.cancels, marriage = EXCLUDED.marriage,
            effective_date = EXCLUDED.effective_date, kind = EXCLUDED.kind,
            linked_at = now();

    -- Record-level items the services found: they depend on the record only.
    PERFORM crvs.reconcile_scopes(
        ARRAY(SELECT 'record:' || p_entity || ':' || k FROM unnest(keys) AS k),
        (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'scope', 'record:' || p_entity || ':' || (r->>'key'),
                    'reason', it->>'reason',
                    'natural_key', (it->>'reason') || '|' || p_entity || ':' || (r->>'key')
                                   || '|' || ord,
                    'personal_id', it->>'personal_id',
                    'source_a', p_entity || ':' || (r->>'key'),
                    'detail', it->>'detail')), '[]')
         FROM jsonb_array_elements(p_recs) AS r,
              jsonb_array_elements(coalesce(r->'reconcile', '[]')) WITH ORDINALITY AS e(it, ord)));
END
$$;

-- A fold: up to p_limit queued rows (NULL: all), oldest first, or only
-- the rows p_only names, and deletes them, in the caller's transaction.
-- p_wait false: returns records -1 at once when another transaction holds
-- the linker lock.
-- Everything the rows touch is recomputed once, from the committed facts:
--   judgments: the divorce records themselves, the judgments they cancel
--     now and before, the cancellations naming them, and the judgments
--     naming a registered marriage's number;
--   persons: named by a record's facts now or before, or by a touched
--     judgment; each with the last queued record that touched it (the
--     history's trigger);
--   marriages: those of the persons a judgment touched, those the touched
--     judgments name by number, and the registered ones.
-- oldest_age: seconds from the oldest row's queueing to now (an upper bound
-- of the delay of every folded record, up to the commit).
CREATE FUNCTION crvs.link_drain(p_limit integer, p_wait boolean DEFAULT true,
                                p_only bigint[] DEFAULT NULL,
                                OUT records integer, OUT oldest_age double precision)
LANGUAGE plpgsql
SET enable_seqscan = off SET jit = off AS $$
DECLARE
    qids bigint[];
    jkeys text[];
    numbers text[];
    judgments text[];
    ids text[];
    triggers text[];
    dids text[];
    dtriggers text[];
BEGIN
    records := 0;
    oldest_age := 0;
    IF NOT crvs.linker_lock(p_wait) THEN
        records := -1;
        RETURN;
    END IF;
    -- After the lock: a fold committed meanwhile has deleted its rows.
    IF p_only IS NULL THEN
        SELECT array_agg(id ORDER BY id) INTO qids
        FROM (SELECT id FROM crvs.link_queue ORDER BY id LIMIT p_limit) s;
    ELSE
        SELECT array_agg(id ORDER BY id) INTO qids
        FROM crvs.link_queue WHERE id = ANY (p_only);
    END IF;
    IF qids IS NULL THEN
        RETURN;
    END IF;

    SELECT coalesce(array_agg(key) FILTER (WHERE entity = 'divorce_judgment'), '{}'),
           coalesce(array_agg(m.registration_number) FILTER (WHERE entity = 'marriage'), '{}'),
           count(*), extract(epoch FROM clock_timestamp() - min(q.enqueued_at))
    INTO jkeys, numbers, records, oldest_age
    FROM crvs.link_queue q LEFT JOIN crvs.marriage m ON m.id = q.marriage_id
    WHERE q.id = ANY (qids);

    SELECT coalesce(array_agg(DISTINCT j), '{}') INTO judgments FROM (
        SELECT unnest(jkeys) AS j
        UNION ALL
        SELECT q.before_cancels FROM crvs.link_queue q
        WHERE q.id = ANY (qids) AND q.entity = 'divorce_judgment'
        UNION ALL
        SELECT l.cancels FROM crvs.linked_record l
        WHERE l.source_entity = 'divorce_judgment' AND l.source_key = ANY (jkeys)
        UNION ALL
        SELECT l.source_key FROM crvs.linked_record l
        WHERE l.source_entity = 'divorce_judgment' AND l.cancels = ANY (jkeys)
        UNION ALL
        SELECT l.source_key FROM crvs.linked_record l
        WHERE l.marriage->>'registration_number' = ANY (numbers)
          AND l.source_entity = 'divorce_judgment') s
    WHERE j IS NOT NULL;

    -- Every read here is by key (the queue's ids, the records' keys): no
    -- CTE the planner would have to guess the size of.
    WITH touch AS (
        SELECT unnest(q.before_ids) AS id, q.id AS qid, q.entity || ':' || q.key AS trig,
               q.entity = 'divorce_judgment' AS divorce
        FROM crvs.link_queue q WHERE q.id = ANY (qids)
        UNION ALL
        SELECT pf.personal_id, q.id, q.entity || ':' || q.key, q.entity = 'divorce_judgment'
        FROM crvs.link_queue q
        CROSS JOIN LATERAL (SELECT f.personal_id FROM crvs.person_fact f
                            WHERE f.source_key = q.key AND f.source_entity = q.entity
                            OFFSET 0) pf -- one probe per record, never a hash of all facts
        WHERE q.id = ANY (qids)
        UNION ALL
        -- the persons of the judgments touched, the judgment their trigger
        SELECT pf.personal_id, NULL, 'divorce_judgment:' || pf.source_key, true
        FROM crvs.person_fact pf
        WHERE pf.source_entity = 'divorce_judgment' AND pf.source_key = ANY (judgments)
    ), per AS (
        SELECT id, (array_agg(trig ORDER BY qid DESC NULLS LAST))[1] AS trig,
               bool_or(divorce) AS divorce
        FROM touch WHERE id IS NOT NULL
        GROUP BY id
    )
    SELECT coalesce(array_agg(id ORDER BY id), '{}'), coalesce(array_agg(trig ORDER BY id), '{}'),
           coalesce(array_agg(id ORDER BY id) FILTER (WHERE divorce), '{}'),
           coalesce(array_agg(trig ORDER BY id) FILTER (WHERE divorce), '{}')
    INTO ids, triggers, dids, dtriggers
    FROM per;

    PERFORM crvs.persons_recompute(ids, triggers);
    IF cardinality(judgments) > 0 THEN
        PERFORM crvs.judgments_recompute(judgments);
    END IF;
    PERFORM crvs.marriages_recompute(array_agg(mid ORDER BY mid), array_agg(trig ORDER BY mid))
    FROM (SELECT DISTINCT ON (mid) mid, trig FROM (
              SELECT m.id AS mid, t.trig, 1 AS pref
              FROM unnest(dids, dtriggers) AS t(id, trig)
              JOIN crvs.marriage m
                ON m.spouse_a_personal_id = t.id OR m.spouse_b_personal_id = t.id
              UNION ALL
              SELECT m.id, 'divorce_judgment:' || r.source_key, 0
              FROM crvs.linked_record r
              JOIN crvs.marriage m ON m.registration_number = r.marriage->>'registration_number'
              WHERE r.source_entity = 'divorce_judgment' AND r.source_key = ANY (judgments)
              UNION ALL
              SELECT q.marriage_id, 'marriage:' || q.key, 0
              FROM crvs.link_queue q
              WHERE q.id = ANY (qids) AND q.marriage_id IS NOT NULL) c
          ORDER BY mid, pref, trig) s;

    DELETE FROM crvs.link_queue WHERE id = ANY (qids);
END
$$;

-- What waits for the linker: rows (counted up to p_cap) and the age of the
-- oldest, in seconds (0 when none).
CREATE FUNCTION crvs.link_lag(p_cap integer, OUT records bigint, OUT oldest_age double precision)
LANGUAGE sql STABLE AS $$
    SELECT (SELECT count(*) FROM (SELECT 1 FROM crvs.link_queue LIMIT p_cap) s),
           coalesce(extract(epoch FROM clock_timestamp()
                                       - (SELECT enqueued_at FROM crvs.link_queue
                                          ORDER BY id LIMIT 1)), 0)::double precision
$$;

-- One record's linkage at once, for SQL callers (tests, tools): its facts,
-- then its fold, in one transaction holding the linker lock. Only its own
-- queue row is folded: the rest of the queue is the linker's, which may be
-- a backlog of millions.
CREATE OR REPLACE FUNCTION crvs.person_link(p_entity text, p_key text, p_facts jsonb,
                                            p_reconcile jsonb, p_meta jsonb)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM crvs.linker_lock(true);
    PERFORM crvs.link_records(p_entity, jsonb_build_array(jsonb_build_object(
        'key', p_key, 'facts', coalesce(p_facts, '[]'), 'reconcile', p_reconcile)));
    PERFORM crvs.link_drain(NULL, true, ARRAY[currval('crvs.link_queue_id_seq')]);
END
$$;

-- Loads one marriage of the register (idempotent by office and number),
-- states its facts (both spouses married from the registration date) and
-- folds what it touches (its own queue row only, as crvs.person_link),
-- holding the linker lock first, so that a fold in progress never waits on
-- this marriage's row while this waits on the fold.
CREATE OR REPLACE FUNCTION crvs.register_marriage(p_office text, p_number text, p_date date,
                                                  p_spouse_a text, p_spouse_b text,
                                                  p_source text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    mid bigint;
    key text := p_office || '/' || p_number;
    before text[];
    queued bigint;
BEGIN
    PERFORM crvs.linker_lock(true);
    INSERT INTO crvs.marriage (registry_office, registration_number, registration_date,
                               spouse_a_personal_id, spouse_b_personal_id)
    VALUES (p_office, p_number, p_date, p_spouse_a, p_spouse_b)
    ON CONFLICT (registry_office, registration_number) DO UPDATE
        SET registration_date = EXCLUDED.registration_date,
            spouse_a_personal_id = EXCLUDED.spouse_a_personal_id,
            spouse_b_personal_id = EXCLUDED.spouse_b_personal_id, updated_at = now()
    RETURNING id INTO mid;
    WITH gone AS (
        DELETE FROM crvs.person_fact WHERE source_entity = 'marriage' AND source_key = key
        RETURNING personal_id)
    SELECT array_agg(DISTINCT personal_id) INTO before FROM gone;
    INSERT INTO crvs.person_fact (source_entity, source_key, role, personal_id, kind,
                                  effective_date)
    VALUES ('marriage', key, 'spouse_a', p_spouse_a, 'marriage', p_date),
           ('marriage', key, 'spouse_b', p_spouse_b, 'marriage', p_date);
    INSERT INTO crvs.audit_log (service, action, entity, entity_key, source_system, detail)
    VALUES ('linkage', 'register', 'marriage', key, p_source,
            jsonb_build_object('registration_date', p_date));
    INSERT INTO crvs.link_queue (entity, key, before_ids, marriage_id)
    VALUES ('marriage', key, before, mid)
    RETURNING id INTO queued;
    PERFORM crvs.link_drain(NULL, true, ARRAY[queued]);
    RETURN mid;
END
$$;

-- The closing of the scopes' open items no longer named, with the named
-- keys read once into a hash (NOT IN over a subquery: a hashed subplan)
-- instead of each open item compared with every named key (<> ALL over an
-- array, which a fold of thousands of divorce judgments made quadratic:
-- docs/performance.md). NOT IN and <> ALL agree on NULLs: a NULL key among
-- the named ones closes nothing either way. Otherwise as in 003_person.sql.
CREATE OR REPLACE FUNCTION crvs.reconcile_scopes(p_scopes text[], p_items jsonb)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO crvs.reconciliation AS r (reason, scope, natural_key, personal_id,
                                          source_a, source_b, detail)
    SELECT DISTINCT ON (it->>'natural_key')
           it->>'reason', it->>'scope', it->>'natural_key', it->>'personal_id',
           it->>'source_a', it->>'source_b', it->>'detail'
    FROM jsonb_array_elements(coalesce(p_items, '[]')) AS it
    ORDER BY it->>'natural_key'
    ON CONFLICT (natural_key) DO UPDATE
        SET detail = EXCLUDED.detail, source_a = EXCLUDED.source_a,
            source_b = EXCLUDED.source_b, personal_id = EXCLUDED.personal_id,
            status = CASE WHEN r.status = 'closed' THEN 'open' ELSE r.status END,
            updated_at = now()
        WHERE r.status = 'closed'
           OR (r.detail, r.source_a, r.source_b, r.personal_id) IS DISTINCT FROM
              (EXCLUDED.detail, EXCLUDED.source_a, EXCLUDED.source_b, EXCLUDED.personal_id);
    -- Each scope's open items through reconciliation_scope: a subquery per
    -- scope, which the planner cannot turn into one read of every open item;
    -- locked there, so that an item resolved meanwhile is seen resolved and
    -- left alone.
    UPDATE crvs.reconciliation
    SET status = 'closed', updated_at = now()
    WHERE id = ANY (ARRAY(
              SELECT o.id FROM unnest(p_scopes) AS s(scope),
                   LATERAL (SELECT r.id FROM crvs.reconciliation r
                            WHERE r.scope = s.scope AND r.status = 'open'
                            OFFSET 0 FOR UPDATE) o))
      AND natural_key NOT IN (SELECT it->>'natural_key'
                              FROM jsonb_array_elements(coalesce(p_items, '[]')) AS it);
END
$$;
