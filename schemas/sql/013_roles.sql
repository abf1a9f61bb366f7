-- Roles by job (docs/security.md, "Roles").
--
-- crvs_service  the consumer services: they call the write path's functions
--               and read what they need; they may not INSERT, UPDATE or
--               DELETE any table, nor run DDL on one.
-- crvs_operator crvsctl dlq, reconcile, offsets, marriage load: through
--               functions that write their audit row first; reads
--               everything but the dead letters' bytes, which only an
--               audited reveal returns.
-- crvs_reader   crvsctl stats, report, status, wait and the console: the
--               indicators and the operational tables' columns that hold
--               no personal data.
-- the owner     whoever runs `crvsctl migrate` owns every object, and the
--               functions below run with its rights (SECURITY DEFINER,
--               search_path fixed to pg_catalog then pg_temp, every name
--               qualified).
--
-- crvs_operator and crvs_reader cannot log in: a person's own login is
-- granted one of them (GRANT crvs_operator TO alice), so the audit rows of
-- their actions name them (session_user).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'crvs_operator') THEN
        CREATE ROLE crvs_operator NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'crvs_reader') THEN
        CREATE ROLE crvs_reader NOLOGIN;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA crvs TO crvs_operator, crvs_reader;

-- ---- The services' write path ---------------------------------------------
--
-- A batch goes as before: COPY into the session's staging table, then the
-- pipeline's statements over it in one round trip. Those statements used to
-- be prepared by the service (common/hub_apply.c) and ran with its rights;
-- now crvs.apply_define generates them, from the registry table's columns,
-- into one function per registry table, crvs.apply_batch_<entity>, which
-- runs them with the owner's rights. PL/pgSQL caches their plans per
-- session as the prepared statements did.
--
-- The staging tables are made by crvs.apply_stage, as the owner: the
-- service may only INSERT into pg_temp.hub_stage (its COPY). A staging
-- table of the service's own could carry a trigger or a rule that would
-- run inside the batch function with the owner's rights, so the batch
-- function refuses to run over a staging table the owner did not make.

