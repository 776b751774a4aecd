#!/usr/bin/env bash
# bench/before_after.sh BEFORE_BIN AFTER_BIN OUTDIR — for a change that must
# not move performance (a refactor): the import bench (bench/import.sh:
# end-to-end import, SHA-256, peak RSS) and the fan-out bench
# (bench/ws_fanout.sh, Barbossa only) for the binary before and after, in one
# invocation on one idle machine. Import runs before then after; fan-out runs
# before, after, after, before, so a drift of the machine during the run
# shows as a difference between the two runs of one binary rather than
# landing on one side.
#
# Each BIN's folder must also hold its sha256_bench. Build both as
# RelWithDebInfo, e.g. `git worktree add /tmp/before <rev>` and
# `cmake -S /tmp/before -B /tmp/build-before -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
#  && ninja -C /tmp/build-before barbossa sha256_bench`.
#
# Env: passed through to the two benches (RUNS, ANCHOR_RUNS=1, RSS_RUNS=2, CONNS, ...).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BEFORE=${1:?usage: bench/before_after.sh BEFORE_BIN AFTER_BIN OUTDIR}
AFTER=${2:?usage}; OUT=${3:?usage}; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
export ANCHOR_RUNS=${ANCHOR_RUNS:-1} RSS_RUNS=${RSS_RUNS:-2}

import_bench() { # NAME BIN
  BIN="$2" SHA_BENCH="$(dirname "$2")/sha256_bench" "$ROOT/bench/import.sh" "$OUT/import_$1" \
    >"$OUT/import_$1.log" 2>&1
}
fanout_bench() { # NAME BIN
  BIN="$2" BASELINE=0 FASTSERVER=0 "$ROOT/bench/ws_fanout.sh" "$OUT/fanout_$1" >"$OUT/fanout_$1.log" 2>&1
}

echo "date_utc: $(date -u '+%Y-%m-%d %H:%M')  loadavg: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/summary.txt"
import_bench before "$BEFORE"
import_bench after "$AFTER"
fanout_bench before1 "$BEFORE"
fanout_bench after1 "$AFTER"
fanout_bench after2 "$AFTER"
fanout_bench before2 "$BEFORE"

{
  for side in before after; do
    echo "== import, $side"
    grep -E 'Time \(mean|Range' "$OUT/import_$side/import.txt" || true
    awk -F'\t' '{kb[$1] = (kb[$1] > $3 ? kb[$1] : $3)} END {for (n in kb) printf "peak RSS %s albums: %d MiB\n", n, kb[n] / 1024}' \
      "$OUT/import_$side/rss.tsv"
    grep -E '^sha256_files' "$OUT/import_$side/sha256_bench.txt" || true
  done
  for run in before1 after1 after2 before2; do
    echo "== fan-out, $run"
    grep -E '^barbossa' "$OUT/fanout_$run/summary.txt" || true
  done
  echo "loadavg_end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee -a "$OUT/summary.txt"
