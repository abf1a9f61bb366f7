-- Which registration registers which certificate, notice or judgment
-- (docs/linkage.md, "Registrations"). A view over the stored records:
-- computed from what is stored whenever it is read, so the matches never
-- depend on the order the records arrived in, and there is no state to
-- repair after a correction or a cancellation.
--
-- One row per match:
--   by document   the registration names the record (source_document) and
--                 the record is stored; the registration is the only active
--                 one naming it;
--   by persons    the registration names no document: a birth matches the
--                 certificate of the same mother's personal ID, date of
--                 birth and, where both say it, child's sex; a death the
--                 notice of the same deceased's personal ID and date of
--                 death; a divorce the judgment of the same two spouses (in
--                 either order) whose legal effect is the registration's
--                 event_date; each only when the registration has one such
--                 record and the record one such registration, and no
--                 registration names the record as its document.
-- A cancelled registration matches nothing. What does not match for want
-- of a single candidate is listed by crvs.registration_conflict.

-- Every candidate pair, with how many candidates its registration has, how
-- many registrations its record has by the same rule, and whether any
-- registration names the record as its document.
CREATE VIEW crvs.registration_candidate AS
WITH reg AS (
    SELECT r.*,
           (SELECT p->>'sex' FROM jsonb_array_elements(r.document->'persons') AS p
            WHERE p->>'role' = 'CHILD' LIMIT 1) AS child_sex
    FROM crvs.civil_registration r
    WHERE r.status = 'REGISTERED'
),
k AS (
    -- by document
    SELECT r.id AS registration_id, 'birth_certificate'::text AS source_entity, c.id AS source_id,
           c.facility_code || '/' || c.certificate_number AS source_key,
           'document'::text AS matched_by
    FROM reg r JOIN crvs.birth_certificate c
         ON r.kind = 'BIRTH' AND r.source_kind = 'BIRTH_CERTIFICATE'
        AND c.facility_code = r.source_issuer AND c.certificate_number = r.source_number
    UNION ALL
    SELECT r.id, 'death_notice', n.id, n.facility_code || '/' || n.notice_number, 'document'
    FROM reg r JOIN crvs.death_notice n
         ON r.kind = 'DEATH' AND r.source_kind = 'DEATH_NOTICE'
        AND n.facility_code = r.source_issuer AND n.notice_number = r.source_number
    UNION ALL
    SELECT r.id, 'divorce_judgment', j.id, j.court_code || '/' || j.judgment_number, 'document'
    FROM reg r JOIN crvs.divorce_judgment j
         ON r.kind = 'DIVORCE' AND r.source_kind = 'COURT_JUDGMENT'
        AND j.court_code = r.source_issuer AND j.judgment_number = r.source_number
    UNION ALL
    -- by persons (registrations naming no document)
    SELECT r.id, 'birth_certificate', c.id, c.facility_code || '/' || c.certificate_number,
           'persons'
    FROM reg r JOIN crvs.birth_certificate c
         ON r.kind = 'BIRTH' AND r.source_kind IS NULL
        AND c.mother_personal_id = r.mother_personal_id AND c.birth_date = r.event_date
        AND (r.child_sex IS NULL OR c.child_sex = r.child_sex)
    UNION ALL
    SELECT r.id, 'death_notice', n.id, n.facility_code || '/' || n.notice_number, 'persons'
    FROM reg r JOIN crvs.death_notice n
         ON r.kind = 'DEATH' AND r.source_kind IS NULL
        AND n.deceased_personal_id = r.subject_personal_id AND n.death_date = r.event_date
    UNION ALL
    SELECT r.id, 'divorce_judgment', j.id, j.court_code || '/' || j.judgment_number, 'persons'
    FROM reg r JOIN crvs.divorce_judgment j
         ON r.kind = 'DIVORCE' AND r.source_kind IS NULL AND j.effective_date = r.event_date
        AND ((j.spouse_a_personal_id = r.spouse_a_personal_id
              AND j.spouse_b_personal_id = r.spouse_b_personal_id)
          OR (j.spouse_a_personal_id = r.spouse_b_personal_id
              AND j.spouse_b_personal_id = r.spouse_a_personal_id))
)
SELECT k.*,
       count(*) OVER (PARTITION BY k.registration_id) AS per_registration,
       count(*) OVER (PARTITION BY k.source_entity, k.source_id, k.matched_by) AS per_record,
       bool_or(k.matched_by = 'document') OVER (PARTITION BY k.source_entity, k.source_id)
           AS named
FROM k;

CREATE VIEW crvs.registration_match AS
SELECT r.id AS registration_id, r.office_code, r.registration_number, r.kind,
       r.registration_date, r.late_registration, c.source_entity, c.source_id, c.source_key,
       c.matched_by
FROM crvs.registration_candidate c JOIN crvs.civil_registration r ON r.id = c.registration_id
WHERE c.per_registration = 1 AND c.per_record = 1
  AND (c.matched_by = 'document' OR NOT c.named);

-- Candidates that did not make a match: the registrations with several
-- records to choose from (twins registered without their certificates),
-- and the records named or matched by several registrations (a duplicate
-- registration).
CREATE VIEW crvs.registration_conflict AS
SELECT c.registration_id, r.office_code, r.registration_number, r.kind, c.source_entity,
       c.source_id, c.source_key, c.matched_by,
       CASE WHEN c.per_registration > 1 THEN 'registration_ambiguous'
            ELSE 'registration_duplicate' END AS reason
FROM crvs.registration_candidate c JOIN crvs.civil_registration r ON r.id = c.registration_id
WHERE c.per_registration > 1 OR c.per_record > 1;
