-- Reference data for the indicators (docs/indicators.md): administrative
-- units before and since the 1 July 2025 reorganisation, the merger mapping,
-- communes loaded by operators (`crvsctl refdata load units`), and the
-- ICD-10 chapters with the quality rules of vital statistics.
--
-- Unit rule. Records carry the province in force on the event date (the
-- services refuse any other: a legacy code before 2025-07-01, one of the 34
-- since). "As recorded" reports a record under that unit: legacy units are
-- keyed 'L' || code ('L02' Hà Giang) so that a legacy code reused by a
-- current province ('91' Kiên Giang, then An Giang) stays apart. "Current"
-- reports it under today's province: legacy codes through the merger table.

CREATE TABLE crvs.province (
    era text NOT NULL CHECK (era IN ('legacy', 'current')),
    code text NOT NULL CHECK (code ~ '^[0-9]{2}$'),
    name text NOT NULL CHECK (name IS NFC NORMALIZED),
    PRIMARY KEY (era, code)
);

INSERT INTO crvs.province (era, code, name) VALUES
    ('legacy', '01', 'Hà Nội'), ('legacy', '02', 'Hà Giang'), ('legacy', '04', 'Cao Bằng'),
    ('legacy', '06', 'Bắc Kạn'), ('legacy', '08', 'Tuyên Quang'), ('legacy', '10', 'Lào Cai'),
    ('legacy', '11', 'Điện Biên'), ('legacy', '12', 'Lai Châu'), ('legacy', '14', 'Sơn La'),
    ('legacy', '15', 'Yên Bái'), ('legacy', '17', 'Hòa Bình'), ('legacy', '19', 'Thái Nguyên'),
    ('legacy', '20', 'Lạng Sơn'), ('legacy', '22', 'Quảng Ninh'), ('legacy', '24', 'Bắc Giang'),
    ('legacy', '25', 'Phú Thọ'), ('legacy', '26', 'Vĩnh Phúc'), ('legacy', '27', 'Bắc Ninh'),
    ('legacy', '30', 'Hải Dương'), ('legacy', '31', 'Hải Phòng'), ('legacy', '33', 'Hưng Yên'),
    ('legacy', '34', 'Thái Bình'), ('legacy', '35', 'Hà Nam'), ('legacy', '36', 'Nam Định'),
    ('legacy', '37', 'Ninh Bình'), ('legacy', '38', 'Thanh Hóa'), ('legacy', '40', 'Nghệ An'),
    ('legacy', '42', 'Hà Tĩnh'), ('legacy', '44', 'Quảng Bình'), ('legacy', '45', 'Quảng Trị'),
    ('legacy', '46', 'Thừa Thiên Huế'), ('legacy', '48', 'Đà Nẵng'), ('legacy', '49', 'Quảng Nam'),
    ('legacy', '51', 'Quảng Ngãi'), ('legacy', '52', 'Bình Định'), ('legacy', '54', 'Phú Yên'),
    ('legacy', '56', 'Khánh Hòa'), ('legacy', '58', 'Ninh Thuận'), ('legacy', '60', 'Bình Thuận'),
    ('legacy', '62', 'Kon Tum'), ('legacy', '64', 'Gia Lai'), ('legacy', '66', 'Đắk Lắk'),
    ('legacy', '67', 'Đắk Nông'), ('legacy', '68', 'Lâm Đồng'), ('legacy', '70', 'Bình Phước'),
    ('legacy', '72', 'Tây Ninh'), ('legacy', '74', 'Bình Dương'), ('legacy', '75', 'Đồng Nai'),
    ('legacy', '77', 'Bà Rịa - Vũng Tàu'), ('legacy', '79', 'Hồ Chí Minh'), ('legacy', '80', 'Long An'),
    ('legacy', '82', 'Tiền Giang'), ('legacy', '83', 'Bến Tre'), ('legacy', '84', 'Trà Vinh'),
    ('legacy', '86', 'Vĩnh Long'), ('legacy', '87', 'Đồng Tháp'), ('legacy', '89', 'An Giang'),
    ('legacy', '91', 'Kiên Giang'), ('legacy', '92', 'Cần Thơ'), ('legacy', '93', 'Hậu Giang'),
    ('legacy', '94', 'Sóc Trăng'), ('legacy', '95', 'Bạc Liêu'), ('legacy', '96', 'Cà Mau'),
    ('current', '01', 'Hà Nội'), ('current', '04', 'Cao Bằng'), ('current', '08', 'Tuyên Quang'),
    ('current', '11', 'Điện Biên'), ('current', '12', 'Lai Châu'), ('current', '14', 'Sơn La'),
    ('current', '15', 'Lào Cai'), ('current', '19', 'Thái Nguyên'), ('current', '20', 'Lạng Sơn'),
    ('current', '22', 'Quảng Ninh'), ('current', '24', 'Bắc Ninh'), ('current', '25', 'Phú Thọ'),
    ('current', '31', 'Hải Phòng'), ('current', '33', 'Hưng Yên'), ('current', '37', 'Ninh Bình'),
    ('current', '38', 'Thanh Hóa'), ('current', '40', 'Nghệ An'), ('current', '42', 'Hà Tĩnh'),
    ('current', '44', 'Quảng Trị'), ('current', '46', 'Huế'), ('current', '48', 'Đà Nẵng'),
    ('current', '51', 'Quảng Ngãi'), ('current', '52', 'Gia Lai'), ('current', '56', 'Khánh Hòa'),
    ('current', '66', 'Đắk Lắk'), ('current', '68', 'Lâm Đồng'), ('current', '75', 'Đồng Nai'),
    ('current', '79', 'Hồ Chí Minh'), ('current', '80', 'Tây Ninh'), ('current', '82', 'Đồng Tháp'),
    ('current', '86', 'Vĩnh Long'), ('current', '91', 'An Giang'), ('current', '92', 'Cần Thơ'),
    ('current', '96', 'Cà Mau');