-- The registry table's columns a row supplies (the others the write path
-- fills itself), in table order: the staging table's middle columns, and
-- what the service's COPY lines carry.
CREATE FUNCTION crvs.apply_columns(p_entity text)
RETURNS TABLE (name text, type text, kind text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT a.attname::text, format_type(a.atttypid, a.atttypmod),
           CASE WHEN a.atttypid = 'jsonb'::regtype THEN 'jsonb'
                WHEN t.typcategory = 'A' THEN 'array' ELSE 'scalar' END
    FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
    WHERE a.attrelid = to_regclass('crvs.' || quote_ident(p_entity)) AND a.attnum > 0
      AND NOT a.attisdropped
      AND a.attname NOT IN ('id', 'content_hash', 'version', 'received_at', 'updated_at',
                            'source_partition', 'source_offset', 'schema_id')
    ORDER BY a.attnum
$$;

-- Makes the session's staging tables for one registry table and lets the
-- session's login COPY into the first. Once per session, before the first
-- batch.
CREATE FUNCTION crvs.apply_stage(p_entity text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cols text;
BEGIN
    IF to_regprocedure(format('crvs.%I(text, text, boolean)', 'apply_batch_' || p_entity)) IS NULL
    THEN
        RAISE EXCEPTION 'no write path for table crvs.%', p_entity
            USING HINT = 'is the database migrated?';
    END IF;
    SELECT string_agg(format('%I %s', c.name, c.type), ', ') INTO cols
    FROM crvs.apply_columns(p_entity) c;
    EXECUTE format('CREATE TEMP TABLE hub_stage (ord integer, source_partition integer, '
                   'source_offset bigint, schema_id integer, entity_key text, content_hash text, '
                   '%s, person_facts jsonb, reconcile jsonb) ON COMMIT DELETE ROWS', cols);
    CREATE TEMP TABLE hub_outcome (ord integer, outcome text, version integer, final boolean,
                                   old_id bigint, old_received_at timestamptz, before jsonb)
        ON COMMIT DELETE ROWS;
    EXECUTE format('GRANT INSERT ON pg_temp.hub_stage TO %I', session_user);
END
$$;
REVOKE ALL ON FUNCTION crvs.apply_stage(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crvs.apply_stage(text) TO crvs_service;

-- Generates crvs.apply_batch_<entity>(service, topic, empty_after): the
-- batch's statements over the staged rows, in order, returning how many
-- records were created, corrected and duplicates. Their semantics are
-- crvs.apply_records' (001_core.sql): see there for the why of each step.
-- A later migration that changes a registry table's columns ends with
-- SELECT crvs.apply_define_all() (docs/schema-guide.md, "Migrations").
CREATE FUNCTION crvs.apply_define(p_entity text, p_key1 text, p_key2 text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $def$
DECLARE
    tbl text := format('crvs.%I', p_entity);
    fn text := format('crvs.%I', 'apply_batch_' || p_entity);
    ent text := quote_literal(p_entity);
    clash text;
    cols text;
    s_cols text;
    -- key lists and matches over the business key
    kt text := format('t.%I, t.%I', p_key1, p_key2);
    ks text := format('s.%I, s.%I', p_key1, p_key2);
    kb text := format('b.%I, b.%I', p_key1, p_key2);
    kos text := format('o.%1$I = s.%1$I AND o.%2$I = s.%2$I', p_key1, p_key2);
    changed text := 'pg_temp.hub_stage s JOIN pg_temp.hub_outcome o ON o.ord = s.ord AND o.final';
    body text;
BEGIN
    SELECT string_agg(c.name, ', ') INTO clash FROM crvs.apply_columns(p_entity) c
    WHERE c.name IN ('ord', 'entity_key', 'person_facts', 'reconcile');
    IF clash IS NOT NULL THEN
        RAISE EXCEPTION '% has a column named %, which the staging table uses', tbl, clash;
    END IF;
    SELECT string_agg(quote_ident(c.name), ', ' ORDER BY n),
           string_agg('s.' || quote_ident(c.name), ', ' ORDER BY n)
    INTO cols, s_cols
    FROM crvs.apply_columns(p_entity) WITH ORDINALITY AS c(name, type, kind, n);
    IF cols IS NULL THEN
        RAISE EXCEPTION 'table % not found', tbl;
    END IF;

    body := format($b$
#variable_conflict use_column
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
                   WHERE c.oid = pg_catalog.to_regclass('pg_temp.hub_stage')
                     AND r.rolname = current_user) THEN
        RAISE EXCEPTION 'no staging table made by crvs.apply_stage in this session';
    END IF;

    -- Outcomes: against the stored rows of the batch's keys (locked until
    -- COMMIT) and the elements before in the batch with the same key.
    WITH old AS MATERIALIZED (
        SELECT t.id, t.version, t.content_hash, t.received_at, t.document, %2$s
        FROM %1$s t WHERE (%2$s) IN (SELECT %3$s FROM pg_temp.hub_stage s) FOR UPDATE OF t),
    a AS (SELECT s.ord, s.content_hash AS hash, o.id AS old_id, o.version AS old_version,
                 o.received_at AS old_received_at, %3$s,
                 coalesce(lag(s.content_hash) OVER (PARTITION BY %3$s ORDER BY s.ord),
                          o.content_hash) AS prev_hash
          FROM pg_temp.hub_stage s LEFT JOIN old o ON %5$s),
    b AS (SELECT a.*, CASE WHEN prev_hash IS NULL THEN 'create'
                           WHEN prev_hash = hash THEN 'duplicate' ELSE 'correct' END AS outcome
          FROM a),
    c AS (SELECT b.*,
                 coalesce(old_version, 0)
                 + count(*) FILTER (WHERE outcome <> 'duplicate') OVER (k ORDER BY ord) AS version,
                 max(ord) FILTER (WHERE outcome <> 'duplicate')
                     OVER (k ORDER BY ord ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                     AS prev_changed,
                 max(ord) FILTER (WHERE outcome <> 'duplicate') OVER k AS last_changed
          FROM b WINDOW k AS (PARTITION BY %4$s)),
    ins AS (INSERT INTO pg_temp.hub_outcome
                (ord, outcome, version, final, old_id, old_received_at, before)
            SELECT c.ord, c.outcome, c.version, coalesce(c.ord = c.last_changed, false),
                   c.old_id, c.old_received_at,
                   CASE WHEN c.outcome <> 'correct' THEN NULL
                        WHEN c.prev_changed IS NULL THEN o.document ELSE p.document END
            FROM c LEFT JOIN old o ON c.outcome = 'correct' AND c.prev_changed IS NULL
                                      AND o.id = c.old_id
                   LEFT JOIN pg_temp.hub_stage p ON c.outcome = 'correct'
                                                    AND p.ord = c.prev_changed
            RETURNING outcome)
    SELECT count(*) FILTER (WHERE outcome = 'create'),
           count(*) FILTER (WHERE outcome = 'correct'),
           count(*) FILTER (WHERE outcome = 'duplicate')
    FROM ins INTO n_created, n_corrected, n_duplicates;

    -- The registry: the last version of each changed key replaces its row
    -- (same id, version counted on).
    DELETE FROM %1$s t USING pg_temp.hub_outcome o
    WHERE o.final AND o.old_id IS NOT NULL AND t.id = o.old_id;

    INSERT INTO %1$s (id, content_hash, version, received_at, updated_at, source_partition,
                      source_offset, schema_id, %6$s)
    SELECT coalesce(o.old_id, nextval(%8$L::regclass)), s.content_hash, o.version,
           coalesce(o.old_received_at, now()), now(), s.source_partition, s.source_offset,
           s.schema_id, %7$s
    FROM pg_temp.hub_stage s JOIN pg_temp.hub_outcome o ON o.ord = s.ord
    WHERE o.final ORDER BY s.ord;

    -- One audit row per record, chained (012_audit_chain.sql): each
    -- partition's chain head exists, then is locked (in chain order, as
    -- another transaction locking several would), the rows numbered on from
    -- it and hashed in order by the window aggregate, the head moved to the
    -- last.
    INSERT INTO crvs.audit_chain (chain)
    SELECT DISTINCT crvs.audit_chain_of(NULL, p_topic, source_partition) FROM pg_temp.hub_stage
    ON CONFLICT DO NOTHING;

    WITH h AS (SELECT chain, seq, hash FROM crvs.audit_chain
               WHERE chain IN (SELECT crvs.audit_chain_of(NULL, p_topic, source_partition)
                               FROM pg_temp.hub_stage)
               ORDER BY chain FOR UPDATE),
    r AS (SELECT s.ord, now() AS at, o.outcome AS action, s.entity_key, s.source_partition,
                 s.source_offset, s.schema_id, s.source_system, s.event_id, o.before,
                 CASE WHEN o.outcome = 'correct' THEN s.document END AS after,
                 jsonb_build_object('version', o.version) AS detail, h.chain, h.hash AS head,
                 h.seq + row_number() OVER (PARTITION BY h.chain ORDER BY s.ord) AS seq
          FROM pg_temp.hub_stage s JOIN pg_temp.hub_outcome o ON o.ord = s.ord
               JOIN h ON h.chain = crvs.audit_chain_of(NULL, p_topic, s.source_partition)),
    c AS (SELECT r.*,
                 crvs.audit_chain_fold(r.head, crvs.audit_canon(
                     r.chain, r.seq, r.at, p_service, r.action, %9$s, r.entity_key, p_topic,
                     r.source_partition, r.source_offset, r.schema_id, r.source_system,
                     r.event_id, r.before, r.after, r.detail))
                     OVER (PARTITION BY r.chain ORDER BY r.seq) AS hash
          FROM r),
    ins AS (INSERT INTO crvs.audit_log (at, service, action, entity, entity_key, source_topic,
                                        source_partition, source_offset, schema_id,
                                        source_system, event_id, before, after, detail, chain,
                                        seq, hash)
            SELECT c.at, p_service, c.action, %9$s, c.entity_key, p_topic, c.source_partition,
                   c.source_offset, c.schema_id, c.source_system, c.event_id, c.before, c.after,
                   c.detail, c.chain, c.seq, c.hash
            FROM c ORDER BY c.ord
            RETURNING id, at, chain, seq, hash)
    UPDATE crvs.audit_chain a SET seq = l.seq, hash = l.hash, id = l.id, at = l.at
    FROM (SELECT DISTINCT ON (chain) chain, seq, hash, id, at FROM ins
          ORDER BY chain, seq DESC) l
    WHERE a.chain = l.chain;

    -- The linkage's ingest side (crvs.link_records, 011_linker.sql, as set
    -- statements over the staged rows): each changed record queued for the
    -- linker with the persons and the judgment its previous version named,
    -- then its facts replaced, its linked record upserted and its
    -- record-level items replaced.
    WITH c AS (SELECT s.entity_key AS key, s.ord FROM %10$s WHERE o.old_id IS NOT NULL),
    gone AS (DELETE FROM crvs.person_fact pf
             WHERE pf.source_entity = %9$s AND pf.source_key = ANY (ARRAY(SELECT key FROM c))
             RETURNING pf.source_key, pf.personal_id),
    before AS (SELECT source_key, array_agg(DISTINCT personal_id) AS ids
               FROM gone GROUP BY source_key),
    prior AS (SELECT l.source_key, l.cancels FROM crvs.linked_record l
              WHERE l.source_entity = %9$s AND l.source_key = ANY (ARRAY(SELECT key FROM c))
                AND l.cancels IS NOT NULL)
    INSERT INTO crvs.link_queue (entity, key, before_ids, before_cancels)
    SELECT %9$s, s.entity_key, b.ids, p.cancels
    FROM %10$s LEFT JOIN before b ON b.source_key = s.entity_key
               LEFT JOIN prior p ON p.source_key = s.entity_key
    ORDER BY s.ord;

    INSERT INTO crvs.person_fact (source_entity, source_key, role, personal_id, kind,
                                  effective_date, sex, birth_date, name, name_key, cancels,
                                  marriage)
    SELECT %9$s, s.entity_key, f->>'role', f->>'personal_id', f->>'kind',
           (f->>'effective_date')::date, f->>'sex', (f->>'birth_date')::date, f->>'name',
           f->>'name_key', f->>'cancels', f->'marriage'
    FROM %10$s, jsonb_array_elements(s.person_facts) AS f
    WHERE f->>'personal_id' IS NOT NULL;

    INSERT INTO crvs.linked_record AS l (source_entity, source_key, cancels, marriage,
                                         effective_date, kind)
    SELECT %9$s, s.entity_key, x.cancels, x.marriage, x.effective_date, x.kind
    FROM %10$s,
         LATERAL (SELECT (array_agg(f->>'cancels')
                              FILTER (WHERE f->>'cancels' IS NOT NULL))[1] AS cancels,
                         (array_agg(f->'marriage')
                              FILTER (WHERE jsonb_typeof(f->'marriage') = 'object'))[1]
                             AS marriage,
                         min((f->>'effective_date')::date) AS effective_date,
                         min(f->>'kind') AS kind
                  FROM jsonb_array_elements(coalesce(s.person_facts, '[]')) AS f) x
    ORDER BY s.ord
    ON CONFLICT (source_entity, source_key) DO UPDATE
    SET cancels = EXCLUDED.cancels, marriage = EXCLUDED.marriage,
        effective_date = EXCLUDED.effective_date, kind = EXCLUDED.kind, linked_at = now();

    -- A new record has no items to close: only the scopes of corrected
    -- records and of records with items are named.
    PERFORM crvs.reconcile_scopes(
        ARRAY(SELECT 'record:' || %9$s || ':' || s.entity_key FROM %10$s
              WHERE o.old_id IS NOT NULL
                 OR jsonb_array_length(coalesce(s.reconcile, '[]')) > 0),
        (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'scope', 'record:' || %9$s || ':' || s.entity_key,
                    'reason', it->>'reason',
                    'natural_key', (it->>'reason') || '|' || %9$s || ':' || s.entity_key
                                   || '|' || e.n,
                    'personal_id', it->>'personal_id',
                    'source_a', %9$s || ':' || s.entity_key,
                    'detail', it->>'detail')), '[]')
         FROM %10$s, jsonb_array_elements(coalesce(s.reconcile, '[]'))
                     WITH ORDINALITY AS e(it, n)));

    IF p_empty_after THEN
        DELETE FROM pg_temp.hub_outcome;
        DELETE FROM pg_temp.hub_stage;
    END IF;
