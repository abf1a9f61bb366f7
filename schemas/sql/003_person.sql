-- The person registry and the linkage between sources (docs/linkage.md).
--
-- Records do not update persons directly: each registered record states
-- facts about the people it names (crvs.person_fact) and every person, marriage
-- and judgment those facts touch is recomputed from all its facts. The
-- recomputation is a pure function of the set of facts, so the registry ends
-- in the same state whatever order the records arrived in.

-- Append-only tables share one refusing trigger function; name the table.
CREATE OR REPLACE FUNCTION crvs.refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%.% is append-only: % refused', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TABLE crvs.person (
    personal_id text PRIMARY KEY CHECK (personal_id ~ '^[0-9]{12}$'),
    sex text NOT NULL CHECK (sex IN ('MALE', 'FEMALE')),  -- the ID's sex digit
    birth_date date,
    name text,
    name_key text,
    vital_status text NOT NULL DEFAULT 'ALIVE' CHECK (vital_status IN ('ALIVE', 'DECEASED')),
    death_date date,
    death_source text,
    marital_status text NOT NULL DEFAULT 'UNKNOWN'
        CHECK (marital_status IN ('UNKNOWN', 'MARRIED', 'DIVORCED', 'ANNULLED')),
    marital_since date,
    marital_source text,
    first_seen timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1
);

-- What one record says about one person. source = entity || ':' || key.
CREATE TABLE crvs.person_fact (
    source_entity text NOT NULL,
    source_key text NOT NULL,
    role text NOT NULL,
    personal_id text NOT NULL CHECK (personal_id ~ '^[0-9]{12}$'),
    kind text NOT NULL
        CHECK (kind IN ('identity', 'death', 'marriage', 'divorce', 'annulment', 'cancellation')),
    effective_date date,
    sex text,
    birth_date date,
    name text,
    name_key text,
    cancels text,           -- cancellation: key of the judgment it cancels
    marriage jsonb,         -- divorce/annulment: the marriage as the judgment names it
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_entity, source_key, role)
);
CREATE INDEX person_fact_person ON crvs.person_fact (personal_id);
CREATE INDEX person_fact_cancels ON crvs.person_fact (cancels) WHERE cancels IS NOT NULL;

-- Every record that went through the linkage, with or without identified
-- persons, so that a cancellation can tell whether its judgment arrived.
CREATE TABLE crvs.linked_record (
    source_entity text NOT NULL,
    source_key text NOT NULL,
    cancels text,
    marriage jsonb,
    effective_date date,
    kind text,
    linked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_entity, source_key)
);
-- (source_entity, cancels), not (cancels) alone: with statistics taken
-- before the first judgments arrived, the planner otherwise reads every
-- judgment through the primary key's source_entity prefix for each
-- cancellation lookup, and the divorce service slows down quadratically
-- (docs/performance.md).
CREATE INDEX linked_record_cancels ON crvs.linked_record (source_entity, cancels)
    WHERE cancels IS NOT NULL;
-- Judgments by the registration number of the marriage they name
-- (crvs.marriage_recompute).
CREATE INDEX linked_record_marriage_number
    ON crvs.linked_record ((marriage->>'registration_number'))
    WHERE marriage->>'registration_number' IS NOT NULL;

