-- The person registry and the linkage between sources (docs/linkage.md).
--
-- Records do not update persons directly: each registered record states
-- facts about the people it names (crvs.person_fact) and every person, marriage
-- and judgment those facts touch is recomputed from all its facts. The
-- recomputation is a pure function of the set of facts, so the registry ends
-- in the same state whatever order the records arrived in.

-- Append-only tables share one refusing trigger function; name the table.
CREATE OR REPLACE FUNCTION crvs.refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%.% is append-only: % refused', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TABLE crvs.person (
    personal_id text PRIMARY KEY CHECK (personal_id ~ '^[0-9]{12}$'),
    sex text NOT NULL CHECK (sex IN ('MALE', 'FEMALE')),  -- the ID's sex digit
    birth_date date,
    name text,
    name_key text,
    vital_status text NOT NULL DEFAULT 'ALIVE' CHECK (vital_status IN ('ALIVE', 'DECEASED')),
    death_date date,
    death_source text,
    marital_status text NOT NULL DEFAULT 'UNKNOWN'
        CHECK (marital_status IN ('UNKNOWN', 'MARRIED', 'DIVORCED', 'ANNULLED')),
    marital_since date,
    marital_source text,
    first_seen timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1
);

-- What one record says about one person. source = entity || ':' || key.
CREATE TABLE crvs.person_fact (
    source_entity text NOT NULL,
    source_key text NOT NULL,
    role text NOT NULL,
    personal_id text NOT NULL CHECK (personal_id ~ '^[0-9]{12}$'),
    kind text NOT NULL
        CHECK (kind IN ('identity', 'death', 'marriage', 'divorce', 'annulment', 'cancellation')),
    effective_date date,
    sex text,
    birth_date date,
    name text,
    name_key text,
    cancels text,           -- cancellation: key of the judgment it cancels
    marriage jsonb,         -- divorce/annulment: the marriage as the judgment names it
    received_at timestamptz NOT NULL DEFAULT now(),
    -- The record's key first: every lookup names records by key, and with
    -- the entity first the planner, whose statistics on the entity's share
    -- lag behind a growing registry, read all facts of an entity through
    -- the key's prefix for each batch (docs/performance.md).
    PRIMARY KEY (source_key, source_entity, role)
);
CREATE INDEX person_fact_person ON crvs.person_fact (personal_id);
CREATE INDEX person_fact_cancels ON crvs.person_fact (cancels) WHERE cancels IS NOT NULL;

-- Every record that went through the linkage, with or without identified
-- persons, so that a cancellation can tell whether its judgment arrived.
CREATE TABLE crvs.linked_record (
    source_entity text NOT NULL,
    source_key text NOT NULL,
    cancels text,
    marriage jsonb,
    effective_date date,
    kind text,
    linked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_key, source_entity) -- key first: see crvs.person_fact
);
-- Cancellations by the judgment they cancel (crvs.is_cancelled and the
-- linkage name both columns); only cancellations are indexed.
CREATE INDEX linked_record_cancels ON crvs.linked_record (source_entity, cancels)
    WHERE cancels IS NOT NULL;
-- Judgments by the registration number of the marriage they name
-- (crvs.marriages_recompute).
CREATE INDEX linked_record_marriage_number
    ON crvs.linked_record ((marriage->>'registration_number'))
    WHERE marriage->>'registration_number' IS NOT NULL;

