#!/usr/bin/env bash
# run.sh HARNESS SEEDS_TOOL WORKDIR REGRESSIONS: runs one libFuzzer harness
# for FUZZ_SECONDS (default 10) on its seeds (made by SEEDS_TOOL into
# WORKDIR/seeds when missing), its regression inputs and the corpus it grew
# before (WORKDIR/corpus/NAME, kept between runs), then prints one line of
# figures: executions, executions per second, coverage (edges) and features,
# corpus size, and the findings (crashes, leaks, timeouts of more than 30 s
# and out-of-memory inputs libFuzzer saved in WORKDIR/findings/NAME/; its
# "slow units" are kept there too but are no finding: on a loaded machine
# any input may take seconds). Exit status 0 when nothing was found.
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: run.sh HARNESS SEEDS_TOOL WORKDIR REGRESSIONS" >&2; exit 2; }
exe=$1 seeds_tool=$2 work=$3 regressions=$4
name=$(basename "$exe")
name=${name#fuzz_}
seconds=${FUZZ_SECONDS:-10}
seeds="$work/seeds/$name"
corpus="$work/corpus/$name"
findings="$work/findings/$name"
log="$work/$name.log"
mkdir -p "$work" "$corpus" "$findings"
[ -d "$seeds" ] || "$seeds_tool" "$work/seeds" >/dev/null
mkdir -p "$seeds"

# allocator_may_return_null: a garbage length makes avro-c try a huge
# allocation, which must fail, not abort (as in ./dev test's ASan build).
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
found() { find "$findings" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l; }
before=$(found)
status=0
"$exe" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$findings/" "$corpus" "$seeds" "$regressions" >"$log" 2>&1 || status=$?
after=$(found)

# "#123456 DONE cov: 1234 ft: 5678 corp: 90/12Kb ..." then the final stats.
done_line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1 || true)
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$done_line")
echo "fuzz $name: ${seconds} s, ${execs:-?} execs, ${rate:-?} exec/s, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, findings $((after - before)) (exit $status)"
if [ "$status" -ne 0 ] || [ "$after" -gt "$before" ]; then
    echo "fuzz $name: a finding; log $log, input(s) in $findings:" >&2
    grep -E 'ERROR|invariant broken|SUMMARY|Test unit written' "$log" | head -20 >&2 || true
    exit 1
fi