-- Each legacy province and the current one it belongs to since 2025-07-01
-- (DOMAIN.md; the same mapping as hub_province_current_code in C, which
-- the services validate with).
CREATE TABLE crvs.province_merger (
    legacy_code text PRIMARY KEY,
    current_code text NOT NULL,
    legacy_era text NOT NULL DEFAULT 'legacy' CHECK (legacy_era = 'legacy'),
    current_era text NOT NULL DEFAULT 'current' CHECK (current_era = 'current'),
    FOREIGN KEY (legacy_era, legacy_code) REFERENCES crvs.province (era, code),
    FOREIGN KEY (current_era, current_code) REFERENCES crvs.province (era, code)
);

INSERT INTO crvs.province_merger (legacy_code, current_code) VALUES
    ('01', '01'), ('02', '08'), ('04', '04'), ('06', '19'), ('08', '08'), ('10', '15'),
    ('11', '11'), ('12', '12'), ('14', '14'), ('15', '15'), ('17', '25'), ('19', '19'),
    ('20', '20'), ('22', '22'), ('24', '24'), ('25', '25'), ('26', '25'), ('27', '24'),
    ('30', '31'), ('31', '31'), ('33', '33'), ('34', '33'), ('35', '37'), ('36', '37'),
    ('37', '37'), ('38', '38'), ('40', '40'), ('42', '42'), ('44', '44'), ('45', '44'),
    ('46', '46'), ('48', '48'), ('49', '48'), ('51', '51'), ('52', '52'), ('54', '66'),
    ('56', '56'), ('58', '56'), ('60', '68'), ('62', '51'), ('64', '52'), ('66', '66'),
    ('67', '68'), ('68', '68'), ('70', '75'), ('72', '80'), ('74', '79'), ('75', '75'),
    ('77', '79'), ('79', '79'), ('80', '80'), ('82', '82'), ('83', '86'), ('84', '86'),
    ('86', '86'), ('87', '82'), ('89', '91'), ('91', '91'), ('92', '92'), ('93', '92'),
    ('94', '92'), ('95', '96'), ('96', '96');

CREATE FUNCTION crvs.reform_date() RETURNS date LANGUAGE sql IMMUTABLE AS $$
    SELECT date '2025-07-01'
$$;

-- The unit a record with province p_code and event date p_date is
-- reported under: p_units 'as-recorded' ('L02' for legacy Hà Giang, '08'
-- for current Tuyên Quang) or 'current' ('08' for both). NULL code: NULL.
CREATE FUNCTION crvs.report_unit(p_code text, p_date date, p_units text)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN p_code IS NULL THEN NULL
        WHEN p_date >= crvs.reform_date() THEN p_code
        WHEN p_units = 'current' THEN (SELECT current_code FROM crvs.province_merger
                                        WHERE legacy_code = p_code)
        ELSE 'L' || p_code END
$$;

