#!/usr/bin/env bash
# Prints the table of a benchmark result file (bench/run.sh writes them):
#
#   bench/report.sh bench/results/FILE.json
#
# Per topic: the hub run (one instance), the COPY limit of the same rows and
# the ratio, the peer (a plain at-least-once consumer) on the same records and
# the ratio, two instances, and the produce-to-committed latency per rate.
set -euo pipefail
if [ $# -ne 1 ] || [ ! -f "$1" ]; then echo "usage: bench/report.sh RESULTS.json" >&2; exit 2; fi
jq -r '
  def f(d): if . == null then "-" else (. * pow(10; d) | round / pow(10; d) | tostring) end;
  "machine: \(.machine.cpu), \(.machine.cores) cores, PostgreSQL \(.machine.postgresql); commit \(.commit); \(.when)",
  (if .broker then "broker: \(.broker)" else empty end),
  (if .service then "service: batch.max.messages \(.service.batch_max_messages), batch.linger.ms \(.service.batch_linger_ms)" else empty end),
  (.results as $r | ($r | map(.topic) | unique)[] as $t |
    ($r | map(select(.topic == $t))) as $x |
    ($x | map(select(.kind == "hub" and .label == "hub"))[0]) as $h |
    ($x | map(select(.kind == "limit"))[0]) as $l |
    ($x | map(select(.kind == "hub" and .label == "two_instances"))[0]) as $two |
    ($x | map(select(.kind == "peer"))[0]) as $p |
    ($x | map(select(.kind == "linker"))[0]) as $k |
    "",
    "\($t)",
    "  hub, 1 instance     \($h.records) records in \($h.seconds | f(1)) s: \($h.records_per_s | f(0)) records/s, service CPU \($h.service_cpu_s_per_1k | f(3)) s/1000, PostgreSQL CPU \($h.postgres_cpu_s_per_1k | f(3)) s/1000\(if $h.broker_cpu_s_per_1k then ", broker CPU \($h.broker_cpu_s_per_1k | f(3)) s/1000" else "" end), RSS peak \($h.rss_peak_mib | f(1)) MiB (end \($h.rss_end_mib | f(1)))",
    "                      \($h.batches) batches of \($h.records_per_batch | f(0)) records on average; \($h.transaction_time_share | if . == null then null else . * 100 end | f(1)) % of the time inside batch transactions",
    (if $h.linked_records_per_s then
      "  linked              persons and marriages final for all \($h.records) records after \($h.linked_seconds | f(1)) s: \($h.linked_records_per_s | f(0)) records/s"
     else empty end),
    (if ($h.progress // []) | length > 1 then
      "  progress            records/s by tenth of the run: " +
      ([$h.progress as $pr | range(1; 11) | ($pr | length) as $n | (($n * . / 10) | floor) as $i
        | select($i >= 1) | [$pr[$i - 1], (if $i - 1 - ($n / 10 | floor) >= 0 then $pr[$i - 1 - ($n / 10 | floor)] else {seconds: 0, stored: 0} end)]
        | (.[0].stored - .[1].stored) / ((.[0].seconds - .[1].seconds) | if . == 0 then 1 else . end) | f(0)] | join(", "))
     else empty end),
    (if $k then
      "  linker catch-up     \($k.records) records queued by ingest without the linker (\($k.ingest_without_linker_per_s | f(0)) records/s), folded in \($k.catchup_seconds | f(1)) s: \($k.catchup_per_s | f(0)) records/s (\($k.catchup_per_s / $k.ingest_without_linker_per_s | f(2)) x the ingest rate)"
     else empty end),
    "  limit (COPY)        registry \($l.rows.registry) + audit \($l.rows.audit) + dead letters \($l.rows.dead_letter) rows: \($l.records_per_s | f(0)) records/s; with person facts and linked records \($l.with_linkage_facts.records_per_s | f(0)) records/s",
    "  hub / limit         \(if $h and $l then ($h.records_per_s / $l.records_per_s * 100 | f(1)) + " %" else "-" end)",
    (if $p then
      "  peer (Python)       \($p.records) records\(if $p.records < $p.hub_records then " (the last of \($p.hub_records), all the broker kept)" else "" end) in \($p.seconds | f(1)) s: \($p.records_per_s | f(0)) records/s, its CPU \($p.service_cpu_s_per_1k | f(3)) s/1000, PostgreSQL CPU \($p.postgres_cpu_s_per_1k | f(3)) s/1000",
      "  hub / peer          \($p.hub_over_peer | f(2)) x"
     else empty end),
    "  hub, 2 instances    \($two.records) records: \($two.records_per_s | f(0)) records/s (\(if $two and $h then ($two.records_per_s / $h.records_per_s | f(2)) else "-" end) x one instance), RSS peak \($two.rss_peak_mib | f(1)) MiB",
    "  latency (ms)        rate/s  achieved      p50      p95      p99      max   linker p50   p99      max",
    ($x | map(select(.kind == "latency")) | sort_by(.rate)[] |
      "                      \(.rate | tostring | (" " * (6 - length)) + .)  \(.produced_per_s | f(0) | (" " * (8 - length)) + .) \([.ms.p50, .ms.p95, .ms.p99, .ms.max] | map(f(1) | (" " * (8 - length)) + .) | join(" "))   \([.linker_ms.p50, .linker_ms.p99, .linker_ms.max] | map(f(1) | (" " * (8 - length)) + .) | join(" "))"),
    ($x | map(select(.kind == "latency" and .rate == 1000))[0]) as $l1k |
    "  targets             hub >= 80 % of limit: \(if $h and $l then (if $h.records_per_s >= 0.8 * $l.records_per_s then "met" else "MISSED" end) else "-" end); p99 <= 50 ms at 1000/s: \(if $l1k then (if $l1k.ms.p99 <= 50 then "met" else "MISSED" end) + " (\($l1k.ms.p99 | f(1)) ms)" else "not measured" end); RSS <= 64 MiB: \(if $h then (if $h.rss_peak_mib <= 64 then "met" else "MISSED" end) else "-" end)",
    "                      hub >= 50 % of limit: \(if $h and $l then (if $h.records_per_s >= 0.5 * $l.records_per_s then "met" else "MISSED" end) else "-" end); hub >= 2 x peer: \(if $p then (if $p.hub_over_peer >= 2 then "met" else "MISSED" end) else "not measured" end); 2 instances >= 1.7 x: \(if $two and $h then (if $two.records_per_s >= 1.7 * $h.records_per_s then "met" else "MISSED" end) else "-" end)",
    "                      linker p99 <= 1 s at 1000/s: \(if $l1k and $l1k.linker_ms.p99 then (if $l1k.linker_ms.p99 <= 1000 then "met" else "MISSED" end) + " (\($l1k.linker_ms.p99 | f(0)) ms)" else "not measured" end); catch-up >= ingest: \(if $k then (if $k.catchup_per_s >= $k.ingest_without_linker_per_s then "met" else "MISSED" end) else "not measured" end)"
  )' "$1"
