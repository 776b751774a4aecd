#!/usr/bin/env node
// ws_idle.js — holds N idle WebSockets and checks that heartbeats arrive on
// time on every one of them. Usage:
//   NODE_PATH=<dir with ws> node ws_idle.js URL TOKEN CONNS SECONDS INTERVAL [CONCURRENCY]
// Prints one JSON object: opened, failed, closed, heartbeats, per-socket max
// gap between heartbeats (p50/p99/max, ms), sockets with a gap over
// interval + 1 s ("late"), and sockets that saw no heartbeat after set-up.
'use strict';
const WebSocket = require('ws');
const [url, token, connsS, secondsS, intervalS, concS] = process.argv.slice(2);
const conns = +connsS, seconds = +secondsS, interval = +intervalS * 1000, conc = +(concS || 200);
const sockets = [];
let opened = 0, failed = 0, closed = 0, next = 0, inflight = 0, heartbeats = 0;
let measuring = false;
const lastBeat = new Float64Array(conns), maxGap = new Float64Array(conns);
function open() {
  while (inflight < conc && next < conns) {
    const i = next++; inflight++;
    const ws = new WebSocket(`${url}/ws?token=${encodeURIComponent(token)}`, { perMessageDeflate: false });
    let done = false;
    ws.on('open', () => { done = true; inflight--; opened++; sockets.push(ws); open(); });
    ws.on('message', (data) => {
      const m = JSON.parse(data);
      if (m.type !== 'heartbeat') return;
      const t = Date.now();
      if (measuring) {
        heartbeats++;
        if (lastBeat[i] > 0) maxGap[i] = Math.max(maxGap[i], t - lastBeat[i]);
      }
      lastBeat[i] = t;
    });
    ws.on('error', () => { if (!done) { done = true; inflight--; failed++; open(); } });
    ws.on('close', () => { if (done) closed++; });
  }
}
const pct = (a, p) => a.length ? a[Math.min(a.length - 1, Math.ceil(p / 100 * a.length) - 1)] : NaN;
const t0 = Date.now();
open();
const wait = setInterval(() => {
  if (opened + failed < conns) return;
  clearInterval(wait);
  const setupMs = Date.now() - t0;
  lastBeat.fill(0); measuring = true;
  setTimeout(() => {
    const gaps = Array.from(maxGap).sort((a, b) => a - b);
    const late = gaps.filter((g) => g > interval + 1000).length;
    const silent = Array.from(maxGap).filter((g) => g === 0).length;
    console.log(JSON.stringify({ conns, opened, failed, closedDuringRun: closed, setupMs, seconds,
      intervalMs: interval, heartbeats, maxGapMs: { p50: pct(gaps, 50), p99: pct(gaps, 99), max: gaps[gaps.length - 1] },
      late, silent }));
    for (const s of sockets) s.terminate();
    process.exit(0);
  }, seconds * 1000);
}, 100);
