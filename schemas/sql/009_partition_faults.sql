-- Broker data loss (docs/operations.md, "Broker data loss"). A partition
-- whose stored offset the broker cannot serve any more (earlier than the log
-- start: retention or the delete-records API removed messages never stored;
-- ahead of the log end: the topic was deleted and made anew, or the log was
-- truncated) is stopped by the service that finds it, and the fault is kept
-- here until an operator decides where the partition goes on, with
-- `crvsctl offsets reset` (crvs.reset_offset). Every operator tool reads
-- this table: `crvsctl status`, `crvsctl wait`, the console.

-- One row per stopped partition: the fault open now. Its history (found,
-- skipped by policy, reset) is in the audit trail.
CREATE TABLE crvs.partition_fault (
    consumer_group text NOT NULL,
    topic text NOT NULL,
    partition integer NOT NULL CHECK (partition >= 0),
    -- behind_log_start: stored offset < log start, the messages in between
    --                   are gone (missing = log start - stored);
    -- ahead_of_log_end: stored offset > log end (missing unknown);
    -- out_of_range:     the broker refused the offset and its log start
    --                   and end could not be read.
    kind text NOT NULL CHECK (kind IN ('behind_log_start', 'ahead_of_log_end', 'out_of_range')),
    stored_offset bigint NOT NULL,
    log_start bigint,
    log_end bigint,
    missing bigint CHECK (missing > 0), -- NULL: not known
    detected_at timestamptz NOT NULL DEFAULT now(),
    detected_by text NOT NULL,          -- the service
    PRIMARY KEY (consumer_group, topic, partition)
);

-- Records a fault found by a service. A fault already open for the
-- partition stays as it was (the first finding is what the operator
-- decides on; a service restarting finds it again). Returns whether this
-- call recorded it; a recorded fault is audited as 'partition_data_loss'.
CREATE FUNCTION crvs.report_partition_fault(p_group text, p_topic text, p_partition integer,
                                            p_kind text, p_stored bigint, p_log_start bigint,
                                            p_log_end bigint, p_missing bigint, p_service text)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO crvs.partition_fault (consumer_group, topic, partition, kind, stored_offset,
                                      log_start, log_end, missing, detected_by)
    VALUES (p_group, p_topic, p_partition, p_kind, p_stored, p_log_start, p_log_end, p_missing,
            p_service)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO crvs.audit_log (service, action, entity, entity_key, source_topic,
                                source_partition, source_offset, detail)
    VALUES (p_service, 'partition_data_loss', 'consumer_offset', p_group, p_topic, p_partition,
            p_stored,
            jsonb_build_object('kind', p_kind, 'stored', p_stored, 'log_start', p_log_start,
                               'log_end', p_log_end, 'missing', p_missing));
    RETURN true;
END
$$;

-- The policy offsets.on.loss = continue (development only): the service
-- moves the stored offset past the loss itself, fenced like a batch's
-- (only from p_expected), and the skip is audited as 'offset_skip' with
-- the numbers. Returns whether it moved.
CREATE FUNCTION crvs.skip_partition_loss(p_group text, p_topic text, p_partition integer,
                                         p_kind text, p_expected bigint, p_next bigint,
                                         p_log_start bigint, p_log_end bigint, p_missing bigint,
                                         p_service text)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    UPDATE crvs.consumer_offset
    SET next_offset = p_next, updated_at = now()
    WHERE consumer_group = p_group AND topic = p_topic AND partition = p_partition
      AND next_offset = p_expected;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO crvs.audit_log (service, action, entity, entity_key, source_topic,
                                source_partition, source_offset, detail)
    VALUES (p_service, 'offset_skip', 'consumer_offset', p_group, p_topic, p_partition, p_next,
            jsonb_build_object('policy', 'continue', 'kind', p_kind, 'from', p_expected,
                               'to', p_next, 'log_start', p_log_start, 'log_end', p_log_end,
                               'missing', p_missing));
    RETURN true;
END
$$;

-- An operator's decision (`crvsctl offsets reset`): the partition's stored
-- offset becomes p_to, its open fault (if any) is cleared, and the audit
-- trail gets 'offset_reset' with who, why, from, to and the fault it
-- cleared. The service that holds the partition picks the new offset up
-- (docs/operations.md). Returns the offset stored before (NULL: the
-- partition was never claimed).
CREATE FUNCTION crvs.reset_offset(p_group text, p_topic text, p_partition integer, p_to bigint,
                                  p_by text, p_reason text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_from bigint;
    f crvs.partition_fault;
BEGIN
    IF p_reason IS NULL OR btrim(p_reason) = '' THEN
        RAISE EXCEPTION 'an offset reset needs a reason' USING ERRCODE = 'check_violation';
    END IF;
    IF p_to < 0 THEN
        RAISE EXCEPTION 'offset % is not an offset', p_to USING ERRCODE = 'check_violation';
    END IF;
    SELECT next_offset INTO v_from FROM crvs.consumer_offset
    WHERE consumer_group = p_group AND topic = p_topic AND partition = p_partition
    FOR UPDATE;
    IF FOUND THEN
        UPDATE crvs.consumer_offset SET next_offset = p_to, updated_at = now()
        WHERE consumer_group = p_group AND topic = p_topic AND partition = p_partition;
    ELSE
        INSERT INTO crvs.consumer_offset (consumer_group, topic, partition, next_offset)
        VALUES (p_group, p_topic, p_partition, p_to);
    END IF;
    DELETE FROM crvs.partition_fault
    WHERE consumer_group = p_group AND topic = p_topic AND partition = p_partition
    RETURNING * INTO f;
    INSERT INTO crvs.audit_log (service, action, entity, entity_key, source_topic,
                                source_partition, source_offset, detail)
    VALUES ('crvsctl', 'offset_reset', 'consumer_offset', p_group, p_topic, p_partition, p_to,
            jsonb_build_object('by', p_by, 'db_user', current_user, 'reason', p_reason,
                               'from', v_from, 'to', p_to,
                               'fault', CASE WHEN f.partition IS NULL THEN NULL
                                             ELSE jsonb_build_object(
                                                 'kind', f.kind, 'stored', f.stored_offset,
                                                 'log_start', f.log_start, 'log_end', f.log_end,
                                                 'missing', f.missing,
                                                 'detected_at', f.detected_at,
                                                 'detected_by', f.detected_by) END));
    RETURN v_from;
END
$$;

GRANT SELECT, INSERT ON crvs.partition_fault TO crvs_service;
