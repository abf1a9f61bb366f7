-- Core of the hub: consumer offsets (exactly-once), the append-only audit
-- trail and the dead letters. Applied by `crvsctl migrate` as the owner role;
-- the services connect as crvs_service.

CREATE SCHEMA IF NOT EXISTS crvs;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'crvs_service') THEN
        CREATE ROLE crvs_service LOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA crvs TO crvs_service;

-- Kafka offsets live here, written in the same transaction as the rows they
-- produced. next_offset -2 means "from the beginning" (librdkafka's
-- RD_KAFKA_OFFSET_BEGINNING): a partition seen for the first time.
CREATE TABLE crvs.consumer_offset (
    consumer_group text NOT NULL,
    topic text NOT NULL,
    partition integer NOT NULL CHECK (partition >= 0),
    next_offset bigint NOT NULL CHECK (next_offset >= -2),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);

-- Registers a partition on assignment and returns where to start.
CREATE FUNCTION crvs.claim_partition(p_group text, p_topic text, p_partition integer)
RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO crvs.consumer_offset (consumer_group, topic, partition, next_offset)
    VALUES (p_group, p_topic, p_partition, -2)
    ON CONFLICT DO NOTHING;
    SELECT next_offset FROM crvs.consumer_offset
    WHERE consumer_group = p_group AND topic = p_topic AND partition = p_partition;
$$;

-- Moves a partition's offset forward only from the position the writer
-- believes is stored. A writer that lost its partition to another group
-- member (a zombie after a rebalance) finds a different value, gets false,
-- and rolls back: two members can never both write the same messages.
CREATE FUNCTION crvs.advance_offset(p_group text, p_topic text, p_partition integer,
                                    p_expected bigint, p_next bigint)
RETURNS boolean LANGUAGE sql AS $$
    WITH moved AS (
        UPDATE crvs.consumer_offset
        SET next_offset = p_next, updated_at = now()
        WHERE consumer_group = p_group AND topic = p_topic AND partition = p_partition
          AND next_offset = p_expected
        RETURNING 1
    )
    SELECT EXISTS (SELECT 1 FROM moved);
$$;

-- Append-only audit trail. One row per thing that happened to a record:
-- create, correct (with before and after), duplicate, dead_letter, and the
-- operators' actions.
CREATE TABLE crvs.audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    service text NOT NULL,
    action text NOT NULL,
    entity text NOT NULL,
    entity_key text,
    source_topic text,
    source_partition integer,
    source_offset bigint,
    schema_id integer,
    source_system text,
    event_id text,
    before jsonb,
    after jsonb,
    detail jsonb
);
CREATE INDEX audit_log_entity_key ON crvs.audit_log (entity, entity_key);

CREATE FUNCTION crvs.refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'crvs.audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON crvs.audit_log
    FOR EACH ROW EXECUTE FUNCTION crvs.refuse_audit_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON crvs.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION crvs.refuse_audit_change();

-- Messages that can never be written, kept whole with their reason.
CREATE TABLE crvs.dead_letter (
    id bigserial PRIMARY KEY,
    first_seen timestamptz NOT NULL DEFAULT now(),
    service text NOT NULL,
    source_topic text NOT NULL,
    source_partition integer NOT NULL,
    source_offset bigint NOT NULL,
    kafka_timestamp timestamptz,
    msg_key bytea,
    raw bytea,
    schema_id integer,
    reason text NOT NULL,
    message text NOT NULL,
    source_system text,      -- the document's, when it decoded; NULL otherwise
    status text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'replayed', 'discarded')),
    status_at timestamptz,
    status_comment text,
    UNIQUE (source_topic, source_partition, source_offset)
);
CREATE INDEX dead_letter_reason ON crvs.dead_letter (reason, first_seen);

