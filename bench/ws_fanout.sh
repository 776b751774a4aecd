#!/usr/bin/env bash
# bench/ws_fanout.sh [OUTDIR] — WebSocket fan-out: Barbossa and the Python
# baseline of the original design, same machine, same run, no compression.
#
# For each server: C sockets (U users), hearts at RATE/s, measured by
# ../shared/bench/wsbench. Two runs per server with K_SMALL and K_BIG hearts;
# server CPU per delivered message is the difference of the two runs' CPU
# over the difference of their deliveries, so logins (Argon2id) and socket
# set-up cancel out. Latency figures come from the K_BIG run.
#
# Env: CONNS=1000 USERS=50 RATE=50 K_SMALL=100 K_BIG=500 BASELINE=1 FASTSERVER=1 PORT=18080
#      WORKERS=1 (wsbench socket threads) BIN=build/barbossa SHARED=../shared/bench PY=/usr/bin/python3
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-/tmp/barbossa-bench-ws}; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
SHARED=${SHARED:-$ROOT/../shared/bench}
BIN=${BIN:-$ROOT/build/barbossa}
CONNS=${CONNS:-1000}; USERS=${USERS:-50}; RATE=${RATE:-50}
K_SMALL=${K_SMALL:-100}; K_BIG=${K_BIG:-500}; BASELINE=${BASELINE:-1}
PORT=${PORT:-18080}; PY=${PY:-/usr/bin/python3}; WORKERS=${WORKERS:-1}
ulimit -n "$(ulimit -Hn)"

# The shared kit is read-only: install wsbench's one dependency in a copy.
if [[ ! -d "$OUT/wsbench/node_modules/ws" ]]; then
  rm -rf "$OUT/wsbench"; cp -r "$SHARED/wsbench" "$OUT/wsbench"
  (cd "$OUT/wsbench" && npm ci --no-audit --no-fund >/dev/null)
fi
WSBENCH="node $OUT/wsbench/wsbench.js"

SRV=""
stop_srv() { if [[ -n "$SRV" ]]; then kill "$SRV" 2>/dev/null || true; wait "$SRV" 2>/dev/null || true; SRV=""; fi; }
trap stop_srv EXIT
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SRV/stat"; }  # user+system, in clock ticks
wait_up() { for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && return 0; sleep 0.1; done; return 1; }

# run NAME K ALBUM_BASE -> prints "ticks received"
run() {
  local name=$1 k=$2 base=$3 c0 c1
  c0=$(cpu_ticks)
  $WSBENCH --base "http://127.0.0.1:$PORT" --user-fmt bench%04d --user-start 1 --users "$USERS" \
    --password benchpass --conns "$CONNS" --hearts "$k" --rate "$RATE" --album-base "$base" \
    --no-deflate --workers "$WORKERS" --drain-ms 3000 --json "$OUT/$name.json" --label "$name" >"$OUT/$name.txt" 2>&1
  c1=$(cpu_ticks)
  echo "$((c1 - c0)) $("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['received'])" "$OUT/$name.json")"
}

summary() { # NAME SMALL_RESULT BIG_RESULT
  local name=$1; read -r ts rs <<<"$2"; read -r tb rb <<<"$3"
  "$PY" - "$OUT/${name}_big.json" "$ts" "$rs" "$tb" "$rb" "$(getconf CLK_TCK)" "$name" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
ts, rs, tb, rb, hz = (float(x) for x in sys.argv[2:7])
name = sys.argv[7]
us = (tb - ts) / hz * 1e6 / max(1.0, rb - rs)
c = j["broadcastCompletionMs"]
print(f"{name}: C={j['conns']} rate={j['rate']}/s K={j['hearts']} | completion p50/p99/max "
      f"{c['p50']}/{c['p99']}/{c['max']} ms | delivered {j['received']} (lost {j['lost']}) | "
      f"{j['deliveredPerSec']} msg/s | server CPU per delivered message {us:.2f} us | "
      f"heart HTTP p50/p99 {j['send']['httpMs']['p50']}/{j['send']['httpMs']['p99']} ms | "
      f"wsbench CPU {j['tool']['cpuPctOfOneCoreDuringRun']}%")
PYEOF
}

: >"$OUT/summary.txt"
# The kernel's cost of one small send() per socket, measured on this machine now.
"$PY" "$ROOT/bench/loopback_floor.py" "$CONNS" 100 | tee -a "$OUT/summary.txt"
# ---------------------------------------------------------------- Barbossa
DATA="$OUT/barbossa-data"; rm -rf "$DATA"
"$BIN" --data-dir "$DATA" dev seed --users "$USERS" --albums $((K_SMALL + K_BIG + 10)) --tracks 1 >/dev/null
BARBOSSA_LOG_LEVEL=warn BARBOSSA_ADMIN_PASSWORD=bench-admin-pass "$BIN" serve --data-dir "$DATA" --port "$PORT" \
  >"$OUT/barbossa.log" 2>&1 &
SRV=$!; wait_up
small=$(run barbossa_small "$K_SMALL" 1)
big=$(run barbossa_big "$K_BIG" $((K_SMALL + 1)))
echo "barbossa RSS after runs: $(grep VmHWM "/proc/$SRV/status" | awk '{print $2}') KiB peak" | tee -a "$OUT/summary.txt"
stop_srv
summary barbossa "$small" "$big" | tee -a "$OUT/summary.txt"

# ---------------------------------------------------------------- Python baseline
if [[ "$BASELINE" == 1 ]]; then
  export BENCH_DB="$OUT/baseline.db"
  "$PY" "$SHARED/baseline_server/app.py" --init-db --users 1000 --albums $((K_SMALL + K_BIG + 10)) >/dev/null
  (cd "$SHARED/baseline_server" && exec "$PY" -m uvicorn app:app --host 127.0.0.1 --port "$PORT" \
     --workers 1 --log-level warning --backlog 8192) >"$OUT/baseline.log" 2>&1 &
  SRV=$!; wait_up
  small=$(run baseline_small "$K_SMALL" 1)
  big=$(run baseline_big "$K_BIG" $((K_SMALL + 1)))
  stop_srv
  summary baseline "$small" "$big" | tee -a "$OUT/summary.txt"
fi
# ---------------------------------------------------------------- the kit's no-op server
# fastserver.js (in ../shared/bench/wsbench) does nothing but broadcast: what
# wsbench measures against it is the load generator's own floor on this box.
if [[ "${FASTSERVER:-1}" == 1 ]]; then
  node "$OUT/wsbench/fastserver.js" "$PORT" >/dev/null 2>&1 &
  SRV=$!; wait_up
  small=$(run fastserver_small "$K_SMALL" 1)
  big=$(run fastserver_big "$K_BIG" $((K_SMALL + 1)))
  stop_srv
  summary fastserver "$small" "$big" | tee -a "$OUT/summary.txt"
fi
echo "results: $OUT/summary.txt and $OUT/*.json"
