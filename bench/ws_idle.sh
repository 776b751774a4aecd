#!/usr/bin/env bash
# bench/ws_idle.sh [OUTDIR] — N idle WebSockets held with heartbeats on time,
# and the server's memory. Env: CONNS=20000 SECONDS_HELD=30 HEARTBEAT=5 PORT=18081
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-/tmp/barbossa-bench-idle}; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
SHARED=${SHARED:-$ROOT/../shared/bench}
BIN=${BIN:-$ROOT/build/barbossa}
CONNS=${CONNS:-20000}; SECONDS_HELD=${SECONDS_HELD:-30}; HEARTBEAT=${HEARTBEAT:-5}; PORT=${PORT:-18081}
# Both ends hold CONNS descriptors; root may raise the hard limit.
ulimit -Hn $((CONNS * 2 + 1000)) 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
if [[ ! -d "$OUT/wsbench/node_modules/ws" ]]; then
  rm -rf "$OUT/wsbench"; cp -r "$SHARED/wsbench" "$OUT/wsbench"
  (cd "$OUT/wsbench" && npm ci --no-audit --no-fund >/dev/null)
fi
DATA="$OUT/data"; rm -rf "$DATA"
# Every socket comes from 127.0.0.1: no per-address connection limit.
BARBOSSA_LOG_LEVEL=warn BARBOSSA_ADMIN_PASSWORD=bench-admin-pass BARBOSSA_HEARTBEAT_SECONDS=$HEARTBEAT \
  BARBOSSA_MAX_CONNECTIONS_PER_ADDRESS=0 \
  "$BIN" serve --data-dir "$DATA" --port "$PORT" >"$OUT/server.log" 2>&1 &
SRV=$!
trap 'kill $SRV 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
rss0=$(awk '/VmRSS/ {print $2}' "/proc/$SRV/status")
TOKEN=$(curl -sf -X POST "http://127.0.0.1:$PORT/api/auth/login" -H 'Content-Type: application/json' \
  -d '{"username":"admin","password":"bench-admin-pass"}' | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
# Sample the server's RSS while the sockets are held.
( peak=0; while kill -0 $SRV 2>/dev/null; do r=$(awk '/VmRSS/ {print $2}' "/proc/$SRV/status" 2>/dev/null || echo 0);
  (( r > peak )) && peak=$r && echo "$peak" >"$OUT/rss_peak_kib"; sleep 0.5; done ) &
SAMPLER=$!
NODE_PATH="$OUT/wsbench/node_modules" node "$ROOT/bench/ws_idle.js" "http://127.0.0.1:$PORT" "$TOKEN" \
  "$CONNS" "$SECONDS_HELD" "$HEARTBEAT" | tee "$OUT/idle.json"
kill $SAMPLER 2>/dev/null || true
cpu=$(awk '{print ($14 + $15)}' "/proc/$SRV/stat")
echo "server RSS: idle ${rss0} KiB, peak with $CONNS sockets $(cat "$OUT/rss_peak_kib") KiB; CPU total $cpu ticks" | tee "$OUT/summary.txt"
