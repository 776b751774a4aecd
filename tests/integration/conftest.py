"""Shared fixtures: start the real `barbossa serve` on port 0 with a temp data
dir and talk to it over real HTTP and WebSocket.

Run with Debian's /usr/bin/python3 (python3-pytest, python3-requests,
python3-websockets); `make test` does this through CTest.
"""
import os
import re
import resource
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
# The test build: fault points and the crash knob work only in barbossa-test.
BIN = os.environ.get("BARBOSSA_BIN", str(ROOT / "build" / "barbossa-test"))
WEB_DIR = os.environ.get("BARBOSSA_WEB_DIR", str(ROOT / "web"))
ADMIN_PASSWORD = "admin-pass-123"

# 1000+ sockets in one test process.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))


def db_rows(server, sql, *args):
    """Rows of a read-only query on a server's SQLite database."""
    con = sqlite3.connect(f"file:{server.data_dir / 'barbossa.db'}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def wait_for(predicate, timeout, step=0.05):
    """Polls `predicate` until it returns something truthy or `timeout`
    seconds pass; returns its last value."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def run_cli(data_dir, *args, input_text=None, check=True):
    """Runs `barbossa --data-dir DATA ARGS...` and returns the CompletedProcess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARBOSSA_")}
    proc = subprocess.run([BIN, "--data-dir", str(data_dir), *args], input=input_text,
                          capture_output=True, text=True, env=env, timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError(f"barbossa {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


class Server:
    """One running `barbossa serve` process."""

    def __init__(self, data_dir, env_overrides=None):
        self.data_dir = Path(data_dir)
        self.env_overrides = env_overrides or {}
        self.proc = None
        self.port = None
        self.log_path = self.data_dir.parent / f"server-{id(self)}.log"

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_base(self):
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout=15):
        env = {k: v for k, v in os.environ.items() if not k.startswith("BARBOSSA_")}
        env.update({
            "BARBOSSA_DATA_DIR": str(self.data_dir),
            "BARBOSSA_PORT": "0",
            "BARBOSSA_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "BARBOSSA_WEB_DIR": WEB_DIR,
            "BARBOSSA_LOG_LEVEL": "info",
        })
        env.update({f"BARBOSSA_{k}": str(v) for k, v in self.env_overrides.items()})
        return self.launch(["serve"], env, timeout)

    def launch(self, args, env, timeout=15):
        """Runs `barbossa ARGS...` with exactly `env` and waits for the
        "listening on" line; used by start() and by tests that need other
        flags or environments."""
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BIN, *args], stdout=subprocess.PIPE, stderr=self.log, env=env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self.proc.stdout.readline().decode(errors="replace")
            if not line:
                if self.proc.poll() is not None:
                    raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.read_log()}")
                continue
            m = re.search(r"listening on http://[\d.]+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        else:
            self.stop(signal.SIGKILL)
            raise AssertionError("server did not start in time:\n" + self.read_log())
        # Keep draining stdout so the server never blocks on a full pipe.
        import threading
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        return self

    def read_log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    # --- HTTP helpers -------------------------------------------------------
    def request(self, method, path, token=None, json_body=None, data=None, headers=None, timeout=30):
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.base + path, json=json_body, data=data, headers=h,
                                timeout=timeout)

    def login(self, username, password):
        r = self.request("POST", "/api/auth/login", json_body={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def admin_token(self):
        return self.login("admin", ADMIN_PASSWORD)

    def create_user(self, username, password="user-pass-123", is_admin=False):
        r = self.request("POST", "/api/admin/users", token=self.admin_token(),
                         json_body={"username": username, "password": password, "is_admin": is_admin})
        assert r.status_code == 201, r.text
        return r.json()

    def add_album(self, artist, title, year=2001, tracks=3):
        """Creates an album through the Store (CLI `dev add-album`); works while serving."""
        out = run_cli(self.data_dir, "dev", "add-album", "--artist", artist, "--title", title,
                      "--year", str(year), "--tracks", str(tracks))
        return int(out.stdout.strip())


@pytest.fixture
def server_factory(tmp_path):
    servers = []

    def make(**env):
        s = Server(tmp_path / f"data{len(servers)}", env).start()
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop(signal.SIGKILL)


@pytest.fixture
def server(server_factory):
    return server_factory(HEARTBEAT_SECONDS=1)