-- Every change of a person, append-only.
CREATE TABLE crvs.person_history (
    id bigserial PRIMARY KEY,
    personal_id text NOT NULL,
    field text NOT NULL,
    old_value text,
    new_value text,
    effective_date date,
    source text,            -- the record the new value comes from
    trigger_source text,    -- the record whose arrival caused the recomputation
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX person_history_person ON crvs.person_history (personal_id, id);
CREATE TRIGGER person_history_append_only BEFORE UPDATE OR DELETE ON crvs.person_history
    FOR EACH ROW EXECUTE FUNCTION crvs.refuse_audit_change();
CREATE TRIGGER person_history_no_truncate BEFORE TRUNCATE ON crvs.person_history
    FOR EACH STATEMENT EXECUTE FUNCTION crvs.refuse_audit_change();

-- The marriage register (extract of the civil-status marriage records, loaded
-- with crvs.register_marriage). Status follows the judgments.
CREATE TABLE crvs.marriage (
    id bigserial PRIMARY KEY,
    registry_office text NOT NULL,
    registration_number text NOT NULL,
    registration_date date NOT NULL,
    spouse_a_personal_id text NOT NULL CHECK (spouse_a_personal_id ~ '^[0-9]{12}$'),
    spouse_b_personal_id text NOT NULL CHECK (spouse_b_personal_id ~ '^[0-9]{12}$'),
    status text NOT NULL DEFAULT 'REGISTERED'
        CHECK (status IN ('REGISTERED', 'DISSOLVED', 'ANNULLED')),
    status_since date,
    status_source text,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (registry_office, registration_number)
);
CREATE INDEX marriage_number ON crvs.marriage (registration_number);
CREATE INDEX marriage_spouse_a ON crvs.marriage (spouse_a_personal_id);
CREATE INDEX marriage_spouse_b ON crvs.marriage (spouse_b_personal_id);

-- Conflicts and gaps. `scope` is what detects the item (a person, a
-- judgment, a record) and is recomputed as a whole; `natural_key` makes the
-- same finding the same item however often it is recomputed. An item whose
-- cause disappears is closed, not deleted; a resolved item stays resolved.
CREATE TABLE crvs.reconciliation (
    id bigserial PRIMARY KEY,
    reason text NOT NULL,
    scope text NOT NULL,
    natural_key text NOT NULL UNIQUE,
    personal_id text,
    source_a text,
    source_b text,
    detail text NOT NULL,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved', 'closed')),
    detected_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    resolved_by text,
    resolution_comment text
);
-- (scope, status): the open items of a scope are found by both. No other
-- index leads with the status: one that did, (status, reason), was chosen
-- for "the open items of scope X" whenever the statistics were older than
-- the table (a registry filling faster than autovacuum analyses it), and
-- each scope's lookup then read every open item, a cost growing with the
-- items (docs/performance.md, section 6). The items by reason and status
-- (operators, indicators) are read through reconciliation_reason.
CREATE INDEX reconciliation_scope ON crvs.reconciliation (scope, status);
CREATE INDEX reconciliation_reason ON crvs.reconciliation (reason, status);

-- The sex a personal ID's fourth digit gives (even: male, odd: female).
CREATE FUNCTION crvs.id_sex(p_id text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN substr(p_id, 4, 1)::integer % 2 = 0 THEN 'MALE' ELSE 'FEMALE' END
$$;

-- A personal ID as logs and listings show it: province code and last two digits.
CREATE FUNCTION crvs.mask_id(p_id text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_id IS NULL THEN NULL
                ELSE substr(p_id, 1, 3) || repeat('*', length(p_id) - 5) || right(p_id, 2) END
$$;

-- Replaces the items of the given scopes by the given set (jsonb array of
-- {scope, reason, natural_key, personal_id, source_a, source_b, detail}),
-- for any number of scopes in two statements. An item already there with
-- the same content is left alone (no new row version).
CREATE FUNCTION crvs.reconcile_scopes(p_scopes text[], p_items jsonb)
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
      AND natural_key <> ALL (ARRAY(SELECT it->>'natural_key'
                                    FROM jsonb_array_elements(coalesce(p_items, '[]')) AS it));
END
$$;

-- Judgment keys that a cancellation on review names. A cancelled judgment's
-- divorce or annulment is left out of every fold.
CREATE FUNCTION crvs.is_cancelled(p_key text) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM crvs.linked_record
                   WHERE source_entity = 'divorce_judgment' AND cancels = p_key)
$$;

-- Folds the facts of a set of persons into crvs.person (see
-- docs/linkage.md), writes what changed to crvs.person_history and
-- recomputes the persons' reconciliation items: one statement for the fold,
-- whatever the number of persons. p_triggers[i] is the record whose arrival
-- caused p_ids[i] to be recomputed. A person no fact names any more (a
-- corrected ID) goes.
-- Reads by key only (enable_seqscan: see crvs.apply_records).
CREATE FUNCTION crvs.persons_recompute(p_ids text[], p_triggers text[])
RETURNS void LANGUAGE plpgsql
SET enable_seqscan = off SET jit = off AS $$
DECLARE
    items jsonb;
BEGIN
    WITH ids AS (
        SELECT DISTINCT ON (id) id AS personal_id, trig
        FROM unnest(p_ids, p_triggers) AS u(id, trig)
        WHERE id IS NOT NULL
        ORDER BY id
    ), old AS MATERIALIZED (
        SELECT p.* FROM crvs.person p
        WHERE p.personal_id = ANY (p_ids)
        ORDER BY p.personal_id
        FOR UPDATE
    ), f AS MATERIALIZED (
        SELECT f.*, f.source_entity || ':' || f.source_key AS src,
               f.kind IN ('divorce', 'annulment') AND crvs.is_cancelled(f.source_key)
                   AS cancelled
        FROM crvs.person_fact f
        WHERE f.personal_id = ANY (p_ids)
    ), birth_of AS (
        -- the date of birth most sources give (the earliest of a tie)
        SELECT DISTINCT ON (personal_id) personal_id, birth_date
        FROM f WHERE birth_date IS NOT NULL
        GROUP BY personal_id, birth_date
        ORDER BY personal_id, count(*) DESC, birth_date
    ), name_of AS (
        SELECT DISTINCT ON (personal_id) personal_id, name, min(name_key) AS name_key
        FROM f WHERE name IS NOT NULL
        GROUP BY personal_id, name
        ORDER BY personal_id, count(*) DESC, name COLLATE "C"
    ), death_of AS (
        -- the earliest notified date of death
        SELECT DISTINCT ON (personal_id) personal_id, effective_date AS death_date,
               src AS death_source
        FROM f WHERE kind = 'death' AND effective_date IS NOT NULL
        ORDER BY personal_id, effective_date, source_entity, source_key
    ), marital_of AS (
        -- the last marriage, divorce or annulment in force, by date
        SELECT DISTINCT ON (personal_id) personal_id,
               CASE kind WHEN 'marriage' THEN 'MARRIED' WHEN 'divorce' THEN 'DIVORCED'
                         ELSE 'ANNULLED' END AS marital_status,
               effective_date AS marital_since, src AS marital_source
        FROM f
        WHERE kind IN ('marriage', 'divorce', 'annulment') AND effective_date IS NOT NULL
          AND NOT cancelled
        ORDER BY personal_id, effective_date DESC,
                 CASE kind WHEN 'marriage' THEN 0 WHEN 'divorce' THEN 1 ELSE 2 END DESC,
                 source_entity DESC, source_key DESC
    ), n AS MATERIALIZED (
        SELECT p.personal_id, crvs.id_sex(p.personal_id) AS sex, birth_of.birth_date, name_of.name,
               name_of.name_key,
               CASE WHEN death_of.death_date IS NULL THEN 'ALIVE' ELSE 'DECEASED' END
                   AS vital_status,
               death_of.death_date, death_of.death_source,
               coalesce(marital_of.marital_status, 'UNKNOWN') AS marital_status,
               marital_of.marital_since, marital_of.marital_source
        FROM (SELECT DISTINCT personal_id FROM f) p
        LEFT JOIN birth_of USING (personal_id)
        LEFT JOIN name_of USING (personal_id)
        LEFT JOIN death_of USING (personal_id)
        LEFT JOIN marital_of USING (personal_id)
    ), gone AS (
        DELETE FROM crvs.person p
        WHERE p.personal_id = ANY (ARRAY(SELECT o.personal_id FROM old o
                                          WHERE o.personal_id NOT IN (SELECT personal_id FROM n)))
    ), added AS (
        INSERT INTO crvs.person (personal_id, sex, birth_date, name, name_key, vital_status,
                                 death_date, death_source, marital_status, marital_since,
                                 marital_source)
        SELECT n.personal_id, n.sex, n.birth_date, n.name, n.name_key, n.vital_status,
               n.death_date, n.death_source, n.marital_status, n.marital_since,
               n.marital_source
        FROM n WHERE n.personal_id NOT IN (SELECT personal_id FROM old)
    ), changed AS (
        UPDATE crvs.person p
        SET sex = n.sex, birth_date = n.birth_date, name = n.name, name_key = n.name_key,
            vital_status = n.vital_status, death_date = n.death_date,
            death_source = n.death_source, marital_status = n.marital_status,
            marital_since = n.marital_since, marital_source = n.marital_source,
            updated_at = now(), version = p.version + 1
        FROM n
        WHERE p.personal_id = n.personal_id
          -- by key: only the rows whose fold changed
          AND p.personal_id = ANY (ARRAY(
                  SELECT o.personal_id FROM old o JOIN n USING (personal_id)
                  WHERE (o.sex, o.birth_date, o.name, o.name_key, o.vital_status,
                         o.death_date, o.death_source, o.marital_status, o.marital_since,
                         o.marital_source)
                        IS DISTINCT FROM
                        (n.sex, n.birth_date, n.name, n.name_key, n.vital_status,
                         n.death_date, n.death_source, n.marital_status, n.marital_since,
                         n.marital_source)))
    ), history AS (
        -- The fields that changed, per person in this order. A person new
        -- to the registry gets one row ('person'), and a row for a vital or
        -- marital status other than the default (alive, unknown): the
        -- values it starts with are in crvs.person, and each later change
        -- keeps the value it replaces.
        INSERT INTO crvs.person_history (personal_id, field, old_value, new_value,
                                         effective_date, source, trigger_source)
        SELECT ids.personal_id, h.field, h.old_value, h.new_value, h.effective_date, h.source,
               ids.trig
        FROM ids
        LEFT JOIN old o USING (personal_id)
        LEFT JOIN n USING (personal_id)
        CROSS JOIN LATERAL (SELECT o.personal_id IS NOT NULL AS had) x
        CROSS JOIN LATERAL (VALUES
            (1, 'person', CASE WHEN had THEN 'present' END,
             CASE WHEN n.personal_id IS NOT NULL THEN 'present' END, NULL::date,
             CASE WHEN n.personal_id IS NOT NULL THEN ids.trig END),
            (2, 'birth_date', CASE WHEN had THEN o.birth_date ELSE n.birth_date END::text,
             n.birth_date::text, NULL, ids.trig),
            (3, 'name', CASE WHEN had THEN o.name ELSE n.name END, n.name, NULL, ids.trig),
            (4, 'vital_status',
             CASE WHEN had THEN o.vital_status || coalesce(' ' || o.death_date, '')
                  ELSE 'ALIVE' END,
             n.vital_status || coalesce(' ' || n.death_date, ''), n.death_date,
             n.death_source),
            (5, 'marital_status',
             CASE WHEN had THEN o.marital_status || coalesce(' ' || o.marital_since, '')
                  ELSE 'UNKNOWN' END,
             n.marital_status || coalesce(' ' || n.marital_since, ''), n.marital_since,
             n.marital_source))
            AS h(ord, field, old_value, new_value, effective_date, source)
        WHERE h.old_value IS DISTINCT FROM h.new_value
          AND (n.personal_id IS NOT NULL OR h.ord = 1)
        ORDER BY ids.personal_id, h.ord
    ), mismatch AS (
        SELECT personal_id, array_agg(s ORDER BY bd, s) AS src,
               string_agg(DISTINCT bd::text, ', ') AS dates
        FROM (SELECT DISTINCT ON (personal_id, birth_date) personal_id, birth_date AS bd,
                     src AS s
              FROM f WHERE birth_date IS NOT NULL
              ORDER BY personal_id, birth_date, source_entity, source_key) d
        GROUP BY personal_id
        HAVING count(*) > 1
    ), notices AS (
        SELECT personal_id, array_agg(src ORDER BY effective_date, source_entity, source_key)
                   AS src,
               string_agg(DISTINCT effective_date::text, ', ') AS dates, count(*) AS cnt
        FROM f WHERE kind = 'death'
        GROUP BY personal_id
        HAVING count(*) > 1
    )
    SELECT coalesce(jsonb_agg(item), '[]') INTO items
    FROM (
        SELECT jsonb_build_object(
                   'reason', 'birth_date_mismatch',
                   'natural_key', 'birth_date_mismatch|' || personal_id,
                   'source_a', src[1], 'source_b', src[2],
                   'detail', 'sources give ' || dates) || jsonb_build_object(
                   'scope', 'person:' || personal_id, 'personal_id', personal_id)
        FROM mismatch
        UNION ALL
        SELECT jsonb_build_object(
                   'reason', 'divorce_after_death',
                   'natural_key', 'divorce_after_death|' || f.personal_id || '|' || f.source_key,
                   'source_a', f.src, 'source_b', n.death_source,
                   'detail', f.kind || ' effective ' || f.effective_date || ' after death on '
                             || n.death_date) || jsonb_build_object(
                   'scope', 'person:' || f.personal_id, 'personal_id', f.personal_id)
        FROM f JOIN n USING (personal_id)
        WHERE f.kind IN ('divorce', 'annulment') AND f.effective_date > n.death_date
          AND NOT f.cancelled
        UNION ALL
        SELECT jsonb_build_object(
                   'reason', 'duplicate_death',
                   'natural_key', 'duplicate_death|' || personal_id,
                   'source_a', notices.src[1], 'source_b', notices.src[2],
                   'detail', cnt || ' death notices, dates ' || dates) || jsonb_build_object(
                   'scope', 'person:' || personal_id, 'personal_id', personal_id)
        FROM notices JOIN n USING (personal_id)
        WHERE n.death_date IS NOT NULL
    ) AS found(item);

    PERFORM crvs.reconcile_scopes(ARRAY(SELECT 'person:' || id FROM unnest(p_ids) AS id),
                                  items);
END
$$;

-- The items of a set of judgments: a divorce or annulment naming a marriage
-- the register does not have, a cancellation naming a judgment not received.
-- PL/pgSQL rather than SQL here and in marriages_recompute: PostgreSQL 15
-- plans an SQL function's statements at every call (about 0.9 ms each per
-- divorce batch), PL/pgSQL once per session.
CREATE FUNCTION crvs.judgments_recompute(p_keys text[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM crvs.reconcile_scopes(
        ARRAY(SELECT 'judgment:' || k FROM unnest(p_keys) AS k),
        (SELECT coalesce(jsonb_agg(item), '[]') FROM (
            SELECT jsonb_build_object(
                       'scope', 'judgment:' || j.source_key,
                       'reason', 'marriage_not_found',
                       'natural_key', 'marriage_not_found|' || j.source_key,
                       'source_a', 'divorce_judgment:' || j.source_key,
                       'detail', 'marriage ' || (j.marriage->>'registration_number')
                                 || coalesce(' of ' || (j.marriage->>'registry_office'), '')
                                 || ' is not in the marriage register') AS item
            FROM crvs.linked_record j
            WHERE j.source_entity = 'divorce_judgment' AND j.source_key = ANY (p_keys)
              AND j.kind IN ('divorce', 'annulment')
              AND j.marriage->>'registration_number' IS NOT NULL
              AND NOT EXISTS (
                  SELECT 1 FROM crvs.marriage m
                  WHERE m.registration_number = j.marriage->>'registration_number'
                    AND (j.marriage->>'registry_office' IS NULL
                         OR m.registry_office = j.marriage->>'registry_office'))
            UNION ALL
            SELECT jsonb_build_object(
                       'scope', 'judgment:' || j.source_key,
                       'reason', 'cancelled_judgment_not_found',
                       'natural_key', 'cancelled_judgment_not_found|' || j.source_key,
                       'source_a', 'divorce_judgment:' || j.source_key,
                       'detail', 'cancels judgment ' || j.cancels || ', not received')
            FROM crvs.linked_record j
            WHERE j.source_entity = 'divorce_judgment' AND j.source_key = ANY (p_keys)
              AND j.cancels IS NOT NULL
              AND NOT EXISTS (
                  SELECT 1 FROM crvs.linked_record c
                  WHERE c.source_entity = 'divorce_judgment' AND c.source_key = j.cancels)
        ) AS found));
END
$$;

-- The status of a set of marriages from the judgments that name them (by
-- office and number, or by the two spouses' IDs), cancelled ones left out:
-- the earliest divorce or annulment in force on or after the registration.
-- p_triggers[i] is the record that made marriage p_ids[i] change, for the
-- audit. One statement whatever the number of marriages.
CREATE FUNCTION crvs.marriages_recompute(p_ids bigint[], p_triggers text[])
RETURNS void LANGUAGE plpgsql
SET enable_seqscan = off SET jit = off AS $$
BEGIN
    IF coalesce(cardinality(p_ids), 0) = 0 THEN
        RETURN;
    END IF;
    WITH m AS (
        SELECT m.id, m.registry_office, m.registration_number, m.registration_date,
               m.spouse_a_personal_id, m.spouse_b_personal_id,
               m.status, m.status_since, m.status_source, t.trig
        FROM unnest(p_ids, p_triggers) AS t(id, trig)
        JOIN crvs.marriage m ON m.id = t.id
        ORDER BY m.id
        FOR UPDATE OF m
    ), now_in_force AS (
        SELECT m.*,
               coalesce(CASE j.kind WHEN 'divorce' THEN 'DISSOLVED'
                                    WHEN 'annulment' THEN 'ANNULLED' END,
                        'REGISTERED') AS new_status,
               j.effective_date AS new_since, j.source AS new_source
        FROM m LEFT JOIN LATERAL (
            -- The judgments naming this marriage, found through indexes: by
            -- its registration number (linked_record_marriage_number), or by
            -- both spouses (person_fact_person): never a read of every judgment.
            SELECT r.kind, r.effective_date, r.source_entity || ':' || r.source_key AS source
            FROM crvs.linked_record r
            WHERE r.source_entity = 'divorce_judgment'
              AND r.source_key IN (
                  SELECT l.source_key FROM crvs.linked_record l
                  WHERE l.source_entity = 'divorce_judgment'
                    AND l.marriage->>'registration_number' = m.registration_number
                    AND coalesce(l.marriage->>'registry_office', m.registry_office)
                        = m.registry_office
                  UNION
                  SELECT fa.source_key FROM crvs.person_fact fa
                  JOIN crvs.person_fact fb ON fb.source_entity = fa.source_entity
                                          AND fb.source_key = fa.source_key
                  WHERE fa.source_entity = 'divorce_judgment'
                    AND fa.personal_id = m.spouse_a_personal_id
                    AND fb.personal_id = m.spouse_b_personal_id
                    AND m.spouse_a_personal_id <> m.spouse_b_personal_id)
              AND r.kind IN ('divorce', 'annulment')
              AND NOT crvs.is_cancelled(r.source_key)
              AND r.effective_date >= m.registration_date
            ORDER BY r.effective_date, r.source_key LIMIT 1) j ON true
    ), changed AS (
        SELECT * FROM now_in_force
        WHERE (status, status_since, status_source)
              IS DISTINCT FROM (new_status, new_since, new_source)
    ), updated AS (
        UPDATE crvs.marriage x
        SET status = c.new_status, status_since = c.new_since, status_source = c.new_source,
            updated_at = now()
        FROM changed c WHERE x.id = c.id
    )
    INSERT INTO crvs.audit_log (service, action, entity, entity_key, detail)
    SELECT 'linkage', 'marriage_status', 'marriage',
           c.registry_office || '/' || c.registration_number,
           jsonb_build_object('old', c.status, 'new', c.new_status, 'since', c.new_since,
                              'source', c.new_source, 'trigger', c.trig)
    FROM changed c ORDER BY c.id;
END
$$;

-- Called by crvs.apply_records for the records of a batch that were created
-- or corrected (p_recs: [{key, facts, reconcile, created}], one per key, in
-- batch order; created: the record is new, so it stated no facts before):
-- replaces the records' facts and record-level items, then
-- recomputes every person, judgment and marriage they touch, before and
-- after, each once per batch. facts: the record's person facts (a fact
-- without personal_id only carries the record's kind, date, marriage and
-- cancelled judgment); reconcile: [{reason, personal_id?, detail}]. Since
-- the fold is a function of the set of facts, this is the state applying
-- the records one by one would leave (docs/linkage.md).
CREATE FUNCTION crvs.link_records(p_entity text, p_recs jsonb)
RETURNS void LANGUAGE plpgsql
SET enable_seqscan = off SET jit = off AS $$
DECLARE
    keys text[];
    judgments text[] := '{}';
    ids text[];
    triggers text[];
BEGIN
    SELECT array_agg(r->>'key' ORDER BY o) INTO keys
    FROM jsonb_array_elements(p_recs) WITH ORDINALITY AS e(r, o);

    -- Judgments touched: the records themselves, the judgments their
    -- cancellations name (before and now), and the cancellations naming them.
    IF p_entity = 'divorce_judgment' THEN
        SELECT coalesce(array_agg(DISTINCT j), '{}') INTO judgments FROM (
            SELECT unnest(keys) AS j
            UNION ALL
            SELECT l.cancels FROM crvs.linked_record l
            WHERE l.source_entity = p_entity AND l.source_key = ANY (keys)
            UNION ALL
            SELECT f->>'cancels'
            FROM jsonb_array_elements(p_recs) AS r, jsonb_array_elements(r->'facts') AS f
            UNION ALL
            SELECT l.source_key FROM crvs.linked_record l
            WHERE l.source_entity = p_entity AND l.cancels = ANY (keys)) s
        WHERE j IS NOT NULL;
    END IF;

    -- Persons touched, each with the last record of the batch that touched
    -- it: named by a record's facts now or before, or by a touched judgment.
    WITH rec AS (
        SELECT e.o, e.r->>'key' AS key, e.r->'facts' AS facts,
               coalesce((e.r->>'created')::boolean, false) AS created
        FROM jsonb_array_elements(p_recs) WITH ORDINALITY AS e(r, o)
    ), touch AS (
        SELECT f->>'personal_id' AS id, rec.o FROM rec, jsonb_array_elements(rec.facts) AS f
        UNION ALL
        SELECT pf.personal_id, rec.o FROM rec
        JOIN crvs.person_fact pf ON pf.source_entity = p_entity AND pf.source_key = rec.key
        WHERE NOT rec.created
        UNION ALL
        SELECT pf.personal_id, coalesce(
                   (SELECT max(rec.o) FROM rec WHERE rec.key = pf.source_key),
                   (SELECT count(*) FROM rec))
        FROM crvs.person_fact pf
        WHERE p_entity = 'divorce_judgment' AND pf.source_entity = p_entity
          AND pf.source_key = ANY (judgments)
    ), last AS (
        SELECT DISTINCT ON (id) id, p_entity || ':' || keys[o::integer] AS trig
        FROM touch WHERE id IS NOT NULL
        ORDER BY id, o DESC
    )
    SELECT coalesce(array_agg(id ORDER BY id), '{}'), coalesce(array_agg(trig ORDER BY id), '{}')
    INTO ids, triggers
    FROM last;

    -- Serialise with concurrent batches touching the same persons or
    -- judgments (other services, other instances): all locks at once, in
    -- one order, so that two batches cannot wait on each other in a cycle.
    PERFORM pg_advisory_xact_lock(hashtextextended(k, 0))
    FROM (SELECT k FROM (SELECT 'person:' || unnest(ids) AS k
                         UNION SELECT 'judgment:' || unnest(judgments)) u
          ORDER BY k) s;

    DELETE FROM crvs.person_fact
    WHERE source_entity = p_entity
      AND source_key = ANY (ARRAY(SELECT r->>'key' FROM jsonb_array_elements(p_recs) AS r
                                  WHERE NOT coalesce((r->>'created')::boolean, false)));
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

    PERFORM crvs.persons_recompute(ids, triggers);

    -- Judgments and marriages change only with judgments: the marriages of
    -- the persons touched and those named by office and number.
    IF p_entity = 'divorce_judgment' THEN
        PERFORM crvs.judgments_recompute(judgments);
        PERFORM crvs.marriages_recompute(array_agg(mid ORDER BY mid),
                                         array_agg(trig ORDER BY mid))
        FROM (SELECT DISTINCT ON (mid) mid, trig FROM (
                  SELECT m.id AS mid, t.trig, 1 AS pref
                  FROM unnest(ids, triggers) AS t(id, trig)
                  JOIN crvs.marriage m
                    ON m.spouse_a_personal_id = t.id OR m.spouse_b_personal_id = t.id
                  UNION ALL
                  SELECT m.id, p_entity || ':' || r.source_key, 0
                  FROM crvs.linked_record r
                  JOIN crvs.marriage m ON m.registration_number = r.marriage->>'registration_number'
                  WHERE r.source_entity = p_entity AND r.source_key = ANY (judgments)) c
              ORDER BY mid, pref, trig) s;
    END IF;

    -- Record-level items the services found.
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

-- The same for one record (its batch element's meta is not needed).
CREATE FUNCTION crvs.person_link(p_entity text, p_key text, p_facts jsonb, p_reconcile jsonb,
                                 p_meta jsonb)
RETURNS void LANGUAGE sql AS $$
    SELECT crvs.link_records(p_entity, jsonb_build_array(jsonb_build_object(
        'key', p_key, 'facts', coalesce(p_facts, '[]'), 'reconcile', p_reconcile)));
$$;

-- Loads one marriage of the register (idempotent by office and number) and
-- states its facts: both spouses married from the registration date.
CREATE FUNCTION crvs.register_marriage(p_office text, p_number text, p_date date,
                                       p_spouse_a text, p_spouse_b text, p_source text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    mid bigint;
    key text := p_office || '/' || p_number;
    pid text;
BEGIN
    FOR pid IN SELECT x FROM unnest(ARRAY[p_spouse_a, p_spouse_b]) x ORDER BY x LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended('person:' || pid, 0));
    END LOOP;
    INSERT INTO crvs.marriage (registry_office, registration_number, registration_date,
                               spouse_a_personal_id, spouse_b_personal_id)
    VALUES (p_office, p_number, p_date, p_spouse_a, p_spouse_b)
    ON CONFLICT (registry_office, registration_number) DO UPDATE
        SET registration_date = EXCLUDED.registration_date,
            spouse_a_personal_id = EXCLUDED.spouse_a_personal_id,
            spouse_b_personal_id = EXCLUDED.spouse_b_personal_id, updated_at = now()
    RETURNING id INTO mid;
    DELETE FROM crvs.person_fact WHERE source_entity = 'marriage' AND source_key = key;
    INSERT INTO crvs.person_fact (source_entity, source_key, role, personal_id, kind,
                                  effective_date)
    VALUES ('marriage', key, 'spouse_a', p_spouse_a, 'marriage', p_date),
           ('marriage', key, 'spouse_b', p_spouse_b, 'marriage', p_date);
    INSERT INTO crvs.audit_log (service, action, entity, entity_key, source_system, detail)
    VALUES ('linkage', 'register', 'marriage', key, p_source,
            jsonb_build_object('registration_date', p_date));
    PERFORM crvs.persons_recompute(ARRAY[p_spouse_a, p_spouse_b],
                                   ARRAY['marriage:' || key, 'marriage:' || key]);
    PERFORM crvs.marriages_recompute(ARRAY[mid], ARRAY['marriage:' || key]);
    -- Judgments that named this registration no longer miss it.
    PERFORM crvs.judgments_recompute(ARRAY(
        SELECT source_key FROM crvs.linked_record
        WHERE source_entity = 'divorce_judgment' AND marriage->>'registration_number' = p_number));
    RETURN mid;
END
$$;

-- An operator's decision on an item, kept on the item and in the audit trail.
CREATE FUNCTION crvs.reconcile_resolve(p_id bigint, p_by text, p_comment text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r crvs.reconciliation;
BEGIN
    SELECT * INTO r FROM crvs.reconciliation WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN RETURN 'not_found'; END IF;
    IF r.status = 'resolved' THEN RETURN 'already_resolved'; END IF;
    UPDATE crvs.reconciliation
    SET status = 'resolved', resolved_at = now(), resolved_by = p_by,
        resolution_comment = p_comment, updated_at = now()
    WHERE id = p_id;
    INSERT INTO crvs.audit_log (service, action, entity, entity_key, before, after, detail)
    VALUES ('crvsctl', 'resolve', 'reconciliation', p_id::text,
            jsonb_build_object('status', r.status),
            jsonb_build_object('status', 'resolved'),
            jsonb_build_object('reason', r.reason, 'by', p_by, 'comment', p_comment));
    RETURN 'resolved';
END
$$;

GRANT SELECT, INSERT, UPDATE, DELETE ON crvs.person, crvs.person_fact, crvs.linked_record,
    crvs.marriage, crvs.reconciliation TO crvs_service;
GRANT SELECT, INSERT ON crvs.person_history TO crvs_service;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA crvs TO crvs_service;
