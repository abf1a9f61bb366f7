-- Linkage: a batch's locks cover every judgment and person it recomputes
-- (docs/linkage.md, "Concurrent batches").
--
-- crvs.link_records (003_person.sql) read the judgments and persons a batch
-- touches, the cancellations naming its judgments among them, before taking
-- their locks. A cancellation and the judgment it names, on two partitions
-- written by two instances at the same moment: the batch that waited for the
-- other's lock did not see the cancellation committed meanwhile, and the
-- cancellation's `cancelled_judgment_not_found` item stayed open although
-- the judgment was there. It now reads the sets again once it holds their
-- locks, until nothing new appears. Otherwise unchanged.

CREATE OR REPLACE FUNCTION crvs.link_records(p_entity text, p_recs jsonb)
RETURNS void LANGUAGE plpgsql
SET enable_seqscan = off SET jit = off AS $$
DECLARE
    keys text[];
    judgments text[] := '{}';
    ids text[];
    triggers text[];
    locked text[] := '{}';
    wanted text[];
BEGIN
    SELECT array_agg(r->>'key' ORDER BY o) INTO keys
    FROM jsonb_array_elements(p_recs) WITH ORDINALITY AS e(r, o);

    -- The sets are read, their locks taken, and the sets read again until
    -- no lock is missing: a batch that held a lock this one waited for may
    -- have committed a cancellation naming one of these judgments (or a
    -- judgment with persons of its own) that the first reading could not
    -- see. The first round locks everything in one order; a later round
    -- (rare) locks only what is new, so two batches may then wait on each
    -- other: PostgreSQL breaks such a deadlock and the batch is retried.
    LOOP
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
        -- judgments (other services, other instances): the locks not held
        -- yet, at once, in one order.
        wanted := ARRAY(SELECT k FROM (SELECT 'person:' || unnest(ids) AS k
                                       UNION SELECT 'judgment:' || unnest(judgments)
                                       EXCEPT SELECT unnest(locked)) u
                        ORDER BY k);
        EXIT WHEN cardinality(wanted) = 0;
        PERFORM pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest(wanted) AS k;
        locked := locked || wanted;
    END LOOP;

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