CREATE FUNCTION crvs.add_dead_letter(p_service text, p_topic text, p_partition integer,
                                     p_offset bigint, p_kafka_ts timestamptz, p_key bytea,
                                     p_raw bytea, p_schema_id integer, p_reason text,
                                     p_message text, p_source_system text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO crvs.dead_letter (service, source_topic, source_partition, source_offset,
                                  kafka_timestamp, msg_key, raw, schema_id, reason, message,
                                  source_system)
    VALUES (p_service, p_topic, p_partition, p_offset, p_kafka_ts, p_key, p_raw, p_schema_id,
            p_reason, p_message, p_source_system)
    ON CONFLICT (source_topic, source_partition, source_offset) DO NOTHING;
    IF FOUND THEN
        INSERT INTO crvs.audit_log (service, action, entity, entity_key, source_topic,
                                    source_partition, source_offset, schema_id, source_system,
                                    detail)
        VALUES (p_service, 'dead_letter', 'dead_letter', encode(p_key, 'escape'), p_topic,
                p_partition, p_offset, p_schema_id, p_source_system,
                jsonb_build_object('reason', p_reason, 'message', p_message));
    END IF;
END
$$;

-- The columns every registry table ends with (CREATE TABLE ... (LIKE
-- crvs.registry_record INCLUDING DEFAULTS)): what crvs.apply_records writes
-- besides the service's own columns. A template only: it holds no rows.
CREATE TABLE crvs.registry_record (
    quality_flags text[] NOT NULL DEFAULT '{}',
    document jsonb NOT NULL,
    content_hash text NOT NULL,
    version integer NOT NULL DEFAULT 1,
    received_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    source_partition integer NOT NULL,
    source_offset bigint NOT NULL,
    schema_id integer NOT NULL
);
REVOKE ALL ON crvs.registry_record FROM PUBLIC;

-- One element of a batch on its way through crvs.apply_records (its row
-- stays in the batch: p_batch->(ord - 1)).
CREATE TYPE crvs.apply_step AS (
    ord integer,              -- position in the batch, from 1
    bk text[],                -- business key, in the order of p_keys
    meta jsonb,
    hash text,                -- content hash: the document without event_id
    outcome text,             -- create | correct | duplicate
    version integer,          -- the record's version after this element
    before jsonb,             -- correct: the document it replaces
    final boolean,            -- the row the batch leaves for its key
    old_id bigint,            -- the stored row of its key before the batch
    old_received_at timestamptz
);

-- Applies a batch of one registry table's records; each service's apply
-- function (002, 004, 005) is this with its table and business key.
-- Each element: {"row": {column: value, ..., "person_facts": [...],
-- "reconcile": [...]}, "meta": {"service","topic","partition","offset",
-- "schema_id","key"}}. Returns one outcome per element, in order:
-- create | correct | duplicate. Same business key and same content (the
-- document without event_id) as the stored row, or as the previous element
-- of the batch with that key, is a duplicate: nothing changes, the audit
-- says so. Different content is a correction: the row is replaced (same id,
-- version + 1), the audit keeps the documents before and after.
--
-- The batch is applied as a set, a fixed number of statements whatever its
-- size (docs/performance.md): the outcomes come from the stored rows and a
-- window over the elements of each key in batch order, so they are those
-- of applying the elements one by one; the registry gets the last version
-- of each key in one INSERT, the audit one row per element in one INSERT,
-- and the linkage the last version of each changed record in one call
-- (crvs.link_records, 003_person.sql).
-- Plans: PostgreSQL's default (custom plans for the first calls, then a
-- generic one when it costs no more), which plans each statement once per
-- session instead of once per batch. That is safe because every lookup
-- here and in the linkage probes an index that leads with the batch's keys
-- (the record key, the personal ID, the scope): no plan can read an
-- entity's share of a table through a prefix, which is what generic plans
-- made from old statistics once did, each batch slower than the last, and
-- what forcing custom plans for every batch (a third of a small batch's
-- time) had worked around (docs/performance.md, section 5).
-- enable_seqscan (and jit, set on the linkage functions too): every table
-- here and in the linkage is read by a batch's keys; with statistics older
-- than the table's growth (a registry filling faster than autovacuum
-- analyses it) the planner chose sequential scans, each batch reading every
-- person (docs/performance.md).
-- jit: the same stale estimates put a batch's statements above
-- jit_above_cost, and compiling them took about 110 ms per batch, more than
-- the work.
CREATE FUNCTION crvs.apply_records(p_entity text, p_keys text[], p_batch jsonb)
RETURNS SETOF text LANGUAGE plpgsql
SET enable_seqscan = off SET jit = off AS $$
DECLARE
    tbl text := format('crvs.%I', p_entity);
    key_cols text;      -- a stored row t's business key columns
    step_key text;      -- the same values of a step s
    cols text;          -- the table's columns, in order
    vals text;          -- their values from a step s and its row r
    olds jsonb;         -- stored rows by business key (bk::text)
    steps crvs.apply_step[];
