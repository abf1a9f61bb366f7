-- Death notices (Giay bao tu) from health facilities, with the WHO medical
-- certificate of cause of death. Typed columns for everything reported on;
-- `document` keeps the normalised document as received (names NFC, ICD-10
-- codes canonical), which is what corrections are audited with.

CREATE TABLE crvs.death_notice (
    id bigserial PRIMARY KEY,
    facility_code text NOT NULL,
    notice_number text NOT NULL,
    facility_name text NOT NULL,
    issued_at timestamptz NOT NULL,
    event_id text NOT NULL,
    source_system text NOT NULL,
    deceased_personal_id text CHECK (deceased_personal_id ~ '^[0-9]{12}$'),
    deceased_name text,                    -- null for an unidentified person
    deceased_name_key text,
    deceased_sex text NOT NULL CHECK (deceased_sex IN ('MALE', 'FEMALE', 'UNDETERMINED')),
    deceased_birth_date date,
    age_years integer CHECK (age_years BETWEEN 0 AND 130), -- given, or from the date of birth
    death_time timestamptz NOT NULL,
    death_date date NOT NULL,              -- local date (Asia/Ho_Chi_Minh)
    place_kind text NOT NULL CHECK (place_kind IN ('HEALTH_FACILITY', 'HOME', 'OTHER')),
    place_facility_code text,
    place_province_code text NOT NULL,
    place_commune_code text,
    residence_province_code text,
    residence_commune_code text,
    underlying_cause text CHECK (underlying_cause ~ '^[A-Z][0-9]{2}(\.[0-9])?$'),
    underlying_chapter text,               -- roman numeral, I..XXII
    underlying_category text,              -- 3 characters, e.g. I21
    manner text NOT NULL,
    pregnancy text NOT NULL,
    LIKE crvs.registry_record INCLUDING DEFAULTS,
    UNIQUE (facility_code, notice_number)
);
CREATE INDEX death_notice_death_date ON crvs.death_notice (death_date);
CREATE INDEX death_notice_deceased_id ON crvs.death_notice (deceased_personal_id);
CREATE INDEX death_notice_underlying_category ON crvs.death_notice (underlying_category);

-- Applies a batch in order (crvs.apply_records in 001_core.sql): create,
-- correct or duplicate by the business key (facility_code, notice_number), audited, with the
-- record's person facts linked.
CREATE FUNCTION crvs.apply_death_notices(p_batch jsonb)
RETURNS SETOF text LANGUAGE sql AS $$
    SELECT crvs.apply_records('death_notice', ARRAY['facility_code', 'notice_number'], p_batch)
$$;

GRANT SELECT, INSERT, UPDATE, DELETE ON crvs.death_notice TO crvs_service;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA crvs TO crvs_service;