END
$b$, tbl, kt, ks, kb, kos, cols, s_cols, tbl || '_id_seq', ent, changed);

    EXECUTE format('CREATE OR REPLACE FUNCTION %s(p_service text, p_topic text, '
                   'p_empty_after boolean, OUT n_created bigint, OUT n_corrected bigint, '
                   'OUT n_duplicates bigint) LANGUAGE plpgsql SECURITY DEFINER '
                   'SET search_path = pg_catalog, pg_temp SET enable_seqscan = off '
                   'SET jit = off AS %L', fn, body);
    EXECUTE format('REVOKE ALL ON FUNCTION %s(text, text, boolean) FROM PUBLIC', fn);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s(text, text, boolean) TO crvs_service', fn);
END
$def$;
REVOKE ALL ON FUNCTION crvs.apply_define(text, text, text) FROM PUBLIC;

-- The registry tables' write paths, and the business keys they match on
-- (common/hub_topics.c names the same).
CREATE TABLE crvs.apply_entity (
    entity text PRIMARY KEY,
    key1 text NOT NULL,
    key2 text NOT NULL
);
INSERT INTO crvs.apply_entity VALUES
    ('birth_certificate', 'facility_code', 'certificate_number'),
    ('death_notice', 'facility_code', 'notice_number'),
    ('divorce_judgment', 'court_code', 'judgment_number');

