#!/usr/bin/env bash
# bench/integrity.sh OUTDIR — integrity verification throughput (issue 4):
#
#  `barbossa verify --json --threads T` (the same code as the verify-integrity
#  job: keyset pages of tracks, streaming SHA-256 on T threads, one write per
#  page marking tracks verified, the report stored) over a library made by
#  importing the bench corpus with `barbossa import --copy`, page cache warm,
#  with hyperfine; GB/s = library audio bytes / wall seconds, process start
#  and database work included. In the same invocation, over the same files:
#  the original design's Python hashing (../shared/bench/hash_original.py,
#  whole-file read and 8 KiB chunks) and `sha256sum`, through
#  ../shared/bench/bench_hash.sh, plus `openssl speed -evp sha256` (one
#  core's limit).
#
# Env: RUNS=5  THREADS="1 2"  CORPUS=/tmp/corpus-100 (generated when missing)
#      BUILD=/tmp/build-bench  BIN=$BUILD/barbossa  WORK=/tmp/barbossa-integrity-bench
#      SHARED=../shared/bench
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:?usage: bench/integrity.sh OUTDIR}; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
SHARED=${SHARED:-$(cd "$ROOT/../shared/bench" && pwd)}
RUNS=${RUNS:-5}; THREADS=${THREADS:-"1 2"}
CORPUS=${CORPUS:-/tmp/corpus-100}
BUILD=${BUILD:-/tmp/build-bench}; BIN=${BIN:-$BUILD/barbossa}
WORK=${WORK:-/tmp/barbossa-integrity-bench}

if [ ! -x "$BIN" ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja >/dev/null && ninja -C "$BUILD" barbossa
fi
[ -d "$CORPUS" ] || "$SHARED/make_corpus.sh" "$CORPUS" 100 10

rm -rf "$WORK"; mkdir -p "$WORK"
DATA=$WORK/data
"$BIN" --data-dir "$DATA" import --copy --json "$CORPUS"/*/ > "$OUT/import.jsonl" || true
imported=$(grep -c '"imported"' "$OUT/import.jsonl" || true)
LIB=$DATA/library
bytes=$(find "$LIB" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
# verify hashes tracks only; the baselines hash every file (extras included).
track_bytes=$(find "$LIB" -type f \( -iname '*.flac' -o -iname '*.mp3' -o -iname '*.m4a' -o -iname '*.ogg' -o -iname '*.opus' -o -iname '*.wav' \) -printf '%s\n' | awk '{s+=$1} END {print s}')
files=$(find "$LIB" -type f | wc -l)
find "$LIB" -type f -print0 | xargs -0 cat > /dev/null   # warm the page cache

cmds=()
for t in $THREADS; do
  cmds+=(-n "barbossa verify --threads $t" "'$BIN' --data-dir '$DATA' verify --json --threads $t > /dev/null")
done
hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$OUT/verify.json" "${cmds[@]}"
"$BIN" --data-dir "$DATA" verify --json --threads 2 > "$OUT/report.json"
RUNS=$RUNS "$SHARED/bench_hash.sh" "$LIB" "$OUT" > "$OUT/bench_hash.log" 2>&1

/usr/bin/python3 - "$OUT" "$bytes" "$files" "$imported" "$track_bytes" <<'PY' | tee "$OUT/summary.md"
import json, re, statistics, sys
out, b, files, albums, tb = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
rows = []
for name in ("verify.json", "hash.json"):
    for r in json.load(open(f"{out}/{name}"))["results"]:
        ts = r["times"]
        nbytes = tb if name == "verify.json" else b
        rows.append((r["command"], len(ts), min(ts), statistics.median(ts), nbytes))
report = json.load(open(f"{out}/report.json"))
print(f"library: {albums} albums, {files} files, {b/1e6:.1f} MB ({tb/1e6:.1f} MB of tracks); report: checked {report['checked']}, "
      f"missing {len(report['missing'])}, mismatched {len(report['mismatched'])}\n")
print("| method | runs | min s | median s | GB/s (best / median) |\n|---|---|---|---|---|")
for cmd, n, mn, md, nb in rows:
    print(f"| {cmd} | {n} | {mn:.3f} | {md:.3f} | {nb/mn/1e9:.2f} / {nb/md/1e9:.2f} |")
best = {cmd: nb / mn / 1e9 for cmd, n, mn, md, nb in rows}
ours = max(v for k, v in best.items() if k.startswith("barbossa"))
py = max(v for k, v in best.items() if k.startswith("python"))
ss = best.get("sha256sum", 0)
print(f"\nbest barbossa: {ours:.2f} GB/s = {ours/py:.2f}x Python (target 2x), "
      f"{ours/ss:.1f}x sha256sum (target 6x); target >= 2.5 GB/s")
ossl = open(f"{out}/openssl.txt").read().splitlines()[-1].split()
print(f"openssl speed -evp sha256, 16 KiB column: {ossl[-2]} (one core's limit)")
PY
