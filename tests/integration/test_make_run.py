"""`make run`, the newcomer's first command, starts a server that answers
/health and prints its URL and the first-start admin password."""
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import requests

from conftest import BIN, ROOT


def test_make_run_starts_the_server(tmp_path):
    build_dir = Path(BIN).resolve().parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARBOSSA_")}
    env["BARBOSSA_PORT"] = "0"  # never collide with a real server on 8080
    proc = subprocess.Popen(["make", "--no-print-directory", "run", f"BUILD_DIR={build_dir}",
                             f"DATA_DIR={tmp_path / 'data'}"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    lines = []

    def drain():
        for raw in proc.stdout:
            lines.append(raw.decode(errors="replace"))

    threading.Thread(target=drain, daemon=True).start()
    try:
        url = None
        deadline = time.time() + 300  # may have to build first
        while time.time() < deadline and url is None:
            text = "".join(lines)
            m = re.search(r"listening on (http://[\d.]+:\d+)", text)
            url = m.group(1) if m else None
            if proc.poll() is not None and url is None:
                raise AssertionError("make run exited early:\n" + text)
            time.sleep(0.1)
        assert url, "no URL printed:\n" + "".join(lines)
        assert requests.get(url + "/health", timeout=5).json() == {"status": "ok"}
        text = "".join(lines)
        m = re.search(r"created admin user 'admin' with password: (\S+)", text)
        assert m, text
        r = requests.post(url + "/api/auth/login", json={"username": "admin", "password": m.group(1)}, timeout=10)
        assert r.status_code == 200, r.text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
