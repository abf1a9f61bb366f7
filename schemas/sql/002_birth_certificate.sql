-- Birth certificates (Giay chung sinh) from health facilities.
-- Typed columns for everything reported on; `document` keeps the normalised
-- document as received, which is what corrections are audited with.

CREATE TABLE crvs.birth_certificate (
    id bigserial PRIMARY KEY,
    facility_code text NOT NULL,
    certificate_number text NOT NULL,
    facility_name text NOT NULL,
    issued_at timestamptz NOT NULL,
    event_id text NOT NULL,
    source_system text NOT NULL,
    child_name text,
    child_name_key text,
    child_sex text NOT NULL CHECK (child_sex IN ('MALE', 'FEMALE', 'UNDETERMINED')),
    birth_time timestamptz NOT NULL,
    birth_date date NOT NULL,              -- local date (Asia/Ho_Chi_Minh)
    place_kind text NOT NULL,
    place_facility_code text,
    place_province_code text NOT NULL,
    place_commune_code text,
    weight_grams integer,
    gestation_weeks integer,
    plurality integer NOT NULL,
    birth_order integer NOT NULL,
    mother_name text NOT NULL,
    mother_name_key text NOT NULL,
    mother_birth_date date,
    mother_personal_id text,
    mother_age_at_birth integer,
    mother_ethnicity text,
    mother_nationality text,
    mother_province_code text,
    mother_commune_code text,
    father_name text,
    father_name_key text,
    father_birth_date date,
    father_personal_id text,
    father_nationality text,
    quality_flags text[] NOT NULL DEFAULT '{}',
    document jsonb NOT NULL,
    content_hash text NOT NULL,
    version integer NOT NULL DEFAULT 1,
    received_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    source_partition integer NOT NULL,
    source_offset bigint NOT NULL,
    schema_id integer NOT NULL,
    UNIQUE (facility_code, certificate_number)
);
CREATE INDEX birth_certificate_birth_date ON crvs.birth_certificate (birth_date);
CREATE INDEX birth_certificate_mother_id ON crvs.birth_certificate (mother_personal_id);

-- Applies a batch in order (crvs.person_link is defined in 003_person.sql;
-- PL/pgSQL resolves it when the function first runs). Each element: {"row": {column: value, ...},
-- "meta": {"service","topic","partition","offset","schema_id","key"}}.
-- Returns one outcome per element, in order: create | correct | duplicate.
-- Same business key and same content (the document without event_id) is a
-- duplicate: nothing changes, the audit says so. Different content is a
-- correction: the row is replaced, the audit keeps before and after.
CREATE FUNCTION crvs.apply_birth_certificates(p_batch jsonb)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    item jsonb;
    meta jsonb;
    r crvs.birth_certificate;
    old crvs.birth_certificate;
    outcome text;
BEGIN
    FOR item IN SELECT value FROM jsonb_array_elements(p_batch) LOOP
        meta := item->'meta';
        r := jsonb_populate_record(NULL::crvs.birth_certificate, item->'row');
        r.content_hash := md5((r.document - 'event_id')::text);
        r.source_partition := (meta->>'partition')::integer;
        r.source_offset := (meta->>'offset')::bigint;
        r.schema_id := (meta->>'schema_id')::integer;
        SELECT * INTO old FROM crvs.birth_certificate
        WHERE facility_code = r.facility_code AND certificate_number = r.certificate_number
        FOR UPDATE;
        IF NOT FOUND THEN
            r.id := nextval('crvs.birth_certificate_id_seq');
            r.version := 1;
            r.received_at := now();
            r.updated_at := now();
            INSERT INTO crvs.birth_certificate SELECT r.*;
            outcome := 'create';
        ELSIF old.content_hash = r.content_hash THEN
            r.version := old.version;
            outcome := 'duplicate';
        ELSE
            r.id := old.id;
            r.version := old.version + 1;
            r.received_at := old.received_at;
            r.updated_at := now();
            DELETE FROM crvs.birth_certificate WHERE id = old.id;
            INSERT INTO crvs.birth_certificate SELECT r.*;
            outcome := 'correct';
        END IF;
        IF outcome <> 'duplicate' THEN
            PERFORM crvs.person_link('birth_certificate', meta->>'key', item->'row'->'person_facts',
                                     item->'row'->'reconcile', meta);
        END IF;
        INSERT INTO crvs.audit_log (service, action, entity, entity_key, source_topic,
                                    source_partition, source_offset, schema_id,
                                    source_system, event_id, before, after, detail)
        VALUES (meta->>'service', outcome, 'birth_certificate', meta->>'key', meta->>'topic',
                r.source_partition, r.source_offset, r.schema_id, r.source_system, r.event_id,
                CASE WHEN outcome = 'correct' THEN old.document END,
                CASE WHEN outcome = 'correct' THEN r.document END,
                jsonb_build_object('version', r.version));
        RETURN NEXT outcome;
    END LOOP;
END
$$;

GRANT SELECT, INSERT, UPDATE, DELETE ON crvs.birth_certificate TO crvs_service;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA crvs TO crvs_service;
