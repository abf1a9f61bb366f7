#!/usr/bin/env bash
# A record PostgreSQL refuses never stops the service: it becomes a dead
# letter whose text names the SQLSTATE and the objects, never the values
# PostgreSQL's message, DETAIL and CONTEXT quote; a dead letter PostgreSQL
# refuses is written again without the document's text; a source_system cut
# inside a character is stored as valid text. Then every log line, dead-letter
# message and audit detail is scanned for the personal IDs and names published.
#
# The refusals are made by test-only constraints and a trigger, as a future
# migration or a hand-made constraint in production would make them.
set -euo pipefail
. "$(dirname "$0")/hub.sh"
hub_setup

"$CTL" loadgen --topic birth-certificate --count 8 --seed 21 > "$ITEST_DIR/valid.jsonl"
"$CTL" loadgen --topic birth-certificate --count 2 --seed 22 --start 100 > "$ITEST_DIR/base.jsonl"
line() { sed -n "$1p" "$2"; }
refused_id=$(line 2 "$ITEST_DIR/valid.jsonl" | jq -r .mother.personal_id)
raising_cert=$(line 5 "$ITEST_DIR/valid.jsonl" | jq -r .certificate_number)
# Two records a rule refuses (born in the future), from systems whose names
# the dead letter cannot keep: one the database refuses, one 63 ASCII bytes
# and a 3-byte character, longer than the 64 bytes the service keeps for it.
future='.child.birth_time = "2031-01-01T00:00:00Z" | .issued_at = "2031-01-02T00:00:00Z"'
line 1 "$ITEST_DIR/base.jsonl" | jq -c "$future | .source_system = \"HOSTILE-his\"" > "$ITEST_DIR/hostile.jsonl"
long_system="$(printf 'A%.0s' $(seq 63))ễ"
line 2 "$ITEST_DIR/base.jsonl" | jq -c --arg s "$long_system" "$future | .source_system = \$s" > "$ITEST_DIR/long.jsonl"

itest_psql "
ALTER TABLE crvs.birth_certificate
    ADD CONSTRAINT test_refuse_mother CHECK (mother_personal_id IS DISTINCT FROM '$refused_id');
CREATE FUNCTION test_raise() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
    IF NEW.certificate_number = '$raising_cert' THEN
        RAISE EXCEPTION 'refusing % %', NEW.mother_name, NEW.mother_personal_id
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'mother ' || NEW.mother_personal_id;
    END IF;
    RETURN NEW;
END \$\$;
CREATE TRIGGER test_raise BEFORE INSERT ON crvs.birth_certificate
    FOR EACH ROW EXECUTE FUNCTION test_raise();
ALTER TABLE crvs.dead_letter
    ADD CONSTRAINT test_refuse_system CHECK (source_system NOT LIKE 'HOSTILE%');" -U crvs_admin >/dev/null

hub_start_service birth-certificate
pid=$(cat "$ITEST_DIR/birth-certificate.1.pid")
cat "$ITEST_DIR/valid.jsonl" "$ITEST_DIR/hostile.jsonl" "$ITEST_DIR/long.jsonl" > "$ITEST_DIR/all.jsonl"
hub_ctl publish --topic birth-certificate "$ITEST_DIR/all.jsonl" >/dev/null
hub_wait_stored 60
itest_pid_alive "$pid" || itest_fail "the service stopped on a refused record"

itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.birth_certificate")" 6 "certificates stored"
itest_assert_eq "$(itest_psql "SELECT string_agg(reason, ',' ORDER BY reason) FROM crvs.dead_letter")" \
    "db.refused,db.refused,validation.future_date,validation.future_date" "dead-letter reasons"
itest_assert_eq "$(itest_psql "SELECT string_agg(split_part(message, ' ', 1), ',' ORDER BY message)
                               FROM crvs.dead_letter WHERE reason = 'db.refused'")" \
    "sqlstate=22023,sqlstate=23514" "refusals by SQLSTATE"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM crvs.dead_letter
                               WHERE message LIKE '%condition=check_violation schema=crvs table=birth_certificate constraint=test_refuse_mother%'")" 1 \
    "the check refusal names its condition, table and constraint"
# The dead letter the database refused: kept, with the refusal as message.
itest_assert_eq "$(itest_psql "SELECT coalesce(source_system, '-') || ' ' || (message LIKE '%refused by the database (sqlstate=23514%constraint=test_refuse_system%')
                               FROM crvs.dead_letter WHERE reason = 'validation.future_date' AND source_system IS NULL")" \
    "- true" "a refused dead letter is written without its text"
grep -q 'event=dead_letter_refused' "$ITEST_DIR"/birth-certificate.1.log || itest_fail "no dead_letter_refused event in the log"
# The system name cut to the service's 64 bytes before the character that
# does not fit whole: valid text.
itest_assert_eq "$(itest_psql "SELECT source_system = repeat('A', 63)
                               FROM crvs.dead_letter WHERE source_system LIKE 'AAA%'")" "t" "cut source_system stored as valid text"
# Everything published is accounted for, the partitions moved on.
itest_assert_eq "$(itest_psql "SELECT sum(next_offset) FROM crvs.consumer_offset WHERE topic = 'birth-certificate'")" 10 \
    "stored offsets past every message"

# No personal ID or name of any published record in what operators read.
itest_psql "SELECT reason || ' ' || message FROM crvs.dead_letter" > "$ITEST_DIR/dead_letters.txt"
itest_psql "SELECT coalesce(detail::text, '') FROM crvs.audit_log" > "$ITEST_DIR/audit_detail.txt"
jq -r '[.mother.personal_id, .mother.name, .child.personal_id, .child.name, .father.personal_id, .father.name]
       | map(select(. != null and . != "")) | .[]' "$ITEST_DIR/all.jsonl" | sort -u > "$ITEST_DIR/personal.txt"
[ -s "$ITEST_DIR/personal.txt" ] || itest_fail "no personal data in the published records to look for"
for f in "$ITEST_DIR"/birth-certificate.1.log "$ITEST_DIR/dead_letters.txt" "$ITEST_DIR/audit_detail.txt"; do
    if grep -qE '[0-9]{12}' "$f"; then itest_fail "$(basename "$f") holds a 12-digit number"; fi
    if grep -qFf "$ITEST_DIR/personal.txt" "$f"; then itest_fail "$(basename "$f") holds a published ID or name"; fi
done
itest_log "ok: no personal ID or name in the log, dead-letter messages or audit details"
itest_log "ok"