-- The name of a unit key from crvs.report_unit, or of a commune code.
CREATE FUNCTION crvs.unit_name(p_unit text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_unit LIKE 'L%'
                THEN (SELECT name FROM crvs.province WHERE era = 'legacy' AND code = substr(p_unit, 2))
                ELSE (SELECT name FROM crvs.province WHERE era = 'current' AND code = p_unit) END
$$;

-- Communes (xã, phường, đặc khu) of the current provinces, loaded as whole
-- versions: a load is a new version in one transaction, the newest version
-- is in force, older ones stay for audit and for reports made with them.
CREATE TABLE crvs.commune_version (
    version serial PRIMARY KEY,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    loaded_by text NOT NULL,
    source text NOT NULL,
    valid_from date NOT NULL,
    row_count integer NOT NULL
);

CREATE TABLE crvs.commune (
    version integer NOT NULL REFERENCES crvs.commune_version,
    code text NOT NULL CHECK (code ~ '^[0-9]{5}$'),
    name text NOT NULL CHECK (name IS NFC NORMALIZED),
    kind text NOT NULL CHECK (kind IN ('xa', 'phuong', 'dac_khu')),
    province_code text NOT NULL,
    province_era text NOT NULL DEFAULT 'current' CHECK (province_era = 'current'),
    PRIMARY KEY (version, code),
    FOREIGN KEY (province_era, province_code) REFERENCES crvs.province (era, code)
);

-- The communes in force: the newest version.
CREATE VIEW crvs.commune_in_force AS
    SELECT code, name, kind, province_code, version FROM crvs.commune
    WHERE version = (SELECT max(version) FROM crvs.commune_version);

-- Validates and loads a commune list (p_rows: array of {line, code, name,
-- kind, province_code}, line = the line in the operator's file) as a new
-- version valid from p_valid_from. Every row is checked; on any error
-- nothing is written and the result is {"errors": ["line N: ...", ...]}
-- in line order. Otherwise {"version": V, "rows": N}, audited as
-- 'refdata_load'.
CREATE FUNCTION crvs.load_communes(p_rows jsonb, p_source text, p_by text, p_valid_from date)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    errors jsonb;
    v integer;
    n integer;
BEGIN
    WITH r AS (
        SELECT (e->>'line')::integer AS line, e->>'code' AS code, e->>'name' AS name,
               e->>'kind' AS kind, e->>'province_code' AS province_code
        FROM jsonb_array_elements(coalesce(p_rows, '[]')) AS e
    ), problems AS (
        SELECT line, 'commune code ' || coalesce(quote_literal(code), 'missing') || ' is not 5 digits' AS msg
        FROM r WHERE code IS NULL OR code !~ '^[0-9]{5}$'
        UNION ALL
        SELECT line, 'commune name missing' FROM r WHERE name IS NULL OR btrim(name) = ''
        UNION ALL
        SELECT line, 'commune name is not in Unicode NFC (normalise it first)'
        FROM r WHERE name IS NOT NULL AND NOT name IS NFC NORMALIZED
        UNION ALL
        SELECT line, 'commune name has white space at an end or doubled'
        FROM r WHERE name <> btrim(regexp_replace(name, '\s+', ' ', 'g'))
        UNION ALL
        SELECT line, 'kind ' || coalesce(quote_literal(kind), 'missing') || ' is not xa, phuong or dac_khu'
        FROM r WHERE kind IS NULL OR kind NOT IN ('xa', 'phuong', 'dac_khu')
        UNION ALL
        SELECT line, 'province ' || coalesce(quote_literal(province_code), 'missing')
                     || ' is not one of the 34 current provinces'
        FROM r WHERE NOT EXISTS (SELECT 1 FROM crvs.province p
                                 WHERE p.era = 'current' AND p.code = r.province_code)
        UNION ALL
        SELECT r.line, 'commune code ' || r.code || ' repeats line ' || f.first
        FROM r JOIN (SELECT code, min(line) AS first FROM r GROUP BY code HAVING count(*) > 1) f
             ON f.code = r.code AND r.line > f.first
    )
    SELECT jsonb_agg('line ' || line || ': ' || msg ORDER BY line, msg) INTO errors FROM problems;
    n := jsonb_array_length(coalesce(p_rows, '[]'));
    IF errors IS NULL AND n = 0 THEN
        errors := '["the file holds no communes"]';
    END IF;
    IF errors IS NOT NULL THEN
        RETURN jsonb_build_object('errors', errors);
    END IF;
    INSERT INTO crvs.commune_version (loaded_by, source, valid_from, row_count)
    VALUES (p_by, p_source, p_valid_from, n) RETURNING version INTO v;
    INSERT INTO crvs.commune (version, code, name, kind, province_code)
    SELECT v, e->>'code', e->>'name', e->>'kind', e->>'province_code'
    FROM jsonb_array_elements(p_rows) AS e;
    INSERT INTO crvs.audit_log (service, action, entity, entity_key, detail)
    VALUES ('crvsctl', 'refdata_load', 'commune_version', v::text,
            jsonb_build_object('by', p_by, 'db_user', current_user, 'source', p_source,
                               'rows', n, 'valid_from', p_valid_from));
    RETURN jsonb_build_object('version', v, 'rows', n);
END
$$;

-- ICD-10 chapters (WHO ICD-10 2019, DOMAIN.md) by 3-character category.
CREATE TABLE crvs.icd10_chapter (
    number integer PRIMARY KEY,
    roman text NOT NULL UNIQUE,
    first_category text NOT NULL,
    last_category text NOT NULL,
    title_vi text NOT NULL,
    title_en text NOT NULL
);

INSERT INTO crvs.icd10_chapter VALUES
    (1, 'I', 'A00', 'B99', 'Bệnh nhiễm trùng và ký sinh trùng', 'Infectious and parasitic diseases'),
    (2, 'II', 'C00', 'D48', 'Khối u', 'Neoplasms'),
    (3, 'III', 'D50', 'D89', 'Bệnh máu và cơ quan tạo máu, miễn dịch', 'Blood and immune disorders'),
    (4, 'IV', 'E00', 'E90', 'Bệnh nội tiết, dinh dưỡng và chuyển hóa', 'Endocrine, nutritional and metabolic'),
    (5, 'V', 'F00', 'F99', 'Rối loạn tâm thần và hành vi', 'Mental and behavioural disorders'),
    (6, 'VI', 'G00', 'G99', 'Bệnh hệ thần kinh', 'Nervous system'),
    (7, 'VII', 'H00', 'H59', 'Bệnh mắt và phần phụ', 'Eye and adnexa'),
    (8, 'VIII', 'H60', 'H95', 'Bệnh tai và xương chũm', 'Ear and mastoid process'),
    (9, 'IX', 'I00', 'I99', 'Bệnh hệ tuần hoàn', 'Circulatory system'),
    (10, 'X', 'J00', 'J99', 'Bệnh hệ hô hấp', 'Respiratory system'),
    (11, 'XI', 'K00', 'K93', 'Bệnh hệ tiêu hóa', 'Digestive system'),
    (12, 'XII', 'L00', 'L99', 'Bệnh da và mô dưới da', 'Skin and subcutaneous tissue'),
    (13, 'XIII', 'M00', 'M99', 'Bệnh hệ cơ xương khớp', 'Musculoskeletal system'),
    (14, 'XIV', 'N00', 'N99', 'Bệnh hệ sinh dục - tiết niệu', 'Genitourinary system'),
    (15, 'XV', 'O00', 'O99', 'Thai nghén, sinh đẻ và hậu sản', 'Pregnancy, childbirth and the puerperium'),
    (16, 'XVI', 'P00', 'P96', 'Bệnh lý xuất phát trong thời kỳ chu sinh', 'Perinatal conditions'),
    (17, 'XVII', 'Q00', 'Q99', 'Dị tật bẩm sinh', 'Congenital malformations'),
    (18, 'XVIII', 'R00', 'R99', 'Triệu chứng và dấu hiệu không rõ', 'Symptoms and ill-defined conditions'),
    (19, 'XIX', 'S00', 'T98', 'Vết thương, ngộ độc', 'Injury and poisoning'),
    (20, 'XX', 'V01', 'Y98', 'Nguyên nhân bên ngoài', 'External causes'),
    (21, 'XXI', 'Z00', 'Z99', 'Tiếp xúc dịch vụ y tế', 'Contact with health services'),
    (22, 'XXII', 'U00', 'U99', 'Mã dành cho mục đích đặc biệt', 'Codes for special purposes');

-- Quality rules of vital statistics on an underlying cause (its 3-character
-- category): R00-R99 is ill-defined; an injury code S00-T98 is not an
-- underlying cause (the external cause V01-Y98 is).
CREATE FUNCTION crvs.icd10_ill_defined(p_category text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT p_category BETWEEN 'R00' AND 'R99'
$$;
CREATE FUNCTION crvs.icd10_injury(p_category text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT p_category BETWEEN 'S00' AND 'T98'
$$;

GRANT SELECT ON crvs.province, crvs.province_merger, crvs.commune, crvs.commune_version,
    crvs.commune_in_force, crvs.icd10_chapter TO crvs_service;