-- Every change of a person, append-only.
CREATE TABLE crvs.person_history (
    id bigserial PRIMARY KEY,
    personal_id text NOT NULL,
    field text NOT NULL,
    old_value text,
    new_value text,
    effective_date date,
    source text,            -- the record the new value comes from
    trigger_source text,    -- the record whose arrival caused the recomputation
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX person_history_person ON crvs.person_history (personal_id, id);
CREATE TRIGGER person_history_append_only BEFORE UPDATE OR DELETE ON crvs.person_history
    FOR EACH ROW EXECUTE FUNCTION crvs.refuse_audit_change();
CREATE TRIGGER person_history_no_truncate BEFORE TRUNCATE ON crvs.person_history
    FOR EACH STATEMENT EXECUTE FUNCTION crvs.refuse_audit_change();

-- The marriage register (extract of the civil-status marriage records, loaded
-- with crvs.register_marriage). Status follows the judgments.
CREATE TABLE crvs.marriage (
    id bigserial PRIMARY KEY,
    registry_office text NOT NULL,
    registration_number text NOT NULL,
    registration_date date NOT NULL,
    spouse_a_personal_id text NOT NULL CHECK (spouse_a_personal_id ~ '^[0-9]{12}$'),
    spouse_b_personal_id text NOT NULL CHECK (spouse_b_personal_id ~ '^[0-9]{12}$'),
    status text NOT NULL DEFAULT 'REGISTERED'
        CHECK (status IN ('REGISTERED', 'DISSOLVED', 'ANNULLED')),
    status_since date,
    status_source text,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (registry_office, registration_number)
);
CREATE INDEX marriage_number ON crvs.marriage (registration_number);
CREATE INDEX marriage_spouse_a ON crvs.marriage (spouse_a_personal_id);
CREATE INDEX marriage_spouse_b ON crvs.marriage (spouse_b_personal_id);

-- Conflicts and gaps. `scope` is what detects the item (a person, a
-- judgment, a record) and is recomputed as a whole; `natural_key` makes the
-- same finding the same item however often it is recomputed. An item whose
-- cause disappears is closed, not deleted; a resolved item stays resolved.
CREATE TABLE crvs.reconciliation (
    id bigserial PRIMARY KEY,
    reason text NOT NULL,
    scope text NOT NULL,
    natural_key text NOT NULL UNIQUE,
    personal_id text,
    source_a text,
    source_b text,
    detail text NOT NULL,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved', 'closed')),
    detected_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    resolved_by text,
    resolution_comment text
);
CREATE INDEX reconciliation_scope ON crvs.reconciliation (scope);
CREATE INDEX reconciliation_status ON crvs.reconciliation (status, reason);

-- The sex a personal ID's fourth digit gives (even: male, odd: female).
CREATE FUNCTION crvs.id_sex(p_id text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN substr(p_id, 4, 1)::integer % 2 = 0 THEN 'MALE' ELSE 'FEMALE' END
$$;

-- A personal ID as logs and listings show it: province code and last two digits.
CREATE FUNCTION crvs.mask_id(p_id text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_id IS NULL THEN NULL
                ELSE substr(p_id, 1, 3) || repeat('*', length(p_id) - 5) || right(p_id, 2) END
$$;

-- Replaces the items of one scope by the given set (jsonb array of
-- {reason, natural_key, personal_id, source_a, source_b, detail}).
CREATE FUNCTION crvs.reconcile_scope(p_scope text, p_items jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    it jsonb;
BEGIN
    FOR it IN SELECT value FROM jsonb_array_elements(coalesce(p_items, '[]')) LOOP
        INSERT INTO crvs.reconciliation AS r (reason, scope, natural_key, personal_id,
                                              source_a, source_b, detail)
        VALUES (it->>'reason', p_scope, it->>'natural_key', it->>'personal_id',
                it->>'source_a', it->>'source_b', it->>'detail')
        ON CONFLICT (natural_key) DO UPDATE
            SET detail = EXCLUDED.detail, source_a = EXCLUDED.source_a,
                source_b = EXCLUDED.source_b, personal_id = EXCLUDED.personal_id,
                status = CASE WHEN r.status = 'closed' THEN 'open' ELSE r.status END,
                updated_at = CASE WHEN r.status = 'closed' OR r.detail IS DISTINCT FROM EXCLUDED.detail
                                  THEN now() ELSE r.updated_at END;
    END LOOP;
    UPDATE crvs.reconciliation
    SET status = 'closed', updated_at = now()
    WHERE scope = p_scope AND status = 'open'
      AND natural_key NOT IN (SELECT value->>'natural_key'
                              FROM jsonb_array_elements(coalesce(p_items, '[]')));
END
$$;

-- Judgment keys that a cancellation on review names. A cancelled judgment's
-- divorce or annulment is left out of every fold.
CREATE FUNCTION crvs.is_cancelled(p_key text) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM crvs.linked_record
                   WHERE source_entity = 'divorce_judgment' AND cancels = p_key)
$$;

CREATE FUNCTION crvs.history_add(p_id text, p_field text, p_old text, p_new text,
                                 p_effective date, p_source text, p_trigger text)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO crvs.person_history (personal_id, field, old_value, new_value, effective_date,
                                     source, trigger_source)
    SELECT p_id, p_field, p_old, p_new, p_effective, p_source, p_trigger
    WHERE p_old IS DISTINCT FROM p_new;
$$;

-- Folds one person's facts into crvs.person (see docs/linkage.md) and
-- recomputes the person's reconciliation items.
CREATE FUNCTION crvs.person_recompute(p_id text, p_trigger text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    old crvs.person;
    n crvs.person;
    had boolean;
    f record;
    items jsonb := '[]';
BEGIN
    SELECT * INTO old FROM crvs.person WHERE personal_id = p_id FOR UPDATE;
    had := FOUND;
    IF NOT EXISTS (SELECT 1 FROM crvs.person_fact WHERE personal_id = p_id) THEN
        -- No record names this ID any more (a corrected ID): the person goes.
        IF had THEN
            DELETE FROM crvs.person WHERE personal_id = p_id;
            PERFORM crvs.history_add(p_id, 'person', 'present', NULL, NULL, NULL, p_trigger);
        END IF;
        PERFORM crvs.reconcile_scope('person:' || p_id, '[]');
        RETURN;
    END IF;

    n.personal_id := p_id;
    n.sex := crvs.id_sex(p_id);
    SELECT birth_date INTO n.birth_date FROM crvs.person_fact
    WHERE personal_id = p_id AND birth_date IS NOT NULL
    GROUP BY birth_date ORDER BY count(*) DESC, birth_date LIMIT 1;
    SELECT name, min(name_key) INTO n.name, n.name_key FROM crvs.person_fact
    WHERE personal_id = p_id AND name IS NOT NULL
    GROUP BY name ORDER BY count(*) DESC, name COLLATE "C" LIMIT 1;

    SELECT effective_date, source_entity || ':' || source_key INTO n.death_date, n.death_source
    FROM crvs.person_fact
    WHERE personal_id = p_id AND kind = 'death' AND effective_date IS NOT NULL
    ORDER BY effective_date, source_entity, source_key LIMIT 1;
    n.vital_status := CASE WHEN n.death_date IS NULL THEN 'ALIVE' ELSE 'DECEASED' END;

    n.marital_status := 'UNKNOWN';
    FOR f IN
        SELECT kind, effective_date, source_entity || ':' || source_key AS source
        FROM crvs.person_fact
        WHERE personal_id = p_id AND kind IN ('marriage', 'divorce', 'annulment')
          AND effective_date IS NOT NULL
          AND NOT (kind <> 'marriage' AND crvs.is_cancelled(source_key))
        ORDER BY effective_date,
                 CASE kind WHEN 'marriage' THEN 0 WHEN 'divorce' THEN 1 ELSE 2 END,
                 source_entity, source_key
    LOOP
        n.marital_status := CASE f.kind WHEN 'marriage' THEN 'MARRIED'
                                        WHEN 'divorce' THEN 'DIVORCED' ELSE 'ANNULLED' END;
        n.marital_since := f.effective_date;
        n.marital_source := f.source;
    END LOOP;

    IF had THEN
        IF (old.sex, old.birth_date, old.name, old.name_key, old.vital_status, old.death_date,
            old.death_source, old.marital_status, old.marital_since, old.marital_source)
           IS DISTINCT FROM
           (n.sex, n.birth_date, n.name, n.name_key, n.vital_status, n.death_date,
            n.death_source, n.marital_status, n.marital_since, n.marital_source) THEN
            UPDATE crvs.person
            SET sex = n.sex, birth_date = n.birth_date, name = n.name, name_key = n.name_key,
                vital_status = n.vital_status, death_date = n.death_date,
                death_source = n.death_source, marital_status = n.marital_status,
                marital_since = n.marital_since, marital_source = n.marital_source,
                updated_at = now(), version = version + 1
            WHERE personal_id = p_id;
        END IF;
    ELSE
        INSERT INTO crvs.person (personal_id, sex, birth_date, name, name_key, vital_status,
                                 death_date, death_source, marital_status, marital_since,
                                 marital_source)
        VALUES (p_id, n.sex, n.birth_date, n.name, n.name_key, n.vital_status, n.death_date,
                n.death_source, n.marital_status, n.marital_since, n.marital_source);
    END IF;
    -- The person's history rows, in this order, for the fields that changed:
    -- one statement rather than a call per field (docs/performance.md).
    INSERT INTO crvs.person_history (personal_id, field, old_value, new_value, effective_date,
                                     source, trigger_source)
    SELECT p_id, h.field, h.old_value, h.new_value, h.effective_date, h.source, p_trigger
    FROM (VALUES
            (1, 'person', CASE WHEN had THEN 'present' END, 'present', NULL::date, p_trigger),
            (2, 'birth_date', old.birth_date::text, n.birth_date::text, NULL, p_trigger),
            (3, 'name', old.name, n.name, NULL, p_trigger),
            (4, 'vital_status', old.vital_status || coalesce(' ' || old.death_date, ''),
             n.vital_status || coalesce(' ' || n.death_date, ''), n.death_date, n.death_source),
            (5, 'marital_status', old.marital_status || coalesce(' ' || old.marital_since, ''),
             n.marital_status || coalesce(' ' || n.marital_since, ''), n.marital_since,
             n.marital_source))
         AS h(ord, field, old_value, new_value, effective_date, source)
    WHERE h.old_value IS DISTINCT FROM h.new_value
    ORDER BY h.ord;

    -- Reconciliation items of this person.
    SELECT items || coalesce(jsonb_agg(jsonb_build_object(
               'reason', 'birth_date_mismatch',
               'natural_key', 'birth_date_mismatch|' || p_id,
               'personal_id', p_id,
               'source_a', src[1], 'source_b', src[2],
               'detail', 'sources give ' || dates)), '[]')
    INTO items
    FROM (SELECT array_agg(s ORDER BY bd, s) AS src,
                 string_agg(DISTINCT bd::text, ', ') AS dates,
                 count(DISTINCT bd) AS nd
          FROM (SELECT DISTINCT ON (birth_date) birth_date AS bd,
                       source_entity || ':' || source_key AS s
                FROM crvs.person_fact
                WHERE personal_id = p_id AND birth_date IS NOT NULL
                ORDER BY birth_date, source_entity, source_key) d) m
    WHERE nd > 1;

    IF n.death_date IS NOT NULL THEN
        SELECT items || coalesce(jsonb_agg(jsonb_build_object(
                   'reason', 'divorce_after_death',
                   'natural_key', 'divorce_after_death|' || p_id || '|' || source_key,
                   'personal_id', p_id,
                   'source_a', source_entity || ':' || source_key,
                   'source_b', n.death_source,
                   'detail', kind || ' effective ' || effective_date || ' after death on '
                             || n.death_date)), '[]')
        INTO items
        FROM crvs.person_fact
        WHERE personal_id = p_id AND kind IN ('divorce', 'annulment')
          AND effective_date > n.death_date AND NOT crvs.is_cancelled(source_key);

        SELECT items || coalesce(jsonb_agg(jsonb_build_object(
                   'reason', 'duplicate_death',
                   'natural_key', 'duplicate_death|' || p_id,
                   'personal_id', p_id,
                   'source_a', src[1], 'source_b', src[2],
                   'detail', cnt || ' death notices, dates ' || dates)), '[]')
        INTO items
        FROM (SELECT array_agg(source_entity || ':' || source_key
                               ORDER BY effective_date, source_entity, source_key) AS src,
                     string_agg(DISTINCT effective_date::text, ', ') AS dates,
                     count(*) AS cnt
              FROM crvs.person_fact
              WHERE personal_id = p_id AND kind = 'death') d
        WHERE cnt > 1;
    END IF;
    PERFORM crvs.reconcile_scope('person:' || p_id, items);
END
$$;

-- A judgment's marriage and the judgment a cancellation names.
CREATE FUNCTION crvs.judgment_recompute(p_key text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    j crvs.linked_record;
    items jsonb := '[]';
    num text;
    office text;
BEGIN
    SELECT * INTO j FROM crvs.linked_record
    WHERE source_entity = 'divorce_judgment' AND source_key = p_key;
    IF FOUND THEN
        num := j.marriage->>'registration_number';
        office := j.marriage->>'registry_office';
        IF num IS NOT NULL AND j.kind IN ('divorce', 'annulment') AND NOT EXISTS (
               SELECT 1 FROM crvs.marriage m
               WHERE m.registration_number = num
                 AND (office IS NULL OR m.registry_office = office)) THEN
            items := items || jsonb_build_object(
                'reason', 'marriage_not_found',
                'natural_key', 'marriage_not_found|' || p_key,
                'source_a', 'divorce_judgment:' || p_key,
                'detail', 'marriage ' || num || coalesce(' of ' || office, '')
                          || ' is not in the marriage register');
        END IF;
        IF j.cancels IS NOT NULL AND NOT EXISTS (
               SELECT 1 FROM crvs.linked_record
               WHERE source_entity = 'divorce_judgment' AND source_key = j.cancels) THEN
            items := items || jsonb_build_object(
                'reason', 'cancelled_judgment_not_found',
                'natural_key', 'cancelled_judgment_not_found|' || p_key,
                'source_a', 'divorce_judgment:' || p_key,
                'detail', 'cancels judgment ' || j.cancels || ', not received');
        END IF;
    END IF;
    PERFORM crvs.reconcile_scope('judgment:' || p_key, items);
END
$$;

-- A marriage's status from the judgments that name it (by office and
-- number, or by the two spouses' IDs), cancelled ones left out.
CREATE FUNCTION crvs.marriage_recompute(p_marriage bigint, p_trigger text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    m crvs.marriage;
    jkind text;
    jdate date;
    jsource text;
BEGIN
    SELECT * INTO m FROM crvs.marriage WHERE id = p_marriage FOR UPDATE;
    IF NOT FOUND THEN RETURN; END IF;
    -- The judgments naming this marriage, found through indexes: by its
    -- registration number (linked_record_marriage_number), or by both
    -- spouses (person_fact_person): never a read of every judgment.
    SELECT r.kind, r.effective_date, r.source_entity || ':' || r.source_key
    INTO jkind, jdate, jsource
    FROM crvs.linked_record r
    WHERE r.source_entity = 'divorce_judgment'
      AND r.source_key IN (
          SELECT l.source_key FROM crvs.linked_record l
          WHERE l.source_entity = 'divorce_judgment'
            AND l.marriage->>'registration_number' = m.registration_number
            AND coalesce(l.marriage->>'registry_office', m.registry_office) = m.registry_office
          UNION
          SELECT fa.source_key FROM crvs.person_fact fa
          JOIN crvs.person_fact fb ON fb.source_entity = fa.source_entity
                                  AND fb.source_key = fa.source_key
          WHERE fa.source_entity = 'divorce_judgment'
            AND fa.personal_id = m.spouse_a_personal_id
            AND fb.personal_id = m.spouse_b_personal_id
            AND m.spouse_a_personal_id <> m.spouse_b_personal_id)
      AND r.kind IN ('divorce', 'annulment')
      AND NOT crvs.is_cancelled(r.source_key)
      AND r.effective_date >= m.registration_date
    ORDER BY r.effective_date, r.source_key LIMIT 1;
    IF jkind IS NULL THEN
        jkind := 'REGISTERED';
    ELSE
        jkind := CASE jkind WHEN 'divorce' THEN 'DISSOLVED' ELSE 'ANNULLED' END;
    END IF;
    IF (m.status, m.status_since, m.status_source) IS DISTINCT FROM (jkind, jdate, jsource) THEN
        UPDATE crvs.marriage
        SET status = jkind, status_since = jdate, status_source = jsource, updated_at = now()
        WHERE id = m.id;
        INSERT INTO crvs.audit_log (service, action, entity, entity_key, detail)
        VALUES ('linkage', 'marriage_status', 'marriage',
                m.registry_office || '/' || m.registration_number,
                jsonb_build_object('old', m.status, 'new', jkind, 'since', jdate,
                                   'source', jsource, 'trigger', p_trigger));
    END IF;
END
$$;

-- Called by every service's apply function for a created or corrected
-- record: replaces the record's facts and record-level items, then
-- recomputes every person, judgment and marriage they touch (before and
-- after). p_facts: array of person facts (a fact without personal_id only
-- carries the record's kind, date, marriage and cancelled judgment);
-- p_reconcile: array of
-- {reason, personal_id?, detail}; p_meta: the batch element's meta.
CREATE FUNCTION crvs.person_link(p_entity text, p_key text, p_facts jsonb, p_reconcile jsonb,
                                 p_meta jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    src text := p_entity || ':' || p_key;
    ids text[];
    judgments text[];
    marriages bigint[];
    old_rec crvs.linked_record;
    lock_key text;
    pid text;
    jkey text;
    mid bigint;
    items jsonb;
BEGIN
    p_facts := coalesce(p_facts, '[]');
    SELECT * INTO old_rec FROM crvs.linked_record
    WHERE source_entity = p_entity AND source_key = p_key;

    -- Everything this record touched before and touches now.
    SELECT array_agg(DISTINCT x) INTO ids FROM (
        SELECT personal_id AS x FROM crvs.person_fact
        WHERE source_entity = p_entity AND source_key = p_key
        UNION SELECT value->>'personal_id' FROM jsonb_array_elements(p_facts)) s
    WHERE x IS NOT NULL;
    ids := coalesce(ids, '{}');
    judgments := '{}';
    IF p_entity = 'divorce_judgment' THEN
        judgments := ARRAY[p_key];
        IF old_rec.cancels IS NOT NULL THEN judgments := judgments || old_rec.cancels; END IF;
        SELECT judgments || coalesce(array_agg(DISTINCT value->>'cancels'), '{}') INTO judgments
        FROM jsonb_array_elements(p_facts) WHERE value->>'cancels' IS NOT NULL;
        -- Cancellations naming this judgment, and persons of the judgments
        -- that a (new or old) cancellation here names.
        SELECT judgments || coalesce(array_agg(source_key), '{}') INTO judgments
        FROM crvs.linked_record WHERE source_entity = 'divorce_judgment' AND cancels = p_key;
        SELECT ids || coalesce(array_agg(DISTINCT personal_id), '{}') INTO ids
        FROM crvs.person_fact
        WHERE source_entity = 'divorce_judgment' AND source_key = ANY (judgments);
    END IF;

    -- Serialise with concurrent batches touching the same persons or
    -- judgments (other services, other instances), in a fixed order so that
    -- two batches cannot wait on each other in a cycle within this call.
    FOR lock_key IN
        SELECT DISTINCT k FROM (SELECT 'person:' || unnest(ids) AS k
                                UNION ALL SELECT 'judgment:' || unnest(judgments)) s
        ORDER BY k
    LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended(lock_key, 0));
    END LOOP;

    SELECT array_agg(DISTINCT m.id) INTO marriages
    FROM crvs.marriage m
    WHERE m.spouse_a_personal_id = ANY (ids) OR m.spouse_b_personal_id = ANY (ids);

    DELETE FROM crvs.person_fact WHERE source_entity = p_entity AND source_key = p_key;
    INSERT INTO crvs.person_fact (source_entity, source_key, role, personal_id, kind,
                                  effective_date, sex, birth_date, name, name_key, cancels,
                                  marriage)
    SELECT p_entity, p_key, f->>'role', f->>'personal_id', f->>'kind',
           (f->>'effective_date')::date, f->>'sex', (f->>'birth_date')::date, f->>'name',
           f->>'name_key', f->>'cancels', f->'marriage'
    FROM jsonb_array_elements(p_facts) AS f
    WHERE f->>'personal_id' IS NOT NULL;

    INSERT INTO crvs.linked_record AS r (source_entity, source_key, cancels, marriage,
                                         effective_date, kind)
    SELECT p_entity, p_key,
           (SELECT value->>'cancels' FROM jsonb_array_elements(p_facts)
            WHERE value->>'cancels' IS NOT NULL LIMIT 1),
           (SELECT value->'marriage' FROM jsonb_array_elements(p_facts)
            WHERE jsonb_typeof(value->'marriage') = 'object' LIMIT 1),
           (SELECT min((value->>'effective_date')::date) FROM jsonb_array_elements(p_facts)),
           (SELECT min(value->>'kind') FROM jsonb_array_elements(p_facts))
    ON CONFLICT (source_entity, source_key) DO UPDATE
        SET cancels = EXCLUDED.cancels, marriage = EXCLUDED.marriage,
            effective_date = EXCLUDED.effective_date, kind = EXCLUDED.kind,
            linked_at = now();

    FOREACH pid IN ARRAY ids LOOP
        PERFORM crvs.person_recompute(pid, src);
    END LOOP;
    FOREACH jkey IN ARRAY judgments LOOP
        PERFORM crvs.judgment_recompute(jkey);
    END LOOP;
    -- Marriages named by office and number, whoever the spouses are.
    SELECT array_agg(DISTINCT m.id) || coalesce(marriages, '{}') INTO marriages
    FROM crvs.marriage m, crvs.linked_record r
    WHERE r.source_entity = 'divorce_judgment' AND r.source_key = ANY (judgments)
      AND m.registration_number = r.marriage->>'registration_number';
    FOREACH mid IN ARRAY coalesce(marriages, '{}') LOOP
        PERFORM crvs.marriage_recompute(mid, src);
    END LOOP;

    -- Record-level items the service found.
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'reason', it->>'reason',
               'natural_key', it->>'reason' || '|' || src || '|' || ord,
               'personal_id', it->>'personal_id',
               'source_a', src,
               'detail', it->>'detail')), '[]')
    INTO items
    FROM jsonb_array_elements(coalesce(p_reconcile, '[]')) WITH ORDINALITY AS e(it, ord);
    PERFORM crvs.reconcile_scope('record:' || src, items);
END
$$;

-- Loads one marriage of the register (idempotent by office and number) and
-- states its facts: both spouses married from the registration date.
CREATE FUNCTION crvs.register_marriage(p_office text, p_number text, p_date date,
                                       p_spouse_a text, p_spouse_b text, p_source text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    mid bigint;
    key text := p_office || '/' || p_number;
    pid text;
BEGIN
    FOR pid IN SELECT x FROM unnest(ARRAY[p_spouse_a, p_spouse_b]) x ORDER BY x LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended('person:' || pid, 0));
    END LOOP;
    INSERT INTO crvs.marriage (registry_office, registration_number, registration_date,
                               spouse_a_personal_id, spouse_b_personal_id)
    VALUES (p_office, p_number, p_date, p_spouse_a, p_spouse_b)
    ON CONFLICT (registry_office, registration_number) DO UPDATE
        SET registration_date = EXCLUDED.registration_date,
            spouse_a_personal_id = EXCLUDED.spouse_a_personal_id,
            spouse_b_personal_id = EXCLUDED.spouse_b_personal_id, updated_at = now()
    RETURNING id INTO mid;
    DELETE FROM crvs.person_fact WHERE source_entity = 'marriage' AND source_key = key;
    INSERT INTO crvs.person_fact (source_entity, source_key, role, personal_id, kind,
                                  effective_date)
    VALUES ('marriage', key, 'spouse_a', p_spouse_a, 'marriage', p_date),
           ('marriage', key, 'spouse_b', p_spouse_b, 'marriage', p_date);
    INSERT INTO crvs.audit_log (service, action, entity, entity_key, source_system, detail)
    VALUES ('linkage', 'register', 'marriage', key, p_source,
            jsonb_build_object('registration_date', p_date));
    PERFORM crvs.person_recompute(p_spouse_a, 'marriage:' || key);
    PERFORM crvs.person_recompute(p_spouse_b, 'marriage:' || key);
    PERFORM crvs.marriage_recompute(mid, 'marriage:' || key);
    -- Judgments that named this registration no longer miss it.
    PERFORM crvs.judgment_recompute(source_key)
    FROM crvs.linked_record
    WHERE source_entity = 'divorce_judgment' AND marriage->>'registration_number' = p_number;
    RETURN mid;
END
$$;

-- An operator's decision on an item, kept on the item and in the audit trail.
CREATE FUNCTION crvs.reconcile_resolve(p_id bigint, p_by text, p_comment text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r crvs.reconciliation;
BEGIN
    SELECT * INTO r FROM crvs.reconciliation WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN RETURN 'not_found'; END IF;
    IF r.status = 'resolved' THEN RETURN 'already_resolved'; END IF;
    UPDATE crvs.reconciliation
    SET status = 'resolved', resolved_at = now(), resolved_by = p_by,
        resolution_comment = p_comment, updated_at = now()
    WHERE id = p_id;
    INSERT INTO crvs.audit_log (service, action, entity, entity_key, before, after, detail)
    VALUES ('crvsctl', 'resolve', 'reconciliation', p_id::text,
            jsonb_build_object('status', r.status),
            jsonb_build_object('status', 'resolved'),
            jsonb_build_object('reason', r.reason, 'by', p_by, 'comment', p_comment));
    RETURN 'resolved';
END
$$;

GRANT SELECT, INSERT, UPDATE, DELETE ON crvs.person, crvs.person_fact, crvs.linked_record,
    crvs.marriage, crvs.reconciliation TO crvs_service;
GRANT SELECT, INSERT ON crvs.person_history TO crvs_service;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA crvs TO crvs_service;
