#!/usr/bin/env bash
# bench/import.sh OUTDIR — import pipeline (issue: import), all figures from one invocation:
#
#  1. End-to-end `barbossa import --json` (scan, tags, SHA-256, decide, move,
#     record; process start and migrations included) of the 100-album corpus
#     (`make_corpus.sh OUT 100 10`), page cache warm, with hyperfine. Every run
#     gets a fresh data dir and a fresh inbox made with `cp -al` (hardlinks:
#     the import renames the links, the corpus keeps its names) on the same
#     filesystem, so the import takes its rename path. albums/s = 100 / wall s.
#     Anchors in the same invocation, through ../shared/bench/bench_metadata.sh:
#     `beet import -A -q -C` (fresh library) and exiftool once per file on 20
#     albums (the original design's path).
#  2. SHA-256 throughput of media/sha256.h (bench/sha256_bench.cpp, threads 1
#     and 2) over every file of the corpus, with `openssl speed -evp sha256`
#     (the CPU's limit) and `sha256sum` (coreutils) over the same files.
#  3. Peak RSS (`/usr/bin/time -v`) of importing the 100- and the 200-album
#     corpus.
#
# Raw outputs go to OUTDIR; a markdown summary is printed and kept in
# OUTDIR/summary.md.
#
# Env: RUNS=5 (barbossa import runs)  ANCHOR_RUNS=3 (beets runs)  RSS_RUNS=3
#      SHA_ROUNDS=5  HASH_RUNS=3 (sha256sum runs)
#      CORPUS=/tmp/corpus-100  CORPUS2=/tmp/corpus-200 (generated when missing)
#      BUILD=/tmp/build-bench (configured and built when BIN is missing)
#      BIN=$BUILD/barbossa  SHA_BENCH=$BUILD/sha256_bench
#      WORK=/tmp/barbossa-import-bench (must be on the corpus' filesystem)
#      SHARED=../shared/bench  PY=/usr/bin/python3
#      PROFILE=1: also `perf record -g` (cpu-clock) one import into OUTDIR/perf.*
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:?usage: bench/import.sh OUTDIR}; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
SHARED=${SHARED:-$(cd "$ROOT/../shared/bench" && pwd)}
PY=${PY:-/usr/bin/python3}
RUNS=${RUNS:-5}; ANCHOR_RUNS=${ANCHOR_RUNS:-3}; RSS_RUNS=${RSS_RUNS:-3}
SHA_ROUNDS=${SHA_ROUNDS:-5}; HASH_RUNS=${HASH_RUNS:-3}; PROFILE=${PROFILE:-0}
CORPUS=${CORPUS:-/tmp/corpus-100}; CORPUS2=${CORPUS2:-/tmp/corpus-200}
BUILD=${BUILD:-/tmp/build-bench}
BIN=${BIN:-$BUILD/barbossa}; SHA_BENCH=${SHA_BENCH:-$BUILD/sha256_bench}
WORK=${WORK:-/tmp/barbossa-import-bench}
export LC_ALL=C.UTF-8

