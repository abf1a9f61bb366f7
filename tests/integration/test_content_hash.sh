#!/usr/bin/env bash
# The content hash a service computes in C (common/hub_jsonb.c) must be the
# one PostgreSQL computes for the same document, md5((document -
# 'event_id')::text), the hash every registry row stored so far carries:
# otherwise a record sent again after an upgrade would be a correction, not
# a duplicate. Compared on every test document and on generated documents
# (tests/support/json_docs.py: keys of one length, control characters,
# reals of every magnitude) sent to PostgreSQL as jansson writes them, as
# services did before.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
itest_setup

HASH="$MESON_BUILD_ROOT/tests/support/jsonb_hash"
[ -x "$HASH" ] || itest_fail "$HASH is not built"
docs=$ITEST_DIR/docs.jsonl
python3 "$MESON_SOURCE_ROOT/tests/support/json_docs.py" 42 20000 "$MESON_SOURCE_ROOT"/tests/data/*.jsonl >"$docs"
"$HASH" <"$docs" >"$ITEST_DIR/hashed.tsv"
total=$(wc -l <"$docs")
itest_assert_eq "$(wc -l <"$ITEST_DIR/hashed.tsv")" "$total" "documents hashed in C"

# jansson escapes every control character, so a raw \b never appears: it
# serves as the CSV quote that never quotes.
itest_psql "CREATE TABLE hashed (c_hash text, doc text)" >/dev/null
psql -XAtq -v ON_ERROR_STOP=1 -c "\\copy hashed FROM '$ITEST_DIR/hashed.tsv' WITH (FORMAT csv, DELIMITER E'\\t', QUOTE E'\\b')"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM hashed")" "$total" "documents loaded into PostgreSQL"
itest_assert_eq "$(itest_psql "SELECT count(*) FROM hashed WHERE c_hash = 'refused'")" 0 \
    "documents hub_jsonb refused"
differing=$(itest_psql "SELECT count(*) FROM hashed
                        WHERE c_hash <> md5((doc::jsonb - 'event_id')::text)")
if [ "$differing" != 0 ]; then
    itest_psql "SELECT left(doc, 300) FROM hashed
                WHERE c_hash <> md5((doc::jsonb - 'event_id')::text) LIMIT 3" >&2
fi
itest_assert_eq "$differing" 0 "documents whose hash differs from PostgreSQL's (of $total)"