BEGIN
    SELECT string_agg(format('t.%I', k), ', ' ORDER BY i),
           string_agg(format('s.bk[%s]', i), ', ' ORDER BY i)
    INTO key_cols, step_key
    FROM unnest(p_keys) WITH ORDINALITY AS u(k, i);
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum),
           string_agg(CASE attname
                          WHEN 'id' THEN format('coalesce(s.old_id, nextval(%L))',
                                                tbl || '_id_seq')
                          WHEN 'version' THEN 's.version'
                          WHEN 'received_at' THEN 'coalesce(s.old_received_at, now())'
                          WHEN 'updated_at' THEN 'now()'
                          WHEN 'content_hash' THEN 's.hash'
                          WHEN 'source_partition' THEN '(s.meta->>''partition'')::integer'
                          WHEN 'source_offset' THEN '(s.meta->>''offset'')::bigint'
                          WHEN 'schema_id' THEN '(s.meta->>''schema_id'')::integer'
                          ELSE 'r.' || quote_ident(attname) END, ', ' ORDER BY attnum)
    INTO cols, vals
    FROM pg_attribute
    WHERE attrelid = tbl::regclass AND attnum > 0 AND NOT attisdropped;

    SELECT array_agg(ROW(e.ord, (SELECT array_agg(e.v->'row'->>k ORDER BY i)
                                 FROM unnest(p_keys) WITH ORDINALITY AS u(k, i)),
                         e.v->'meta', md5(((e.v->'row'->'document') - 'event_id')::text),
                         NULL, NULL, NULL, NULL, NULL, NULL)::crvs.apply_step ORDER BY e.ord)
    INTO steps
    FROM jsonb_array_elements(p_batch) WITH ORDINALITY AS e(v, ord);
    IF steps IS NULL THEN RETURN; END IF;

    -- The stored rows of the batch's keys, locked until COMMIT.
    EXECUTE format('SELECT coalesce(jsonb_object_agg(bk::text, jsonb_build_object(
                           ''id'', id, ''version'', version, ''content_hash'', content_hash,
                           ''document'', document, ''received_at'', received_at)), ''{}'')
                    FROM (SELECT ARRAY[%s] AS bk, t.* FROM %s t
                          WHERE (%s) IN (SELECT %s FROM unnest($1) s) FOR UPDATE OF t) x',
                   key_cols, tbl, key_cols, step_key)
    INTO olds USING steps;

    -- Outcomes and versions, as if the elements were applied one by one.
    WITH a AS (
        SELECT s.ord, s.bk, s.meta, s.hash, olds -> s.bk::text AS old,
               coalesce(lag(s.hash) OVER (PARTITION BY s.bk ORDER BY s.ord),
                        olds -> s.bk::text ->> 'content_hash') AS prev_hash
        FROM unnest(steps) s
    ), b AS (
        SELECT a.*, CASE WHEN prev_hash IS NULL THEN 'create'
                         WHEN prev_hash = hash THEN 'duplicate' ELSE 'correct' END AS result
        FROM a
    ), c AS (
        SELECT b.*,
               coalesce((old->>'version')::integer, 0)
                   + count(*) FILTER (WHERE result <> 'duplicate') OVER (k ORDER BY ord)
                   AS new_version,
               max(ord) FILTER (WHERE result <> 'duplicate')
                   OVER (k ORDER BY ord ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                   AS prev_changed,
               max(ord) FILTER (WHERE result <> 'duplicate') OVER k AS last_changed
        FROM b
        WINDOW k AS (PARTITION BY bk)
    )
    SELECT array_agg(ROW(c.ord, c.bk, c.meta, c.hash, c.result, c.new_version,
                         CASE WHEN c.result <> 'correct' THEN NULL
                              WHEN c.prev_changed IS NULL THEN c.old->'document'
                              ELSE p_batch->(c.prev_changed - 1)->'row'->'document' END,
                         c.ord = c.last_changed, (c.old->>'id')::bigint,
                         (c.old->>'received_at')::timestamptz)::crvs.apply_step ORDER BY c.ord)
    INTO steps
    FROM c;

    -- The registry: the last version of each changed key replaces its row.
    EXECUTE format('DELETE FROM %s WHERE id = ANY ($1)', tbl)
    USING ARRAY(SELECT s.old_id FROM unnest(steps) s WHERE s.final AND s.old_id IS NOT NULL);
    EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM unnest($1) s,
                        jsonb_populate_record(NULL::%s, $2->(s.ord - 1)->''row'') r
                    WHERE s.final ORDER BY s.ord',
                   tbl, cols, vals, tbl)
    USING steps, p_batch;

    INSERT INTO crvs.audit_log (service, action, entity, entity_key, source_topic,
                                source_partition, source_offset, schema_id,
                                source_system, event_id, before, after, detail)
    SELECT s.meta->>'service', s.outcome, p_entity, s.meta->>'key', s.meta->>'topic',
           (s.meta->>'partition')::integer, (s.meta->>'offset')::bigint,
           (s.meta->>'schema_id')::integer, r->>'source_system', r->>'event_id',
           s.before, CASE WHEN s.outcome = 'correct' THEN r->'document' END,
           jsonb_build_object('version', s.version)
    FROM unnest(steps) s, LATERAL (SELECT p_batch->(s.ord - 1)->'row' AS r) x
    ORDER BY s.ord;

    IF EXISTS (SELECT 1 FROM unnest(steps) s WHERE s.final) THEN
        PERFORM crvs.link_records(p_entity, (
            SELECT jsonb_agg(jsonb_build_object(
                       'key', s.meta->>'key',
                       'facts', coalesce(p_batch->(s.ord - 1)->'row'->'person_facts', '[]'),
                       'reconcile', coalesce(p_batch->(s.ord - 1)->'row'->'reconcile', '[]'),
                       'created', s.old_id IS NULL)
                   ORDER BY s.ord)
            FROM unnest(steps) s WHERE s.final));
    END IF;

    RETURN QUERY SELECT s.outcome FROM unnest(steps) s ORDER BY s.ord;
END
$$;

GRANT SELECT, INSERT, UPDATE ON crvs.consumer_offset TO crvs_service;
GRANT SELECT, INSERT ON crvs.audit_log TO crvs_service;
GRANT SELECT, INSERT ON crvs.dead_letter TO crvs_service;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA crvs TO crvs_service;
