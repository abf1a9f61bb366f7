#!/usr/bin/env bash
# Released migrations are never edited (docs/operations.md, "Upgrade"):
# - every file schemas/sql/released.sha256 lists is there with that digest;
# - every .sql file there is one crvsctl migrate applies (NNN_name.sql), and
#   no two share a number;
# - with the git history: each release in schemas/sql/RELEASES is a commit
#   whose migration files are all listed in released.sha256 with their
#   digests there, so the current files are a superset of every release's,
#   unchanged; and released.sha256 lists no file that is in no release.
# No servers; the git part is left out, saying so, when the history is not
# there (a shallow or exported checkout).
set -euo pipefail
SRC=${MESON_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
SQL=$SRC/schemas/sql
MANIFEST=$SQL/released.sha256
RELEASES=$SQL/RELEASES
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

[ -s "$MANIFEST" ] || { echo "FAIL: $MANIFEST is missing or empty" >&2; exit 1; }
[ -s "$RELEASES" ] || { echo "FAIL: $RELEASES is missing or empty" >&2; exit 1; }

# The released files, unchanged.
while read -r sum name; do
    [[ $sum =~ ^[0-9a-f]{64}$ && $name =~ ^[0-9]{3}_[^/]*\.sql$ ]] \
        || { fail "released.sha256: line '$sum $name' is not 'SHA256  NNN_name.sql'"; continue; }
    if [ ! -f "$SQL/$name" ]; then
        fail "schemas/sql/$name was released and is gone: restore it as released (released files are never removed)"
    elif [ "$(sha256sum <"$SQL/$name" | cut -d' ' -f1)" != "$sum" ]; then
        fail "schemas/sql/$name was released and has changed: restore it (git checkout of the release's version) and put the change in a new numbered file"
    fi
done <"$MANIFEST"

# What migrate applies: every .sql file, numbers unique.
for f in "$SQL"/*.sql; do
    name=${f##*/}
    [[ $name =~ ^[0-9]{3}_[^/]*\.sql$ ]] \
        || fail "schemas/sql/$name is not named NNN_name.sql: crvsctl migrate would never apply it"
done
dups=$(cd "$SQL" && ls [0-9][0-9][0-9]_*.sql | cut -c1-3 | uniq -d | paste -sd' ')
[ -z "$dups" ] || fail "migrations share a number ($dups): give the newer file the next free number"

# Against the git history.
git_ok=1
git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1 || { git_ok=0; echo "note: $SRC is no git checkout: releases not checked against their commits"; }
released_names=()
lineno=0
while read -r line; do
    lineno=$((lineno + 1))
    case "$line" in '' | '#'*) continue ;; esac
    read -r version commit rest <<<"$line"
    [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ && $commit =~ ^[0-9a-f]{40}$ && -z $rest ]] \
        || { fail "RELEASES:$lineno: '$line' is not 'VERSION COMMIT' (40 hex digits)"; continue; }
    [ $git_ok -eq 1 ] || continue
    if ! git -C "$SRC" cat-file -e "$commit^{commit}" 2>/dev/null; then
        echo "note: release $version ($commit) is not in the git history here (a shallow or exported checkout): not checked against its commit"
        continue
    fi
    while read -r path; do
        name=${path##*/}
        [[ $name =~ ^[0-9]{3}_[^/]*\.sql$ ]] || continue
        released_names+=("$name")
        sum=$(git -C "$SRC" show "$commit:$path" | sha256sum | cut -d' ' -f1)
        grep -qx "$sum  $name" "$MANIFEST" \
            || fail "release $version's $name is not in released.sha256 with its digest $sum: list it (and keep the file as released)"
    done < <(git -C "$SRC" ls-tree --name-only "$commit" schemas/sql/)
done <"$RELEASES"
if [ ${#released_names[@]} -gt 0 ]; then
    while read -r _ name; do
        printf '%s\n' "${released_names[@]}" | grep -qx "$name" \
            || fail "released.sha256 lists $name, which no release in RELEASES has"
    done <"$MANIFEST"
fi

if [ $failures -gt 0 ]; then
    echo "$failures problem(s) with the released migrations (docs/operations.md, \"Upgrade\")" >&2
    exit 1
fi
echo "ok: $(grep -c . "$MANIFEST") released migration files unchanged, $(cd "$SQL" && ls [0-9][0-9][0-9]_*.sql | wc -l) in all"
