-- A tamper-evident audit trail (docs/security.md, "The audit chain").
--
-- Every audit row carries a SHA-256 hash over the previous row's hash and
-- its own canonical content, in a chain with no gaps: rows are numbered 1,
-- 2, 3, ... in their chain, and crvs.audit_chain holds each chain's head
-- (its last number and hash). Anyone who edits, deletes or inserts a row,
-- even a superuser with the triggers disabled, breaks the chain at that row
-- unless they recompute every hash after it; `crvsctl audit anchor` prints
-- the heads for an operator to keep elsewhere, and `crvsctl audit verify
-- --anchor` then catches a rewritten or truncated chain too.
--
-- One chain per source topic partition ('birth-certificate/0'), and one per
-- service for the rows of no partition (the linker's, the operators'). A
-- partition is written by one consumer at a time, so the chains of a batch
-- are never waited for by another instance: one chain for the whole
-- database would serialise every writer on its head row (two instances
-- would be no faster than one).

-- The chain of a row.
CREATE FUNCTION crvs.audit_chain_of(p_service text, p_topic text, p_partition integer)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_topic IS NOT NULL AND p_partition IS NOT NULL
                THEN p_topic || '/' || p_partition::text ELSE p_service END
$$;

-- The canonical content of a row: PostgreSQL's jsonb text of an array of
-- its fields (jsonb text is canonical: object keys in one order, numbers
-- and strings in one form), its time as microseconds since 1970 (no time
-- zone or DateStyle in it). The id is not in it: a row's place is its
-- number in its chain. crvsctl audit verify renders the same array in its
-- own query and hashes it in C; the two are one definition, tested by
-- every verify of an untouched chain.
CREATE FUNCTION crvs.audit_canon(p_chain text, p_seq bigint, p_at timestamptz, p_service text,
                                 p_action text, p_entity text, p_entity_key text,
                                 p_topic text, p_partition integer, p_offset bigint,
                                 p_schema_id integer, p_source_system text, p_event_id text,
                                 p_before jsonb, p_after jsonb, p_detail jsonb)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_array(p_chain, p_seq, (extract(epoch FROM p_at) * 1000000)::bigint,
                             p_service, p_action, p_entity, p_entity_key, p_topic, p_partition,
                             p_offset, p_schema_id, p_source_system, p_event_id, p_before,
                             p_after, p_detail)::text
$$;

-- hash(n) = sha256(hash(n - 1) || canonical content(n)), the first row's
-- hash(0) 32 zero bytes. As an aggregate over a chain's new rows in order,
-- its first argument the head's hash: the hot path chains a whole batch in
-- one statement (a window over the rows).
CREATE FUNCTION crvs.audit_chain_step(p_state bytea, p_head bytea, p_canon text)
RETURNS bytea LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT sha256(coalesce(p_state, p_head) || convert_to(p_canon, 'UTF8'))
$$;
CREATE AGGREGATE crvs.audit_chain_fold(bytea, text) (
    SFUNC = crvs.audit_chain_step,
    STYPE = bytea
);

CREATE TABLE crvs.audit_chain (
    chain text PRIMARY KEY,
    seq bigint NOT NULL DEFAULT 0,          -- the last row's number (0: none yet)
    hash bytea NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000',
    id bigint,                              -- the last row's id
    at timestamptz                          -- and its time
);

ALTER TABLE crvs.audit_log ADD COLUMN chain text, ADD COLUMN seq bigint, ADD COLUMN hash bytea;

-- The rows written before this migration, chained in the order of their ids.
-- The append-only trigger is set aside for this one statement, in this
-- transaction: the only UPDATE the table ever sees.
ALTER TABLE crvs.audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE crvs.audit_log a SET chain = n.chain, seq = n.seq
FROM (SELECT id, crvs.audit_chain_of(service, source_topic, source_partition) AS chain,
             row_number() OVER (PARTITION BY crvs.audit_chain_of(service, source_topic,
                                                                 source_partition)
                                ORDER BY id) AS seq
      FROM crvs.audit_log) n
WHERE a.id = n.id;
UPDATE crvs.audit_log a SET hash = h.hash
FROM (SELECT id, crvs.audit_chain_fold('\x0000000000000000000000000000000000000000000000000000000000000000'::bytea,
                                       crvs.audit_canon(chain, seq, at, service, action, entity,
                                                        entity_key, source_topic, source_partition,
                                                        source_offset, schema_id, source_system,
                                                        event_id, before, after, detail))
                 OVER (PARTITION BY chain ORDER BY seq) AS hash
      FROM crvs.audit_log) h
WHERE a.id = h.id;
ALTER TABLE crvs.audit_log ENABLE TRIGGER audit_log_append_only;
INSERT INTO crvs.audit_chain (chain, seq, hash, id, at)
SELECT DISTINCT ON (chain) chain, seq, hash, id, at FROM crvs.audit_log ORDER BY chain, seq DESC;

