-- Registrations in the civil-status books (issue 21, docs/schema-guide.md
-- "Civil registration"): what the registry offices did with the events the
-- hospitals and courts reported. Published by the civil-registration
-- software on the topic `civil-registration`, stored by its own service
-- like the other feeds (business key: the office's commune code and the
-- registration number; a correction or a cancellation is the same
-- registration sent again).

CREATE TABLE crvs.civil_registration (
    id bigserial PRIMARY KEY,
    office_code text NOT NULL CHECK (office_code ~ '^[0-9]{5}$'),
    registration_number text NOT NULL,
    office_name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('BIRTH', 'DEATH', 'MARRIAGE', 'DIVORCE')),
    status text NOT NULL CHECK (status IN ('REGISTERED', 'CANCELLED')),
    registration_date date NOT NULL,
    event_date date,                       -- birth, death; a divorce's legal effect
    late_registration boolean NOT NULL,
    issued_at timestamptz NOT NULL,
    event_id text NOT NULL,
    source_system text NOT NULL,
    subject_personal_id text CHECK (subject_personal_id ~ '^[0-9]{12}$'), -- the child, the deceased
    subject_birth_date date,
    mother_personal_id text CHECK (mother_personal_id ~ '^[0-9]{12}$'),
    father_personal_id text CHECK (father_personal_id ~ '^[0-9]{12}$'),
    spouse_a_personal_id text CHECK (spouse_a_personal_id ~ '^[0-9]{12}$'),
    spouse_b_personal_id text CHECK (spouse_b_personal_id ~ '^[0-9]{12}$'),
    source_kind text CHECK (source_kind IN ('BIRTH_CERTIFICATE', 'DEATH_NOTICE', 'COURT_JUDGMENT')),
    source_issuer text,                    -- facility or court code
    source_number text,                    -- certificate, notice or judgment number
    LIKE crvs.registry_record INCLUDING DEFAULTS,
    UNIQUE (office_code, registration_number)
);
CREATE INDEX civil_registration_kind_date ON crvs.civil_registration (kind, registration_date);
CREATE INDEX civil_registration_subject ON crvs.civil_registration (subject_personal_id);
CREATE INDEX civil_registration_mother ON crvs.civil_registration (mother_personal_id);
CREATE INDEX civil_registration_source
    ON crvs.civil_registration (source_number, source_issuer, source_kind);

-- Its write path (013_roles.sql).
INSERT INTO crvs.apply_entity VALUES ('civil_registration', 'office_code', 'registration_number');
SELECT crvs.apply_define_all();
