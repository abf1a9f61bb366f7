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
    LIKE crvs.registry_record INCLUDING DEFAULTS,
    UNIQUE (facility_code, certificate_number)
);
CREATE INDEX birth_certificate_birth_date ON crvs.birth_certificate (birth_date);
CREATE INDEX birth_certificate_mother_id ON crvs.birth_certificate (mother_personal_id);

-- Applies a batch in order (crvs.apply_records in 001_core.sql): create,
-- correct or duplicate by the business key (facility_code, certificate_number), audited, with the
-- record's person facts linked.
CREATE FUNCTION crvs.apply_birth_certificates(p_batch jsonb)
RETURNS SETOF text LANGUAGE sql AS $$
    SELECT crvs.apply_records('birth_certificate', ARRAY['facility_code', 'certificate_number'], p_batch)
$$;

GRANT SELECT, INSERT, UPDATE, DELETE ON crvs.birth_certificate TO crvs_service;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA crvs TO crvs_service;
