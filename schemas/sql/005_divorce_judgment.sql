-- Divorce judgments, consensual-divorce decisions, annulments and
-- cancellations on review, from the courts. Typed columns for everything
-- reported on; `document` keeps the normalised document as received, which
-- is what corrections are audited with. A row is the record as the court
-- sent it; what it does to the spouses' status is the person registry's
-- (crvs.person_link, docs/linkage.md).

CREATE TABLE crvs.divorce_judgment (
    id bigserial PRIMARY KEY,
    court_code text NOT NULL,
    judgment_number text NOT NULL,
    court_name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('DIVORCE_JUDGMENT', 'CONSENSUAL_DIVORCE',
                                       'MARRIAGE_ANNULMENT', 'REVIEW_CANCELLATION')),
    decision_date date NOT NULL,
    effective_date date NOT NULL,          -- legal effect: status changes from this date
    issued_at timestamptz NOT NULL,
    event_id text NOT NULL,
    source_system text NOT NULL,
    spouse_a_personal_id text CHECK (spouse_a_personal_id ~ '^[0-9]{12}$'),
    spouse_a_name text NOT NULL,
    spouse_a_name_key text NOT NULL,
    spouse_a_birth_date date,
    spouse_a_sex text NOT NULL CHECK (spouse_a_sex IN ('MALE', 'FEMALE', 'UNDETERMINED')),
    spouse_b_personal_id text CHECK (spouse_b_personal_id ~ '^[0-9]{12}$'),
    spouse_b_name text NOT NULL,
    spouse_b_name_key text NOT NULL,
    spouse_b_birth_date date,
    spouse_b_sex text NOT NULL CHECK (spouse_b_sex IN ('MALE', 'FEMALE', 'UNDETERMINED')),
    marriage_registration_number text,
    marriage_registration_date date,
    marriage_registry_office text,
    cancels_court_code text,
    cancels_judgment_number text,
    LIKE crvs.registry_record INCLUDING DEFAULTS,
    UNIQUE (court_code, judgment_number),
    CHECK (effective_date >= decision_date),
    -- exactly a cancellation on review names the judgment it cancels
    CHECK ((kind = 'REVIEW_CANCELLATION')
           = (cancels_court_code IS NOT NULL AND cancels_judgment_number IS NOT NULL)),
    CHECK (spouse_a_personal_id <> spouse_b_personal_id)  -- NULL (unidentified) passes
);
CREATE INDEX divorce_judgment_effective_date ON crvs.divorce_judgment (effective_date);
CREATE INDEX divorce_judgment_spouse_a_id ON crvs.divorce_judgment (spouse_a_personal_id);
CREATE INDEX divorce_judgment_spouse_b_id ON crvs.divorce_judgment (spouse_b_personal_id);
CREATE INDEX divorce_judgment_cancels ON crvs.divorce_judgment (cancels_court_code,
                                                                cancels_judgment_number)
    WHERE cancels_court_code IS NOT NULL;

-- Applies a batch in order (crvs.apply_records in 001_core.sql): create,
-- correct or duplicate by the business key (court_code, judgment_number), audited, with the
-- record's person facts linked.
CREATE FUNCTION crvs.apply_divorce_judgments(p_batch jsonb)
RETURNS SETOF text LANGUAGE sql AS $$
    SELECT crvs.apply_records('divorce_judgment', ARRAY['court_code', 'judgment_number'], p_batch)
$$;

GRANT SELECT, INSERT, UPDATE, DELETE ON crvs.divorce_judgment TO crvs_service;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA crvs TO crvs_service;