CREATE FUNCTION crvs.apply_define_all() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    e record;
BEGIN
    FOR e IN SELECT * FROM crvs.apply_entity ORDER BY entity LOOP
        PERFORM crvs.apply_define(e.entity, e.key1, e.key2);
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION crvs.apply_define_all() FROM PUBLIC;
SELECT crvs.apply_define_all();

-- ---- What the services may do -----------------------------------------------

-- The operators' functions run with the owner's rights now: their audit
-- rows name the login (session_user), which current_user inside them no
-- longer is, and the two that named nobody name it too.
DO $$
DECLARE
    c record;
    def text;
BEGIN
    FOR c IN SELECT * FROM (VALUES
        ('crvs.dlq_mark_replayed(bigint, text, integer, bigint)', 'current_user', 'session_user'),
        ('crvs.dlq_discard(bigint, text, text)', 'current_user', 'session_user'),
        ('crvs.load_communes(jsonb, text, text, date)', 'current_user', 'session_user'),
        ('crvs.reset_offset(text, text, integer, bigint, text, text)', 'current_user',
         'session_user'),
        ('crvs.reconcile_resolve(bigint, text, text)', '''comment'', p_comment)',
         '''comment'', p_comment, ''db_user'', session_user)'),
        ('crvs.register_marriage(text, text, date, text, text, text)',
         '''registration_date'', p_date)',
         '''registration_date'', p_date, ''db_user'', session_user)')) AS v(f, a, b)
    LOOP
        def := pg_get_functiondef(c.f::regprocedure);
        IF position(c.a IN def) = 0 THEN
            RAISE EXCEPTION '% does not hold %', c.f, c.a;
        END IF;
        EXECUTE replace(def, c.a, c.b);
    END LOOP;
END
$$;

DO $$
DECLARE
    f regprocedure;
BEGIN
    FOREACH f IN ARRAY ARRAY[
        -- the services
        'crvs.claim_partition(text, text, integer)',
        'crvs.advance_offset(text, text, integer, bigint, bigint)',
        'crvs.add_dead_letter(text, text, integer, bigint, timestamptz, bytea, bytea, integer, '
            'text, text, text)',
        'crvs.report_partition_fault(text, text, integer, text, bigint, bigint, bigint, bigint, '
            'text)',
        'crvs.skip_partition_loss(text, text, integer, text, bigint, bigint, bigint, bigint, '
            'bigint, text)',
        'crvs.linker_claim()',
        'crvs.link_drain(integer, boolean, bigint[])',
        'crvs.link_lag(integer)',
        'crvs.linker_active()',
        -- the operators
        'crvs.dlq_mark_replayed(bigint, text, integer, bigint)',
        'crvs.dlq_discard(bigint, text, text)',
        'crvs.reconcile_resolve(bigint, text, text)',
        'crvs.register_marriage(text, text, date, text, text, text)',
        'crvs.load_communes(jsonb, text, text, date)',
        'crvs.reset_offset(text, text, integer, bigint, text, text)',
        -- the readers
        'crvs.indicator_table(text, date, date, text[], text, numeric, text)']::regprocedure[]
    LOOP
        EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = pg_catalog, pg_temp',
                       f);
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$;

