#!/usr/bin/python3
"""bench/watch_latency.py BIN [SETTLE_SECONDS] [ROUNDS] — watch folder latency (issue 4).

Starts `barbossa serve` on a temp data dir with WATCH_SETTLE_SECONDS=SETTLE,
then per round writes a 3-track album (sox/flac made, 8 chunks per file, 0.1 s
apart) into IMPORT_DIR/pending and measures from the close of its last file to
the import job's `created_at` in the database (the server's wall clock, ms;
same machine). Also one round per album moved in whole with rename(2).
Target: latency <= settle + 500 ms. Prints one line per round and a summary.
"""
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
import audio  # noqa: E402

BIN = sys.argv[1]
SETTLE = float(sys.argv[2]) if len(sys.argv) > 2 else 1
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 5

work = Path(tempfile.mkdtemp(prefix="barbossa-watch-bench-"))
data = work / "data"
env = {k: v for k, v in os.environ.items() if not k.startswith("BARBOSSA_")}
env.update({"BARBOSSA_DATA_DIR": str(data), "BARBOSSA_PORT": "0",
            "BARBOSSA_WATCH_SETTLE_SECONDS": str(int(SETTLE)), "BARBOSSA_ADMIN_PASSWORD": "bench-pass-123",
            "BARBOSSA_LOG_LEVEL": "warn"})
proc = subprocess.Popen([BIN, "serve"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
for line in proc.stdout:
    if re.search(rb"listening on", line):
        break
pending = data / "import" / "pending"


def job_created_ms(path):
    con = sqlite3.connect(f"file:{data / 'barbossa.db'}?mode=ro", uri=True, timeout=10)
    try:
        row = con.execute("SELECT created_at FROM jobs WHERE dedupe_key = ?",
                          ("import:" + str(path),)).fetchone()
        return row[0] if row else None
    finally:
        con.close()


def wait_job(path, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        created = job_created_ms(path)
        if created is not None:
            return created
        time.sleep(0.01)
    raise SystemExit(f"no job for {path} within {timeout} s")


results = {"copied": [], "moved": []}
try:
    for r in range(ROUNDS):
        for kind in ("copied", "moved"):
            src = audio.album(work / "src", f"Bench {kind} {r}", f"Latency {r}", 2000 + r, tracks=3)
            target = pending / src.name
            if kind == "moved":
                os.rename(src, target)
                last_close = time.time()
            else:
                target.mkdir()
                for f in sorted(src.iterdir()):
                    blob = f.read_bytes()
                    step = len(blob) // 8 + 1
                    with open(target / f.name, "wb") as out:
                        for i in range(0, len(blob), step):
                            out.write(blob[i:i + step])
                            out.flush()
                            time.sleep(0.1)
                    last_close = time.time()  # after close()
                shutil.rmtree(src)
            created = wait_job(target, SETTLE + 10) / 1000.0
            latency = created - last_close
            results[kind].append(latency)
            print(f"round {r} {kind}: last close -> job queued {latency * 1000:.0f} ms")
            time.sleep(0.5)
finally:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)
    shutil.rmtree(work, ignore_errors=True)

budget = SETTLE + 0.5
for kind, xs in results.items():
    print(f"{kind}: n={len(xs)} min {min(xs)*1000:.0f} median {statistics.median(xs)*1000:.0f} "
          f"max {max(xs)*1000:.0f} ms; target <= {budget*1000:.0f} ms: "
          f"{'met' if max(xs) <= budget else 'NOT met'}")
