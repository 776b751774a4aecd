#!/usr/bin/env bash
# Runs every libFuzzer target built in BUILD_DIR (default build-fuzz) for
# FUZZ_SECONDS each (default 60), one after another, and prints what each did:
# executions, coverage (cov = code edges, ft = features) and corpus size.
#
#   scripts/fuzz.sh [target...]      FUZZ_SECONDS=3600 scripts/fuzz.sh fuzz_tags
#
# The corpus a run grows is kept in BUILD_DIR/corpus/<target> and starts from
# the committed seeds in fuzz/corpus/<target> (plus, for fuzz_tags, tiny audio
# files made here with sox, flac, lame and ffmpeg). A crash, leak, timeout or
# sanitizer report stops with a failing status; the input is saved as
# BUILD_DIR/fuzz-artifacts/<target>-crash-<sha1> (replay: run the target on it).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
TARGETS=("$@")
if [[ ${#TARGETS[@]} -eq 0 ]]; then
  TARGETS=()
  for src in fuzz/fuzz_*.cpp; do TARGETS+=("$(basename "$src" .cpp)"); done
fi

# Tiny audio files (a tenth of a second) in every format fuzz_tags reads, with
# tags, so the fuzzer starts inside the parsers instead of at their front door.
make_audio_seeds() {
  local out=$1 tmp
  tmp=$(mktemp -d)
  sox -n -r 8000 -c 1 -b 16 "$tmp/tone.wav" synth 0.1 sine 440 2>/dev/null || return 0
  flac -s -f --best -T ARTIST=Fuzz -T ALBUM="Séance" -T TITLE=One -T TRACKNUMBER=1/2 \
    -T DATE=1999 -o "$out/seed.flac" "$tmp/tone.wav" || true
  lame --quiet -b 8 --tt One --ta Fuzz --tl Album --ty 1999 --tn 1/2 --add-id3v2 \
    "$tmp/tone.wav" "$out/seed.mp3" || true
  local meta=(-metadata artist=Fuzz -metadata album=Album -metadata title=One -metadata track=1/2)
  ffmpeg -v error -y -i "$tmp/tone.wav" "${meta[@]}" -c:a aac -b:a 16k "$out/seed.m4a" || true
  ffmpeg -v error -y -i "$tmp/tone.wav" "${meta[@]}" -c:a alac "$out/seed-alac.m4a" || true
  ffmpeg -v error -y -i "$tmp/tone.wav" "${meta[@]}" -c:a libvorbis "$out/seed.ogg" || true
  ffmpeg -v error -y -i "$tmp/tone.wav" "${meta[@]}" -ar 48000 -c:a libopus -b:a 6k \
    "$out/seed.opus" || true
  rm -rf "$tmp"
}

mkdir -p "$BUILD_DIR/fuzz-artifacts"
summary=()
status=0
for t in "${TARGETS[@]}"; do
  bin="$BUILD_DIR/fuzz/$t"
  [[ -x "$bin" ]] || { echo "fuzz.sh: $bin is not built (make fuzz builds it)" >&2; exit 2; }
  corpus="$BUILD_DIR/corpus/$t"
  mkdir -p "$corpus"
  [[ "$t" == fuzz_tags && -z "$(ls -A "$corpus")" ]] && make_audio_seeds "$corpus"
  seeds=()
  [[ -d "fuzz/corpus/$t" ]] && seeds+=("fuzz/corpus/$t")
  log="$BUILD_DIR/fuzz-artifacts/$t.log"
  echo "== $t: ${FUZZ_SECONDS}s"
  # -timeout: one input taking longer is a finding (fuzz_tags' own bound is 5 s).
  # -rss_limit_mb: the parsers must not balloon on small inputs.
  # -max_len: frames and bodies up to 64 KiB, audio files up to 64 KiB.
  if nice "$bin" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -timeout=30 \
      -rss_limit_mb=4096 -max_len=65536 -artifact_prefix="$BUILD_DIR/fuzz-artifacts/$t-" \
      "$corpus" "${seeds[@]}" >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
    echo "---- $t failed; the end of $log:"
    tail -n 60 "$log"
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  units=$(find "$corpus" -type f | wc -l)
  summary+=("$(printf '%-18s %-6s %10s runs %7s/s  cov %5s  ft %6s  corpus %5s' "$t" "$result" \
    "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$units")")
done
echo
echo "== fuzzing summary (${FUZZ_SECONDS}s each; logs in $BUILD_DIR/fuzz-artifacts/)"
printf '%s\n' "${summary[@]}"
exit $status
