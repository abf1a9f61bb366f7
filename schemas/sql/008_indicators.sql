-- Registration indicators (docs/indicators.md defines each one). One view
-- per source gives every record the attributes the indicators group and
-- count by; crvs.indicator holds the definitions; crvs.indicator_table
-- computes any of them for a period, grouped by any of its dimensions,
-- with units as recorded or mapped to today's provinces (007_refdata.sql).
-- `crvsctl stats` and `crvsctl report` only call crvs.indicator_table.
--
-- Common columns of the source views:
--   event_date     the date the period rule applies to (local dates)
--   province_code  the record's province, NULL when it has none
--   unit_date      the date that says which era that code belongs to
--   delay_hours    births and deaths: hours from the event to the
--                  electronic document's issue time at the source
--                  (issued_at); divorces: from legal effect to the hub's
--                  receipt (received_at)

-- 'under 18', '18-19', then five-year groups to '45+'; 'unknown'.
CREATE FUNCTION crvs.mother_age_group(p_age integer) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_age IS NULL THEN 'unknown'
                WHEN p_age < 18 THEN '<18'
                WHEN p_age < 20 THEN '18-19'
                WHEN p_age >= 45 THEN '45+'
                ELSE (p_age / 5 * 5) || '-' || (p_age / 5 * 5 + 4) END
$$;

-- '0' (infants), '1-4', then five-year groups to '85+'; 'unknown'.
CREATE FUNCTION crvs.death_age_group(p_age integer) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_age IS NULL THEN 'unknown'
                WHEN p_age = 0 THEN '0'
                WHEN p_age < 5 THEN '1-4'
                WHEN p_age >= 85 THEN '85+'
                ELSE (p_age / 5 * 5) || '-' || (p_age / 5 * 5 + 4) END
$$;

-- Sort position of an age group: its lower bound ('<18' first, 'unknown' last).
CREATE FUNCTION crvs.group_order(p_group text) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_group ~ '^[0-9]+' THEN substring(p_group FROM '^[0-9]+')::integer
                WHEN p_group LIKE '<%' THEN -1
                ELSE 100000 END
$$;

CREATE FUNCTION crvs.hours_between(p_from timestamptz, p_to timestamptz)
RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
    SELECT extract(epoch FROM p_to - p_from) / 3600
$$;

CREATE VIEW crvs.ind_birth AS
SELECT birth_date AS event_date, place_province_code AS province_code, birth_date AS unit_date,
       place_commune_code AS commune_code, child_sex AS sex,
       crvs.mother_age_group(mother_age_at_birth) AS mother_age,
       plurality::text AS plurality, weight_grams,
       CASE WHEN place_kind = 'HEALTH_FACILITY' THEN 'facility' ELSE 'outside' END AS place,
       crvs.hours_between(birth_time, issued_at) AS delay_hours, source_system
FROM crvs.birth_certificate;

CREATE VIEW crvs.ind_death AS
SELECT death_date AS event_date, place_province_code AS province_code, death_date AS unit_date,
       place_commune_code AS commune_code, deceased_sex AS sex,
       crvs.death_age_group(age_years) AS age_group, age_years,
       death_date - deceased_birth_date < 28 AS neonatal,
       CASE WHEN place_kind = 'HEALTH_FACILITY' THEN 'facility' ELSE 'outside' END AS place,
       underlying_cause, coalesce(underlying_chapter, 'none') AS chapter,
       coalesce(underlying_category, 'none') AS category,
       crvs.icd10_ill_defined(underlying_category) AS ill_defined,
       crvs.icd10_injury(underlying_category) AS injury,
       underlying_category BETWEEN 'O00' AND 'O99' AS maternal, manner,
       crvs.hours_between(death_time, issued_at) AS delay_hours, source_system
FROM crvs.death_notice;

