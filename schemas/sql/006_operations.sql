-- What the operators' tools need (crvsctl status, crvsctl dlq replay and
-- discard; docs/operations.md). Applied by `crvsctl migrate` as the owner.

-- crvsctl status counts the services' audit rows of the last minutes for
-- throughput. The audit log is append-only and `at` grows with insertion
-- order, which is what a BRIN index summarises best: a few pages for
-- millions of rows, next to nothing to maintain on the hot insert path
-- (a btree here would cost every batch an index insert per record).
CREATE INDEX audit_log_at_brin ON crvs.audit_log USING brin (at);

-- Dead letters waiting for an operator, walked in id order by replay.
CREATE INDEX dead_letter_waiting ON crvs.dead_letter (id) WHERE status = 'new';

-- Marks a dead letter replayed after its original bytes were re-published
-- and the broker confirmed delivery at (p_partition, p_offset). Only an
-- entry still 'new' changes, so a second run, or a second operator, does
-- nothing; returns whether this call marked it. Audited as 'dlq_replay'.
CREATE FUNCTION crvs.dlq_mark_replayed(p_id bigint, p_by text, p_partition integer,
                                       p_offset bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    d crvs.dead_letter;
BEGIN
    UPDATE crvs.dead_letter
    SET status = 'replayed', status_at = now(),
        status_comment = format('replayed by %s to %s[%s]@%s', p_by, source_topic, p_partition,
                                p_offset)
    WHERE id = p_id AND status = 'new'
    RETURNING * INTO d;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO crvs.audit_log (service, action, entity, entity_key, source_topic,
                                source_partition, source_offset, schema_id, detail)
    VALUES ('crvsctl', 'dlq_replay', 'dead_letter', p_id::text, d.source_topic,
            d.source_partition, d.source_offset, d.schema_id,
            jsonb_build_object('by', p_by, 'db_user', current_user, 'reason', d.reason,
                               'replayed_partition', p_partition, 'replayed_offset', p_offset));
    RETURN true;
END
$$;

-- Discards a dead letter that will never be stored (a test message, a
-- document the producer re-sent corrected). Returns 'discarded', or the
-- 'already_discarded', or 'replayed' when it was replayed, or
-- 'not_found'. Audited as 'dlq_discard' with the operator's comment.
CREATE FUNCTION crvs.dlq_discard(p_id bigint, p_by text, p_comment text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    d crvs.dead_letter;
BEGIN
    IF p_comment IS NULL OR btrim(p_comment) = '' THEN
        RAISE EXCEPTION 'a discard needs a comment' USING ERRCODE = 'check_violation';
    END IF;
    UPDATE crvs.dead_letter
    SET status = 'discarded', status_at = now(), status_comment = p_comment
    WHERE id = p_id AND status = 'new'
    RETURNING * INTO d;
    IF NOT FOUND THEN
        RETURN coalesce((SELECT CASE status WHEN 'discarded' THEN 'already_discarded' ELSE status END
                         FROM crvs.dead_letter WHERE id = p_id), 'not_found');
    END IF;
    INSERT INTO crvs.audit_log (service, action, entity, entity_key, source_topic,
                                source_partition, source_offset, schema_id, detail)
    VALUES ('crvsctl', 'dlq_discard', 'dead_letter', p_id::text, d.source_topic,
            d.source_partition, d.source_offset, d.schema_id,
            jsonb_build_object('by', p_by, 'db_user', current_user, 'reason', d.reason,
                               'comment', p_comment));
    RETURN 'discarded';
END
$$;
