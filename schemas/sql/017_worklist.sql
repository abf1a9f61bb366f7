-- Worklists an office can act on (issue 21; `crvsctl worklist`,
-- docs/operations.md "Worklists"): the events the hospitals and courts
-- reported that no registration registers (crvs.registration_match), and
-- the registrations made without the document one was expected from.
--
--   births       certificates without a registration; due 60 days after
--                the birth (Law on Civil Status 2014, art. 15);
--   deaths       notices without a registration; due 15 days after the
--                death (art. 33);
--   divorces     divorce judgments and annulments in effect without their
--                record in the civil-status book; due a number of days
--                after the legal effect that crvsctl takes (--days);
--   undocumented registrations of a birth, death or divorce naming no
--                document (flag source_document_missing).
-- An item leaves its list when the registration arrives (the match is
-- computed when read). Personal IDs are masked: the view runs with its
-- owner's rights, so a reader sees the masked ID and nothing else.
CREATE VIEW crvs.worklist AS
SELECT 'births'::text AS kind, c.place_commune_code AS commune_code,
       c.place_province_code AS province_code, c.birth_date AS event_date,
       c.facility_code || '/' || c.certificate_number AS record,
       crvs.mask_id(c.mother_personal_id) AS person
FROM crvs.birth_certificate c
WHERE NOT EXISTS (SELECT FROM crvs.registration_match m
                  WHERE m.source_entity = 'birth_certificate' AND m.source_id = c.id)
UNION ALL
SELECT 'deaths', n.place_commune_code, n.place_province_code, n.death_date,
       n.facility_code || '/' || n.notice_number, crvs.mask_id(n.deceased_personal_id)
FROM crvs.death_notice n
WHERE NOT EXISTS (SELECT FROM crvs.registration_match m
                  WHERE m.source_entity = 'death_notice' AND m.source_id = n.id)
UNION ALL
SELECT 'divorces', NULL, substring(j.court_code FROM '^TA([0-9]{2})'), j.effective_date,
       j.court_code || '/' || j.judgment_number, crvs.mask_id(j.spouse_a_personal_id)
FROM crvs.divorce_judgment j
WHERE j.kind IN ('DIVORCE_JUDGMENT', 'CONSENSUAL_DIVORCE', 'MARRIAGE_ANNULMENT')
  AND NOT crvs.is_cancelled(j.court_code || '/' || j.judgment_number)
  AND NOT EXISTS (SELECT FROM crvs.registration_match m
                  WHERE m.source_entity = 'divorce_judgment' AND m.source_id = j.id)
UNION ALL
SELECT 'undocumented', r.office_code, NULL, r.registration_date,
       r.office_code || '/' || r.registration_number, crvs.mask_id(r.subject_personal_id)
FROM crvs.civil_registration r
WHERE r.status = 'REGISTERED' AND 'source_document_missing' = ANY (r.quality_flags);

GRANT SELECT ON crvs.worklist TO crvs_reader;
