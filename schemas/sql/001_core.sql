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

-- Applies a batch of one registry table's records in order; each service's
-- apply function (002, 004, 005) is this with its table and business key.
-- Each element: {"row": {column: value, ..., "person_facts": [...],
-- "reconcile": [...]}, "meta": {"service","topic","partition","offset",
-- "schema_id","key"}}. Returns one outcome per element, in order:
-- create | correct | duplicate. Same business key and same content (the
-- document without event_id) is a duplicate: nothing changes, the audit
-- says so. Different content is a correction: the row is replaced (same id,
-- version + 1), the audit keeps the documents before and after. A created
-- or corrected record's facts go to crvs.person_link (003_person.sql).
-- plan_cache_mode: the statements of this function and of the linkage
-- functions it calls keep one generic plan per session; left to choose,
-- PostgreSQL planned some of them again for every record, about 15% of the
-- backend's CPU per birth certificate (docs/performance.md).
CREATE FUNCTION crvs.apply_records(p_entity text, p_keys text[], p_batch jsonb)
RETURNS SETOF text LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    tbl text := format('crvs.%I', p_entity);
    find_sql text;
    insert_sql text;
    item jsonb;
    meta jsonb;
    r jsonb;
    old jsonb;
    outcome text;
BEGIN
    find_sql := format('SELECT to_jsonb(t) FROM %s t WHERE %s FOR UPDATE', tbl,
                       (SELECT string_agg(format('%I = ($1->>%L)', k, k), ' AND ')
                        FROM unnest(p_keys) AS k));
    insert_sql := format('INSERT INTO %s SELECT * FROM jsonb_populate_record(NULL::%s, $1)',
                         tbl, tbl);
    FOR item IN SELECT value FROM jsonb_array_elements(p_batch) LOOP
        meta := item->'meta';
        r := (item->'row') - 'person_facts' - 'reconcile' || jsonb_build_object(
            'content_hash', md5(((item->'row'->'document') - 'event_id')::text),
            'source_partition', (meta->>'partition')::integer,
            'source_offset', (meta->>'offset')::bigint,
            'schema_id', (meta->>'schema_id')::integer,
            'updated_at', now());
        EXECUTE find_sql INTO old USING r;
        IF old IS NULL THEN
            r := r || jsonb_build_object('id', nextval((tbl || '_id_seq')::regclass), 'version', 1,
                                         'received_at', now());
            EXECUTE insert_sql USING r;
            outcome := 'create';
        ELSIF old->>'content_hash' = r->>'content_hash' THEN
            r := r || jsonb_build_object('version', old->'version');
            outcome := 'duplicate';
        ELSE
            r := r || jsonb_build_object('id', old->'id', 'version', (old->>'version')::integer + 1,
                                         'received_at', old->'received_at');
            EXECUTE format('DELETE FROM %s WHERE id = $1', tbl) USING (old->>'id')::bigint;
            EXECUTE insert_sql USING r;
            outcome := 'correct';
        END IF;
        IF outcome <> 'duplicate' THEN
            PERFORM crvs.person_link(p_entity, meta->>'key', item->'row'->'person_facts',
                                     item->'row'->'reconcile', meta);
        END IF;
        INSERT INTO crvs.audit_log (service, action, entity, entity_key, source_topic,
                                    source_partition, source_offset, schema_id,
                                    source_system, event_id, before, after, detail)
        VALUES (meta->>'service', outcome, p_entity, meta->>'key', meta->>'topic',
                (meta->>'partition')::integer, (meta->>'offset')::bigint,
                (meta->>'schema_id')::integer, r->>'source_system', r->>'event_id',
                CASE WHEN outcome = 'correct' THEN old->'document' END,
                CASE WHEN outcome = 'correct' THEN r->'document' END,
                jsonb_build_object('version', (r->>'version')::integer));
        RETURN NEXT outcome;
    END LOOP;
END
$$;

GRANT SELECT, INSERT, UPDATE ON crvs.consumer_offset TO crvs_service;
GRANT SELECT, INSERT ON crvs.audit_log TO crvs_service;
GRANT SELECT, INSERT ON crvs.dead_letter TO crvs_service;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA crvs TO crvs_service;
