-- Records of the reform's era carrying a retired province code
-- (docs/indicators.md, "Unit rule").
--
-- Since 1 July 2025 there are 34 provinces, each keeping the code of one of
-- its predecessors. A hospital's or a court's system that still sends a
-- code of one of the 63 former provinces for an event since then is not
-- refused (the event happened, and the province it belongs to today is
-- certain: each former province went whole into one of the 34), but it
-- was reported under its bare old code, a unit with no name. Now:
--   a code in force on the event's date    that unit, as before;
--   a former province's code               --units current: the province
--                                          it belongs to today
--                                          (crvs.province_merger);
--                                          --units as-recorded: its legacy
--                                          unit 'L<code>', as before the
--                                          reform;
--   any other code                         no unit.
-- A code kept by a current province is that province's since the reform
-- (91: An Giang, which took in Kiên Giang, the old 91), and the former
-- province whose code it kept belongs to it, so both readings agree.
CREATE OR REPLACE FUNCTION crvs.report_unit(p_code text, p_date date, p_units text)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN p_code IS NULL THEN NULL
        WHEN p_date >= crvs.reform_date()
             AND EXISTS (SELECT FROM crvs.province WHERE era = 'current' AND code = p_code)
            THEN p_code
        WHEN NOT EXISTS (SELECT FROM crvs.province WHERE era = 'legacy' AND code = p_code)
            THEN NULL
        WHEN p_units = 'current' THEN (SELECT current_code FROM crvs.province_merger
                                       WHERE legacy_code = p_code)
        ELSE 'L' || p_code END
$$;