-- A divorce's unit is the court's province: court codes are TA<PP><NN>
-- (PP the province code in force on the decision date). Its period is the
-- date of legal effect. Two delays run from the start of that day
-- (Asia/Ho_Chi_Minh): the synchronisation delay (delay_hours) to the
-- hub's receipt (received_at: when the hub first stored the judgment,
-- kept on corrections), and the court's own delay (court_delay_hours) to
-- the time the court issued the electronic document (issued_at).
CREATE VIEW crvs.ind_divorce AS
SELECT d.effective_date AS event_date, substring(d.court_code FROM '^TA([0-9]{2})') AS province_code,
       d.decision_date AS unit_date, d.kind, d.court_code AS court,
       crvs.hours_between(d.effective_date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh', d.received_at)
           AS delay_hours,
       crvs.hours_between(d.effective_date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh', d.issued_at)
           AS court_delay_hours,
       d.marriage_registration_number IS NOT NULL AS marriage_named,
       EXISTS (SELECT 1 FROM crvs.marriage m
               WHERE m.registry_office = d.marriage_registry_office
                 AND m.registration_number = d.marriage_registration_number) AS marriage_matched,
       'child_marriage' = ANY (d.quality_flags) AS child_marriage, d.source_system
FROM crvs.divorce_judgment d;

CREATE VIEW crvs.ind_dead_letter AS
SELECT (first_seen AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS event_date,
       NULL::text AS province_code, NULL::date AS unit_date,
       source_topic AS topic, reason, status, coalesce(source_system, 'unknown') AS source_system
FROM crvs.dead_letter;

-- What the services audited about registry records (create, correct,
-- duplicate), by the source system that sent them.
CREATE VIEW crvs.ind_audit AS
SELECT (at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS event_date,
       NULL::text AS province_code, NULL::date AS unit_date,
       CASE entity WHEN 'birth_certificate' THEN 'birth-certificate'
                   WHEN 'death_notice' THEN 'death-notice'
                   WHEN 'divorce_judgment' THEN 'divorce-judgment' END AS topic,
       action, coalesce(source_system, 'unknown') AS source_system
FROM crvs.audit_log
WHERE entity IN ('birth_certificate', 'death_notice', 'divorce_judgment')
  AND action IN ('create', 'correct', 'duplicate');

-- The source system of a record a reconciliation item names
-- ('<entity>:<business key>', the key split at its first '/', as the
-- services build it): the system that sent the registry record as it
-- stands; 'marriage-register' for the operators' marriage extract;
-- 'unknown' for a record not in the registry.
CREATE FUNCTION crvs.source_system_of(p_source text) RETURNS text LANGUAGE sql STABLE AS $$
    WITH k AS (SELECT split_part(p_source, ':', 1) AS entity,
                      split_part(substr(p_source, position(':' IN p_source) + 1), '/', 1) AS issuer,
                      substr(p_source, position('/' IN p_source) + 1) AS number)
    SELECT coalesce(CASE k.entity
        WHEN 'birth_certificate' THEN (SELECT b.source_system FROM crvs.birth_certificate b
                                       WHERE b.facility_code = k.issuer AND b.certificate_number = k.number)
        WHEN 'death_notice' THEN (SELECT d.source_system FROM crvs.death_notice d
                                  WHERE d.facility_code = k.issuer AND d.notice_number = k.number)
        WHEN 'divorce_judgment' THEN (SELECT j.source_system FROM crvs.divorce_judgment j
                                      WHERE j.court_code = k.issuer AND j.judgment_number = k.number)
        WHEN 'marriage' THEN 'marriage-register' END, 'unknown')
    FROM k
$$;

-- An item's source_system is the systems of the records it names
-- (source_a, source_b), distinct, sorted and joined by '+': an item
-- between two systems is one group of its own, so groups add up.
CREATE VIEW crvs.ind_reconciliation AS
SELECT (detected_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS event_date,
       NULL::text AS province_code, NULL::date AS unit_date, reason, status,
       coalesce((SELECT string_agg(DISTINCT crvs.source_system_of(s), '+')
                 FROM unnest(ARRAY[source_a, source_b]) AS s WHERE s IS NOT NULL), 'none')
           AS source_system
FROM crvs.reconciliation;

-- The dimensions an indicator can be grouped by: the group key, its label
-- (NULL: the key says it all) and the sort position. `unit` is the
-- reporting unit (crvs.report_unit with the --units choice, $4).
CREATE TABLE crvs.indicator_dimension (
    name text PRIMARY KEY,
    key_expr text NOT NULL,
    label_expr text,
    order_expr text NOT NULL
);

INSERT INTO crvs.indicator_dimension VALUES
    ('unit', 'crvs.report_unit(province_code, unit_date, $4)',
     'crvs.unit_name(crvs.report_unit(province_code, unit_date, $4))',
     'crvs.report_unit(province_code, unit_date, $4)'),
    ('commune', 'commune_code',
     '(SELECT c.name FROM crvs.commune_in_force c WHERE c.code = commune_code)', 'commune_code'),
    ('year', 'to_char(event_date, ''YYYY'')', NULL, 'to_char(event_date, ''YYYY'')'),
    ('month', 'to_char(event_date, ''YYYY-MM'')', NULL, 'to_char(event_date, ''YYYY-MM'')'),
    ('sex', 'sex', NULL, 'sex'),
    ('mother_age', 'mother_age', NULL, 'crvs.group_order(mother_age)'),
    ('age_group', 'age_group', NULL, 'crvs.group_order(age_group)'),
    ('plurality', 'plurality', NULL, 'plurality'),
    ('place', 'place', NULL, 'place'),
    ('chapter', 'chapter', '(SELECT i.title_vi FROM crvs.icd10_chapter i WHERE i.roman = chapter)',
     'coalesce((SELECT i.number FROM crvs.icd10_chapter i WHERE i.roman = chapter), 99)'),
    ('category', 'category', NULL, 'category'),
    ('manner', 'manner', NULL, 'manner'),
    ('kind', 'kind', NULL, 'kind'),
    ('court', 'court', NULL, 'court'),
    ('topic', 'topic', NULL, 'topic'),
    ('reason', 'reason', NULL, 'reason'),
    ('status', 'status', NULL, 'status'),
    ('source_system', 'source_system', NULL, 'source_system');

-- Indicator definitions. kind:
--   count   numerator = records where num_expr;                value = numerator
--   share   denominator = records where den_expr, numerator = those also
--           where num_expr;                 value = 100 * num / den, 1 decimal
--   ratio   numerator = records where num_expr, denominator = records where
--           den_expr;                       value = 100 * num / den, 1 decimal
--   median, p90  of num_expr (hours) over records where den_expr
--           (percentile_disc: an observed value), 2 decimals; denominator = n
-- $1 in an expression is the parameter (--param, default param_default).
CREATE TABLE crvs.indicator (
    name text PRIMARY KEY,
    topic text NOT NULL,
    source text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('count', 'share', 'ratio', 'median', 'p90')),
    num_expr text NOT NULL DEFAULT 'true',
    den_expr text NOT NULL DEFAULT 'true',
    param_default numeric,
    param_meaning text,
    dimensions text[] NOT NULL,
    value_unit text NOT NULL,
    title_vi text NOT NULL,
    title_en text NOT NULL,
    position integer NOT NULL UNIQUE
);

INSERT INTO crvs.indicator (position, name, topic, source, kind, num_expr, den_expr, param_default,
                            param_meaning, dimensions, value_unit, title_vi, title_en) VALUES
    (10, 'births', 'birth', 'ind_birth', 'count', 'true', 'true', NULL, NULL,
     '{unit,commune,year,month,sex,mother_age,plurality,place,source_system}', 'records',
     'Giấy chứng sinh nhận được', 'Birth certificates received'),
    (11, 'births_sex_ratio', 'birth', 'ind_birth', 'ratio', 'sex = ''MALE''', 'sex = ''FEMALE''', NULL, NULL,
     '{unit,year,month,mother_age,plurality,place}', 'boys per 100 girls',
     'Tỷ số giới tính khi sinh', 'Sex ratio at birth'),
    (12, 'births_low_weight', 'birth', 'ind_birth', 'share', 'weight_grams < 2500',
     'weight_grams IS NOT NULL', NULL, NULL, '{unit,year,month,sex,mother_age,plurality,place}', '%',
     'Tỷ lệ trẻ sinh nhẹ cân (< 2.500 g)', 'Low birth weight share (< 2,500 g)'),
    (13, 'births_multiple', 'birth', 'ind_birth', 'share', 'plurality <> ''1''', 'true', NULL, NULL,
     '{unit,year,month,mother_age,place}', '%', 'Tỷ lệ sinh đa thai', 'Multiple births share'),
    (14, 'births_facility', 'birth', 'ind_birth', 'share', 'place = ''facility''', 'true', NULL, NULL,
     '{unit,year,month,sex,mother_age}', '%', 'Tỷ lệ sinh tại cơ sở y tế', 'Facility births share'),
    (15, 'births_timely', 'birth', 'ind_birth', 'share', 'delay_hours <= 24 * $1', 'true', 60, 'days',
     '{unit,year,month,place,source_system}', '%', 'Tỷ lệ giấy chứng sinh điện tử đúng hạn',
     'Birth certificates received on time'),
    (20, 'deaths', 'death', 'ind_death', 'count', 'true', 'true', NULL, NULL,
     '{unit,commune,year,month,sex,age_group,place,chapter,category,manner,source_system}', 'records',
     'Giấy báo tử nhận được', 'Death notices received'),
    (21, 'deaths_infant', 'death', 'ind_death', 'count', 'age_years = 0', 'true', NULL, NULL,
     '{unit,year,month,sex,place}', 'records', 'Tử vong trẻ dưới 1 tuổi', 'Infant deaths'),
    (22, 'deaths_neonatal', 'death', 'ind_death', 'count', 'neonatal', 'true', NULL, NULL,
     '{unit,year,month,sex,place}', 'records', 'Tử vong sơ sinh (dưới 28 ngày)', 'Neonatal deaths'),
    (23, 'deaths_facility', 'death', 'ind_death', 'share', 'place = ''facility''', 'true', NULL, NULL,
     '{unit,year,month,sex,age_group}', '%', 'Tỷ lệ tử vong tại cơ sở y tế', 'Deaths in a health facility'),
    (24, 'deaths_coded', 'death', 'ind_death', 'share', 'underlying_cause IS NOT NULL', 'true', NULL, NULL,
     '{unit,year,month,sex,age_group,place}', '%', 'Tỷ lệ có nguyên nhân chính mã hóa ICD-10',
     'Underlying cause ICD-10 coded'),
    (25, 'deaths_ill_defined', 'death', 'ind_death', 'share', 'ill_defined', 'underlying_cause IS NOT NULL',
     NULL, NULL, '{unit,year,month,sex,age_group,place}', '%',
     'Tỷ lệ nguyên nhân không rõ (R00-R99)', 'Ill-defined underlying cause (R00-R99)'),
    (26, 'deaths_injury_underlying', 'death', 'ind_death', 'share', 'injury',
     'underlying_cause IS NOT NULL', NULL, NULL, '{unit,year,month,sex,age_group,place}', '%',
     'Tỷ lệ mã chấn thương làm nguyên nhân chính (S00-T98)', 'Injury code as underlying cause (S00-T98)'),
    (27, 'deaths_maternal', 'death', 'ind_death', 'count', 'maternal AND sex = ''FEMALE''', 'true', NULL, NULL,
     '{unit,year,month,age_group,place}', 'records', 'Tử vong mẹ (O00-O99)', 'Maternal deaths (O00-O99)'),
    (28, 'deaths_timely', 'death', 'ind_death', 'share', 'delay_hours <= 24 * $1', 'true', 15, 'days',
     '{unit,year,month,place,source_system}', '%', 'Tỷ lệ giấy báo tử điện tử đúng hạn (15 ngày)',
     'Death notices received on time (15 days)'),
    (30, 'divorces', 'divorce', 'ind_divorce', 'count', 'true', 'true', NULL, NULL,
     '{unit,year,month,kind,court,source_system}', 'records', 'Bản án, quyết định ly hôn nhận được',
     'Divorce judgments and decisions received'),
    (31, 'divorce_sync_median', 'divorce', 'ind_divorce', 'median', 'delay_hours', 'true', NULL, NULL,
     '{unit,year,month,kind,court}', 'hours', 'Thời gian đồng bộ từ ngày có hiệu lực (trung vị)',
     'Synchronisation delay from legal effect (median)'),
    (32, 'divorce_sync_p90', 'divorce', 'ind_divorce', 'p90', 'delay_hours', 'true', NULL, NULL,
     '{unit,year,month,kind,court}', 'hours', 'Thời gian đồng bộ từ ngày có hiệu lực (bách phân vị 90)',
     'Synchronisation delay from legal effect (90th percentile)'),
    (33, 'divorce_sync_within', 'divorce', 'ind_divorce', 'share', 'delay_hours <= 24 * $1', 'true', 1, 'days',
     '{unit,year,month,kind,court}', '%', 'Tỷ lệ đồng bộ trong 1 ngày', 'Synchronised within 1 day'),
    (36, 'divorce_court_delay_median', 'divorce', 'ind_divorce', 'median', 'court_delay_hours', 'true',
     NULL, NULL, '{unit,year,month,kind,court}', 'hours',
     'Thời gian tòa án phát hành bản điện tử từ ngày có hiệu lực (trung vị)',
     'Court issue delay from legal effect (median)'),
    (34, 'divorce_marriage_matched', 'divorce', 'ind_divorce', 'share', 'marriage_matched',
     'kind <> ''REVIEW_CANCELLATION''', NULL, NULL, '{unit,year,month,kind}', '%',
     'Tỷ lệ khớp với đăng ký kết hôn', 'Matched to a registered marriage'),
    (35, 'divorce_child_marriage', 'divorce', 'ind_divorce', 'count', 'child_marriage', 'true', NULL, NULL,
     '{unit,year,month,kind}', 'records', 'Hồ sơ có dấu hiệu tảo hôn', 'Child-marriage flags'),
    (40, 'dead_letters', 'quality', 'ind_dead_letter', 'count', 'true', 'true', NULL, NULL,
     '{topic,reason,status,source_system,month}', 'records', 'Thư chết theo lý do', 'Dead letters'),
    (41, 'corrections', 'quality', 'ind_audit', 'count', 'action = ''correct''', 'true', NULL, NULL,
     '{topic,source_system,month}', 'records', 'Bản sửa đổi', 'Corrections'),
    (42, 'duplicates', 'quality', 'ind_audit', 'count', 'action = ''duplicate''', 'true', NULL, NULL,
     '{topic,source_system,month}', 'records', 'Bản trùng lặp', 'Duplicates'),
    (43, 'reconciliation_open', 'quality', 'ind_reconciliation', 'count', 'status = ''open''', 'true',
     NULL, NULL, '{reason,source_system,month}', 'records', 'Mục đối chiếu đang mở',
     'Reconciliation items open'),
    (44, 'reconciliation_resolved', 'quality', 'ind_reconciliation', 'count', 'status = ''resolved''',
     'true', NULL, NULL, '{reason,source_system,month}', 'records', 'Mục đối chiếu đã giải quyết',
     'Reconciliation items resolved');

-- One indicator for events dated p_from..p_to (inclusive), grouped by the
-- dimensions p_by (in that order; none: one row for the whole period),
-- units 'current' or 'as-recorded', p_param (NULL: the default), only
-- records of unit p_unit when given (a unit key as p_units makes them).
-- Rows in the dimensions' order; keys[i] / labels[i] belong to p_by[i].
CREATE FUNCTION crvs.indicator_table(p_name text, p_from date, p_to date,
                                     p_by text[] DEFAULT '{}', p_units text DEFAULT 'current',
                                     p_param numeric DEFAULT NULL, p_unit text DEFAULT NULL)
RETURNS TABLE (keys text[], labels text[], numerator bigint, denominator bigint, value numeric)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    d crvs.indicator;
    dim crvs.indicator_dimension;
    dname text;
    key_list text[] := '{}';
    label_list text[] := '{}';
    order_list text[] := '{}';
    agg text;
    sql text;
BEGIN
    SELECT * INTO d FROM crvs.indicator WHERE name = p_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown indicator "%" (crvsctl stats --list)', p_name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_units IS NULL OR p_units NOT IN ('current', 'as-recorded') THEN
        RAISE EXCEPTION 'units must be current or as-recorded, not "%"', p_units
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_from IS NULL OR p_to IS NULL OR p_from > p_to THEN
        RAISE EXCEPTION 'the period % .. % is empty', p_from, p_to
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_unit IS NOT NULL AND NOT 'unit' = ANY (d.dimensions) THEN
        RAISE EXCEPTION 'indicator % is not reported by unit', p_name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOREACH dname IN ARRAY coalesce(p_by, '{}') LOOP
        SELECT * INTO dim FROM crvs.indicator_dimension WHERE name = dname;
        IF NOT FOUND OR NOT dname = ANY (d.dimensions) THEN
            RAISE EXCEPTION 'indicator % cannot be grouped by "%" (it can by: %)', p_name, dname,
                array_to_string(d.dimensions, ', ')
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        key_list := key_list || dim.key_expr;
        label_list := label_list || coalesce(dim.label_expr, 'NULL::text');
        order_list := order_list || dim.order_expr;
    END LOOP;
    agg := CASE d.kind
        WHEN 'count' THEN format('count(*) FILTER (WHERE %s), NULL::bigint, '
                                 'count(*) FILTER (WHERE %s)::numeric', d.num_expr, d.num_expr)
        WHEN 'share' THEN format('count(*) FILTER (WHERE (%1$s) AND (%2$s)), '
                                 'count(*) FILTER (WHERE %1$s), '
                                 'round(100.0 * count(*) FILTER (WHERE (%1$s) AND (%2$s)) '
                                 '/ nullif(count(*) FILTER (WHERE %1$s), 0), 1)',
                                 d.den_expr, d.num_expr)
        WHEN 'ratio' THEN format('count(*) FILTER (WHERE %1$s), count(*) FILTER (WHERE %2$s), '
                                 'round(100.0 * count(*) FILTER (WHERE %1$s) '
                                 '/ nullif(count(*) FILTER (WHERE %2$s), 0), 1)',
                                 d.num_expr, d.den_expr)
        ELSE format('NULL::bigint, count(*) FILTER (WHERE %1$s), '
                    'round(percentile_disc(%3$s) WITHIN GROUP (ORDER BY %2$s) '
                    'FILTER (WHERE %1$s), 2)',
                    d.den_expr, d.num_expr, CASE d.kind WHEN 'median' THEN '0.5' ELSE '0.9' END)
    END;
    sql := format('SELECT ARRAY[%s]::text[], ARRAY[%s]::text[], %s FROM crvs.%I '
                  'WHERE event_date BETWEEN $2 AND $3 '
                  'AND ($5::text IS NULL OR crvs.report_unit(province_code, unit_date, $4) = $5)',
                  array_to_string(key_list, ', '), array_to_string(label_list, ', '), agg,
                  d.source);
    IF cardinality(key_list) > 0 THEN
        sql := sql || format(' GROUP BY %s ORDER BY %s', array_to_string(key_list, ', '),
                             array_to_string(order_list || key_list, ', '));
    END IF;
    RETURN QUERY EXECUTE sql USING coalesce(p_param, d.param_default), p_from, p_to, p_units, p_unit;
END
$$;

GRANT SELECT ON crvs.indicator, crvs.indicator_dimension TO crvs_service;