REVOKE ALL ON ALL TABLES IN SCHEMA crvs FROM crvs_service;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA crvs FROM crvs_service;
GRANT SELECT ON crvs.consumer_offset, crvs.partition_fault, crvs.province, crvs.province_merger,
    crvs.commune, crvs.commune_version, crvs.commune_in_force, crvs.icd10_chapter
    TO crvs_service;
GRANT EXECUTE ON FUNCTION
    crvs.claim_partition(text, text, integer),
    crvs.advance_offset(text, text, integer, bigint, bigint),
    crvs.add_dead_letter(text, text, integer, bigint, timestamptz, bytea, bytea, integer, text,
                         text, text),
    crvs.report_partition_fault(text, text, integer, text, bigint, bigint, bigint, bigint, text),
    crvs.skip_partition_loss(text, text, integer, text, bigint, bigint, bigint, bigint, bigint,
                             text),
    crvs.linker_claim(), crvs.link_drain(integer, boolean, bigint[]), crvs.link_lag(integer),
    crvs.linker_active()
    TO crvs_service;

-- ---- What readers may see -----------------------------------------------------
--
-- The indicators (crvs.indicator_table counts over the registry with the
-- owner's rights), the reference data, and the operational tables without
-- their personal data: a dead letter without its bytes, an audit row
-- without its key, contents and detail, a queued record without the
-- persons it named, a reconciliation item with its personal ID masked.

CREATE VIEW crvs.reconciliation_item AS
    SELECT id, reason, scope, natural_key, crvs.mask_id(personal_id) AS personal_id_masked,
           source_a, source_b, detail, status, detected_at, updated_at, resolved_at,
           resolved_by, resolution_comment
    FROM crvs.reconciliation;

GRANT SELECT ON crvs.indicator, crvs.indicator_dimension, crvs.province, crvs.province_merger,
    crvs.commune, crvs.commune_version, crvs.commune_in_force, crvs.icd10_chapter,
    crvs.consumer_offset, crvs.partition_fault, crvs.reconciliation_item, crvs.schema_migration
    TO crvs_reader;
GRANT SELECT (id, first_seen, service, source_topic, source_partition, source_offset,
              kafka_timestamp, schema_id, reason, message, source_system, status, status_at,
              status_comment)
    ON crvs.dead_letter TO crvs_reader;
GRANT SELECT (id, at, service, action, entity, source_topic, source_partition, source_offset,
              schema_id, source_system, chain, seq)
    ON crvs.audit_log TO crvs_reader;
GRANT SELECT (id, entity, enqueued_at) ON crvs.link_queue TO crvs_reader;
GRANT EXECUTE ON FUNCTION
    crvs.indicator_table(text, date, date, text[], text, numeric, text),
    crvs.link_lag(integer), crvs.linker_active()
    TO crvs_reader;

-- ---- What operators may do ------------------------------------------------------
--
-- Everything a reader sees, the dead letters' keys, and their actions
-- through functions that write the audit row themselves. A dead letter's
-- bytes come only from crvs.dlq_read, which writes its audit row first
-- in the same statement, or to crvs.dlq_replay_take, which hands them to
-- `crvsctl dlq replay` to publish again (their replay is audited by
-- crvs.dlq_mark_replayed).

GRANT crvs_reader TO crvs_operator;
GRANT SELECT (msg_key) ON crvs.dead_letter TO crvs_operator;

-- A dead letter's bytes, for `crvsctl dlq show`: decoded and shown masked
-- (p_reveal false: audited as 'read_masked') or as they are ('reveal').
-- The masking is done by crvsctl, so the bytes reach the operator's
-- machine either way, and either way the audit row names who asked.
CREATE FUNCTION crvs.dlq_read(p_id bigint, p_by text, p_reveal boolean) RETURNS bytea
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r bytea;
BEGIN
    INSERT INTO crvs.audit_log (service, action, entity, entity_key, detail)
    VALUES ('crvsctl', CASE WHEN p_reveal THEN 'reveal' ELSE 'read_masked' END, 'dead_letter',
            p_id::text, jsonb_build_object('by', p_by, 'db_user', session_user));
    SELECT d.raw INTO r FROM crvs.dead_letter d WHERE d.id = p_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no dead letter %', p_id USING ERRCODE = 'no_data_found';
    END IF;
    RETURN r;
END
$$;

CREATE FUNCTION crvs.dlq_replay_take(p_id bigint, p_reason text, p_topic text,
                                     p_since timestamptz, p_after bigint, p_limit integer)
RETURNS TABLE (id_text text, source_topic text, msg_key bytea, raw bytea)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT d.id::text, d.source_topic, d.msg_key, d.raw FROM crvs.dead_letter d
    WHERE d.status = 'new' AND (p_id IS NULL OR d.id = p_id)
      AND (p_reason IS NULL OR d.reason = p_reason)
      AND (p_topic IS NULL OR d.source_topic = p_topic)
      AND (p_since IS NULL OR d.first_seen >= p_since) AND d.id > p_after
    ORDER BY d.id LIMIT p_limit FOR UPDATE SKIP LOCKED
$$;

REVOKE ALL ON FUNCTION crvs.dlq_read(bigint, text, boolean),
    crvs.dlq_replay_take(bigint, text, text, timestamptz, bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    crvs.dlq_read(bigint, text, boolean),
    crvs.dlq_replay_take(bigint, text, text, timestamptz, bigint, integer),
    crvs.dlq_mark_replayed(bigint, text, integer, bigint),
    crvs.dlq_discard(bigint, text, text),
    crvs.reconcile_resolve(bigint, text, text),
    crvs.register_marriage(text, text, date, text, text, text),
    crvs.load_communes(jsonb, text, text, date),
    crvs.reset_offset(text, text, integer, bigint, text, text)
    TO crvs_operator;