# ------------------------------------------------------------ prerequisites
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v beet >/dev/null || need+=(beets)
command -v exiftool >/dev/null || need+=(libimage-exiftool-perl)
[[ -x /usr/bin/time ]] || need+=(time)
if ((${#need[@]})); then
  apt-get update -qq && apt-get install -y --no-install-recommends "${need[@]}" >/dev/null
fi
if [[ ! -x "$BIN" || ! -x "$SHA_BENCH" ]]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$BUILD" barbossa sha256_bench
fi
[[ -d "$CORPUS" ]] || "$SHARED/make_corpus.sh" "$CORPUS" 100 10
[[ -d "$CORPUS2" ]] || "$SHARED/make_corpus.sh" "$CORPUS2" 200 10
CORPUS=$(cd "$CORPUS" && pwd); CORPUS2=$(cd "$CORPUS2" && pwd)
mkdir -p "$WORK"; WORK=$(cd "$WORK" && pwd)
if [[ $(stat -c %d "$WORK") != $(stat -c %d "$CORPUS") || $(stat -c %d "$WORK") != $(stat -c %d "$CORPUS2") ]]; then
  echo "WORK ($WORK) must be on the same filesystem as the corpora (cp -al, rename path)" >&2; exit 1
fi

count_files() { find "$1" -type f | wc -l; }
n_albums=$(find "$CORPUS" -mindepth 1 -maxdepth 1 -type d | wc -l)
n_albums2=$(find "$CORPUS2" -mindepth 1 -maxdepth 1 -type d | wc -l)
n_files=$(count_files "$CORPUS"); n_files2=$(count_files "$CORPUS2")
n_bytes=$(du -sb "$CORPUS" | cut -f1)

{
  echo "date_utc: $(date -u '+%Y-%m-%d %H:%M')"
  echo "git: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null) (dirty files: $(git -C "$ROOT" status --porcelain 2>/dev/null | wc -l))"
  echo "cpu: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), sha_ni: $(grep -m1 -o -w sha_ni /proc/cpuinfo || echo absent)"
  echo "kernel: $(uname -r)"
  echo "corpus: $CORPUS albums=$n_albums files=$n_files bytes=$n_bytes"
  echo "corpus2: $CORPUS2 albums=$n_albums2 files=$n_files2 bytes=$(du -sb "$CORPUS2" | cut -f1)"
  echo "tools: $(hyperfine --version); beets $(beet --version 2>/dev/null | head -1 | awk '{print $NF}'); exiftool $(exiftool -ver); $(openssl version | cut -d' ' -f1-2); $(sha256sum --version | head -1)"
  echo "loadavg_start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/env.txt"

warm() { find "$1" -type f -print0 | xargs -0 cat >/dev/null; }
warm "$CORPUS"; warm "$CORPUS2"

# prepare CORPUS: fresh data dir and a fresh hardlinked inbox
prep() {
  rm -rf "$WORK/data" "$WORK/inbox"; mkdir -p "$WORK/data"; cp -al "$1" "$WORK/inbox"
}
cat >"$WORK/prep.sh" <<EOF
#!/bin/bash
set -e
rm -rf '$WORK/data' '$WORK/inbox'; mkdir -p '$WORK/data'; cp -al "\$1" '$WORK/inbox'
# Flush the previous run's and this preparation's dirty metadata, so a run
# pays for its own fsyncs only.
sync
EOF
# The import itself: exit 2 (some albums went to review) is expected; 1 is not.
# Its log (stderr, default level) is kept too.
cat >"$WORK/import.sh" <<EOF
#!/bin/bash
'$BIN' --data-dir '$WORK/data' import --json '$WORK/inbox'/* > '$WORK/last.jsonl' 2> '$WORK/last.log'
rc=\$?; [[ \$rc -eq 0 || \$rc -eq 2 ]]
EOF
chmod +x "$WORK/prep.sh" "$WORK/import.sh"
IMPORT_CMD="$BIN --data-dir $WORK/data import --json $WORK/inbox/*"

# ------------------------------------------------------------ 1. end-to-end import
echo "== 1. barbossa import ($n_albums albums), $RUNS runs"
hyperfine --style basic --warmup 1 --runs "$RUNS" -N --export-json "$OUT/import.json" \
  --prepare "$WORK/prep.sh $CORPUS" -n "barbossa import --json (100 albums, move)" "$WORK/import.sh" \
  | tee "$OUT/import.txt"
cp "$WORK/last.jsonl" "$OUT/import_last.jsonl"
# check the corpus is intact (the inbox only held links)
[[ $(count_files "$CORPUS") == "$n_files" ]] || { echo "corpus $CORPUS changed!" >&2; exit 1; }

echo "== 1b. anchors: ../shared/bench/bench_metadata.sh MODES='perfile beets' RUNS=$ANCHOR_RUNS"
rm -f "$OUT/anchors/meta_perfile.json" "$OUT/anchors/meta_beets.json"
# Its summary step also wants the peralbum/tree JSON, which these modes do not
# write, so it fails after the measurements; the two JSON files are checked below.
MODES="perfile beets" RUNS="$ANCHOR_RUNS" "$SHARED/bench_metadata.sh" "$CORPUS" "$OUT/anchors" \
  >"$OUT/anchors.txt" 2>&1 || true
for f in meta_perfile.json meta_beets.json; do
  [[ -s "$OUT/anchors/$f" ]] || { echo "anchor $f missing, see $OUT/anchors.txt" >&2; tail -20 "$OUT/anchors.txt" >&2; exit 1; }
done
grep -m1 'beets library after import' "$OUT/anchors.txt" || true
perfile_albums=$(grep -o 'exiftool per file (original design), [0-9]* albums' "$OUT/anchors.txt" | head -1 | grep -o '[0-9]* albums' | cut -d' ' -f1)

# ------------------------------------------------------------ 2. SHA-256
echo "== 2. SHA-256"
"$SHA_BENCH" "$CORPUS" "$SHA_ROUNDS" | tee "$OUT/sha256_bench.txt"
openssl speed -seconds 2 -evp sha256 2>/dev/null | tail -3 | tee "$OUT/openssl_speed.txt"
find "$CORPUS" -type f -print0 | sort -z >"$WORK/files0"
hyperfine --style basic --warmup 1 --runs "$HASH_RUNS" --export-json "$OUT/sha256sum.json" \
  -n "sha256sum (coreutils, one process)" "xargs -0 sha256sum < '$WORK/files0' > /dev/null" | tee "$OUT/sha256sum.txt"

# ------------------------------------------------------------ 3. peak RSS, 100 vs 200 albums
echo "== 3. peak RSS, $RSS_RUNS runs each"
: >"$OUT/rss.tsv"
for r in $(seq "$RSS_RUNS"); do
  for c in "$CORPUS" "$CORPUS2"; do
    n=$(find "$c" -mindepth 1 -maxdepth 1 -type d | wc -l)
    prep "$c"
    rc=0
    /usr/bin/time -v -o "$OUT/time_${n}_$r.txt" "$BIN" --data-dir "$WORK/data" import --json "$WORK/inbox"/* \
      >"$OUT/import_${n}_$r.jsonl" 2>"$OUT/import_${n}_$r.log" || rc=$?
    [[ $rc -eq 0 || $rc -eq 2 ]] || { echo "import of $c failed (exit $rc)" >&2; exit 1; }
    kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$OUT/time_${n}_$r.txt")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$OUT/time_${n}_$r.txt")
    cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$OUT/time_${n}_$r.txt")
    printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$r" "$kb" "$wall" "$cpu" | tee -a "$OUT/rss.tsv"
  done
done

# ------------------------------------------------------------ optional profile
if [[ "$PROFILE" == 1 ]]; then
  # On-CPU: perf record with the cpu-clock software event. Off-CPU (the wall
  # time the import spends waiting): perf trace -s, syscall time per thread.
  echo "== perf record -g (cpu-clock) and perf trace -s of one 100-album import each"
  prep "$CORPUS"
  perf record -e cpu-clock -F 2000 -g -o "$OUT/perf.data" -- "$BIN" --data-dir "$WORK/data" import --json \
    "$WORK/inbox"/* >/dev/null 2>"$OUT/perf_record.txt" || true
  # (no `| head` under pipefail: SIGPIPE would end the script)
  perf report -i "$OUT/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null >"$OUT/perf_dso.txt" || true
  perf report -i "$OUT/perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null \
    | cut -c1-160 >"$OUT/perf_self.txt" || true
  perf report -i "$OUT/perf.data" --children --sort symbol --stdio -g none 2>/dev/null \
    | cut -c1-160 >"$OUT/perf_children.txt" || true
  prep "$CORPUS"
  perf trace -s -o "$OUT/perf_trace.txt" -- "$BIN" --data-dir "$WORK/data" import --json "$WORK/inbox"/* \
    >/dev/null 2>&1 || true
  "$PY" - "$OUT/perf_trace.txt" <<'PYEOF' | tee "$OUT/perf_trace_summary.txt"
import collections, re, sys
per = collections.defaultdict(collections.Counter); calls = collections.Counter(); cur = None
for l in open(sys.argv[1]):
    m = re.match(r"\s*\S+ \((\d+)\), \d+ events", l)
    if m:
        cur = int(m.group(1)); continue
    m = re.match(r"\s+(\w+)\s+(\d+)\s+(\d+)\s+([\d.]+)", l)
    if m and cur is not None:
        per[cur][m.group(1)] += float(m.group(4)); calls[m.group(1)] += int(m.group(2))
main = min(per) if per else None
if main is not None:
    print(f"threads: {len(per)}; main thread {main}, syscall wall ms (calls over all threads):")
    print("  " + ", ".join(f"{k} {v:.0f} ({calls[k]})" for k, v in per[main].most_common(10)))
    tot = collections.Counter()
    for c in per.values(): tot.update(c)
    print("all threads: " + ", ".join(f"{k} {v:.0f}" for k, v in tot.most_common(8)))
PYEOF
fi
rm -rf "$WORK/data" "$WORK/inbox"
echo "loadavg_end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/env.txt"

# ------------------------------------------------------------ summary
"$PY" - "$OUT" "$n_albums" "$n_files" "$n_bytes" "${perfile_albums:-20}" <<'PYEOF' | tee "$OUT/summary.md"
import json, re, statistics, sys, collections
out, na, nf, nb, pa = sys.argv[1], *map(int, sys.argv[2:])

def hf(name):
    r = json.load(open(f"{out}/{name}"))["results"][0]
    return min(r["times"]), statistics.median(r["times"]), len(r["times"]), r["user"] + r["system"]

imp = hf("import.json"); beets = hf("anchors/meta_beets.json"); perfile = hf("anchors/meta_perfile.json")
st = collections.Counter(json.loads(l)["status"] for l in open(f"{out}/import_last.jsonl") if l.strip())
b_line = next((l.strip() for l in open(f"{out}/anchors.txt") if l.startswith("beets library after import")), "")
rate = lambda n, t: n / t
bi_best, bi_med = rate(na, imp[0]), rate(na, imp[1])
be_best, be_med = rate(na, beets[0]), rate(na, beets[1])
pf_best, pf_med = rate(pa, perfile[0]), rate(pa, perfile[1])
ok = lambda c: "**met**" if c else "**not met**"
env = dict(l.rstrip("\n").split(": ", 1) for l in open(f"{out}/env.txt") if ": " in l)
print(f"Run of {env.get('date_utc', '?')} UTC, git {env.get('git', '?')}; load average at start "
      f"{env.get('loadavg_start', '?')}, at end {env.get('loadavg_end', '?')} (1/5/15 min; 2 cores).\n")

print("### 1. End-to-end import, 100 albums (%d files, %.0f MB), page cache warm\n" % (nf, nb / 1e6))
print("| command | runs | min s | median s | CPU s (user+sys, mean) | albums/s (best / median) | target |")
print("|---|---|---|---|---|---|---|")
print(f"| `barbossa import --json` (move) | {imp[2]} | {imp[0]:.3f} | {imp[1]:.3f} | {imp[3]:.2f} | **{bi_best:.1f} / {bi_med:.1f}** | ≥ 100 albums/s: {ok(bi_med >= 100)} |")
print(f"| `beet import -A -q -C` (fresh library) | {beets[2]} | {beets[0]:.3f} | {beets[1]:.3f} | {beets[3]:.2f} | {be_best:.1f} / {be_med:.1f} | |")
print(f"| exiftool per file (original design), {pa} albums | {perfile[2]} | {perfile[0]:.3f} | {perfile[1]:.3f} | {perfile[3]:.2f} | {pf_best:.2f} / {pf_med:.2f} | |")
print(f"| **ratio** Barbossa / beets (median) | | | | | **{bi_med / be_med:.2f}×** | ≥ 2×: {ok(bi_med / be_med >= 2)} |")
print(f"| **ratio** Barbossa / exiftool per file (median) | | | | | **{bi_med / pf_med:.0f}×** | ≥ 80×: {ok(bi_med / pf_med >= 80)} |")
print(f"\nBarbossa decisions (last run): " + ", ".join(f"{k} {v}" for k, v in sorted(st.items())) + f". {b_line}\n")

print("### 2. SHA-256 over the same files\n")
sha = [json.loads(l[5:]) for l in open(f"{out}/sha256_bench.txt") if l.startswith("JSON ")]
ossl = open(f"{out}/openssl_speed.txt").read().split("\n")
line = next((l for l in ossl if l.lower().startswith("sha256")), "")
vals = re.findall(r"([\d.]+)k", line)
ossl_gbs = float(vals[-1]) * 1000 / 1e9 if vals else float("nan")
ss = hf("sha256sum.json")
print("| method | files | GB/s (wall, best) | GB/s per core | target |")
print("|---|---|---|---|---|")
for s in sha:
    tgt = f"≥ 1.5 GB/s per core: {ok(s['gb_s_per_core_cpu'] >= 1.5)}" if s["mode"] != "sha256_file loop" else ""
    print(f"| `{s['mode']}` | {s['files']} | {s['gb_s']:.2f} | **{s['gb_s_per_core_cpu']:.2f}** (CPU time); {s['gb_s_per_core_wall']:.2f} (wall / threads) | {tgt} |")
print(f"| `openssl speed -evp sha256`, 16 KiB blocks (CPU limit) | – | {ossl_gbs:.2f} | {ossl_gbs:.2f} | |")
best_pc = max((s["gb_s_per_core_cpu"] for s in sha if s["mode"] != "sha256_file loop"), default=float("nan"))
print(f"| `sha256sum` (coreutils), {ss[2]} runs | {nf} | {nb / ss[0] / 1e9:.2f} (median {nb / ss[1] / 1e9:.2f}) | {nb / ss[0] / 1e9:.2f} | |")
print(f"\nBest `sha256_files` per core = {best_pc / ossl_gbs * 100:.0f} % of `openssl speed` in this run; "
      f"{best_pc / (nb / ss[0] / 1e9):.1f}× `sha256sum`. (Per core = bytes / CPU seconds of the process, "
      f"so it includes the read() copy from the page cache, which `openssl speed` does not.)")

print("\n### 3. Peak RSS of the import, 100 vs 200 albums\n")
rows = collections.defaultdict(list)
for l in open(f"{out}/rss.tsv"):
    n, r, kb, wall, cpu = l.rstrip("\n").split("\t")
    m, s_ = wall.split(":")[-2:]
    rows[int(n)].append((int(kb), int(m) * 60 + float(s_), float(cpu)))
ks = sorted(rows)
print("| corpus | runs | peak RSS MiB (median; min–max) | wall s (median) | CPU s (median) | albums/s (median wall) | target |")
print("|---|---|---|---|---|---|---|")
med = {}
for n in ks:
    kbs = [k for k, _, _ in rows[n]]; ws = [w for _, w, _ in rows[n]]; cs = [c for _, _, c in rows[n]]
    med[n] = statistics.median(kbs)
    print(f"| {n} albums | {len(kbs)} | {med[n] / 1024:.1f} ({min(kbs) / 1024:.1f}–{max(kbs) / 1024:.1f}) | {statistics.median(ws):.2f} | {statistics.median(cs):.2f} | {n / statistics.median(ws):.1f} | |")
if len(ks) == 2:
    g = med[ks[1]] / med[ks[0]] - 1
    print(f"| **growth** 200 vs 100 | | **{g * 100:+.1f} %** | | | | ≤ +20 %: {ok(g <= 0.20)} |")
PYEOF