ALTER TABLE crvs.audit_log ALTER COLUMN chain SET NOT NULL, ALTER COLUMN seq SET NOT NULL,
                           ALTER COLUMN hash SET NOT NULL;
-- A second row at a chain's place is refused, and verify walks a chain in order.
CREATE UNIQUE INDEX audit_log_chain_seq ON crvs.audit_log (chain, seq);

-- Rows inserted without their place (every INSERT of the SQL functions) are
-- chained here, under the lock of their chain's head. The services' batches
-- chain their rows themselves in one statement (the statement hub_w_audit,
-- common/hub_apply.c) and come with their hash.
--
-- The row trigger keeps each chain's running head in a transaction-local
-- setting (crvs_chain.h<md5 of the chain>: "seq hash id at") and the
-- statement trigger writes the heads back once per statement: updating the
-- head row once per audit row made a statement of n rows cost O(n) row
-- versions of one row (5,000 rows: 2 s instead of 0.1 s, measured). The
-- settings are emptied by the write-back, so the next statement reads the
-- heads from the table again; an aborted statement or savepoint takes its
-- settings with it.
CREATE FUNCTION crvs.audit_chain_link() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k text;
    v text;
    prev bytea;
BEGIN
    NEW.chain := crvs.audit_chain_of(NEW.service, NEW.source_topic, NEW.source_partition);
    k := 'crvs_chain.h' || md5(NEW.chain);
    v := current_setting(k, true);
    IF v IS NULL OR v = '' THEN
        INSERT INTO crvs.audit_chain (chain) VALUES (NEW.chain) ON CONFLICT DO NOTHING;
        SELECT c.seq + 1, c.hash INTO NEW.seq, prev
        FROM crvs.audit_chain c WHERE c.chain = NEW.chain FOR UPDATE;
        PERFORM set_config('crvs_chain.dirty',
                           coalesce(nullif(current_setting('crvs_chain.dirty', true), '') || E'\n', '')
                           || NEW.chain, true);
    ELSE
        NEW.seq := split_part(v, ' ', 1)::bigint + 1;
        prev := decode(split_part(v, ' ', 2), 'hex');
    END IF;
    NEW.hash := sha256(prev || convert_to(crvs.audit_canon(NEW.chain, NEW.seq, NEW.at, NEW.service,
                                                           NEW.action, NEW.entity, NEW.entity_key,
                                                           NEW.source_topic, NEW.source_partition,
                                                           NEW.source_offset, NEW.schema_id,
                                                           NEW.source_system, NEW.event_id,
                                                           NEW.before, NEW.after, NEW.detail),
                                          'UTF8'));
    PERFORM set_config(k, NEW.seq || ' ' || encode(NEW.hash, 'hex') || ' ' || NEW.id || ' '
                          || (extract(epoch FROM NEW.at) * 1000000)::bigint, true);
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON crvs.audit_log
    FOR EACH ROW WHEN (NEW.hash IS NULL) EXECUTE FUNCTION crvs.audit_chain_link();

CREATE FUNCTION crvs.audit_chain_write_heads() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ch text;
    k text;
    v text;
BEGIN
    FOR ch IN SELECT unnest(string_to_array(nullif(current_setting('crvs_chain.dirty', true), ''),
                                               E'\n'))
    LOOP
        k := 'crvs_chain.h' || md5(ch);
        v := current_setting(k, true);
        UPDATE crvs.audit_chain c
        SET seq = split_part(v, ' ', 1)::bigint, hash = decode(split_part(v, ' ', 2), 'hex'),
            id = split_part(v, ' ', 3)::bigint,
            at = 'epoch'::timestamptz + split_part(v, ' ', 4)::bigint * interval '1 microsecond'
        WHERE c.chain = ch;
        PERFORM set_config(k, '', true);
    END LOOP;
    PERFORM set_config('crvs_chain.dirty', '', true);
    RETURN NULL;
END
$$;
CREATE TRIGGER audit_log_chain_heads AFTER INSERT ON crvs.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION crvs.audit_chain_write_heads();

-- The heads are changed only by the chaining (the trigger, as the owner, and
-- the services' batches), never by hand: UPDATE and DELETE on a head that
-- does not move it forward are refused.
CREATE FUNCTION crvs.refuse_audit_chain_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.chain = OLD.chain AND NEW.seq > OLD.seq THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'crvs.audit_chain moves only forward: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_chain_forward BEFORE UPDATE OR DELETE ON crvs.audit_chain
    FOR EACH ROW EXECUTE FUNCTION crvs.refuse_audit_chain_change();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON crvs.audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION crvs.refuse_audit_change();

GRANT SELECT, INSERT, UPDATE ON crvs.audit_chain TO crvs_service;
