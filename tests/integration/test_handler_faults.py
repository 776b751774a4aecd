"""No exception crosses a handler boundary (issue 9, SPEC §1.4, §13).

Each test arms one fault point of the test build (`BARBOSSA_FAULTS`, see
core/fault.h), makes that kind of handler throw, and proves the server lives
on: it still answers /health, and the failure is logged once. The HTTP points
throw only for requests that name them in `X-Barbossa-Fault`, so the same
server can show one faulted request next to healthy ones.
"""
import asyncio
import socket
import sqlite3
import time

import pytest

from conftest import Server, db_rows, wait_for
from wsclient import connect, first_heartbeat, recv_json, run

INTERNAL = {"error": {"code": "internal", "message": "Internal server error"}}


def assert_healthy(s):
    assert s.proc.poll() is None, s.read_log()[-3000:]
    r = s.request("GET", "/health", timeout=10)
    assert r.status_code == 200, r.text


def log_count(s, text):
    return s.read_log().count(text)


def raw_exchange(s, request_bytes, timeout=10):
    """Sends raw bytes, reads until the server closes; returns what came back."""
    with socket.create_connection(("127.0.0.1", s.port), timeout=timeout) as sock:
        sock.sendall(request_bytes)
        out = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return out
            out += chunk


# --- HTTP ----------------------------------------------------------------------

@pytest.mark.parametrize("point", ["http_handler", "http_session"])
def test_http_exception_is_one_500_with_a_json_body_and_the_server_lives(server_factory, point):
    s = server_factory(FAULTS=point)
    r = s.request("GET", "/health", headers={"X-Barbossa-Fault": point})
    assert r.status_code == 500, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == INTERNAL
    assert_healthy(s)

    # Exactly one answer, then the connection is closed: a keep-alive request
    # followed by a second, pipelined one gets a single 500 and nothing more.
    faulted = (f"GET /health HTTP/1.1\r\nHost: x\r\nX-Barbossa-Fault: {point}\r\n\r\n"
               "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").encode()
    reply = raw_exchange(s, faulted)
    assert reply.startswith(b"HTTP/1.1 500 "), reply
    assert reply.count(b"HTTP/1.1 ") == 1, reply

    assert_healthy(s)
    # Logged once per failure, with the request it belonged to.
    assert log_count(s, f"injected fault at {point}") == 2, s.read_log()[-3000:]
    assert "GET /health from 127.0.0.1 failed" in s.read_log()


def test_websocket_upgrade_that_throws_gets_500_and_others_connect(server_factory):
    s = server_factory(FAULTS="http_session")
    token = s.admin_token()
    upgrade = ("GET /ws?token=" + token + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\nX-Barbossa-Fault: http_session\r\n\r\n").encode()
    reply = raw_exchange(s, upgrade)
    assert reply.startswith(b"HTTP/1.1 500 "), reply

    async def healthy_socket():
        ws = await connect(s, token)
        try:
            assert (await first_heartbeat(ws))["type"] == "heartbeat"
        finally:
            await ws.close()

    run(healthy_socket())
    assert_healthy(s)


# --- jobs ----------------------------------------------------------------------

def test_job_handler_exception_fails_the_job_with_its_error_and_workers_live(server_factory):
    s = server_factory(FAULTS="job_handler", JOB_BACKOFF_SECONDS=1)
    token = s.admin_token()

    def run_now(name):
        r = s.request("POST", f"/api/admin/schedules/{name}/run", token=token)
        assert r.status_code == 202, r.text
        return r.json()["job_id"]

    def job(job_id):
        r = s.request("GET", f"/api/admin/jobs/{job_id}", token=token)
        assert r.status_code == 200, r.text
        return r.json()

    first = run_now("update-album-stats")
    failed = wait_for(lambda: (j := job(first))["last_error"] and j, 15)
    assert failed, job(first)
    assert failed["last_error"] == "injected fault at job_handler"
    assert failed["status"] in ("failed", "queued", "dead"), failed
    assert failed["attempts"] >= 1

    # The worker that ran it is still there: the next job is taken and
    # recorded the same way.
    second = run_now("repair-user-links")
    assert wait_for(lambda: job(second)["last_error"] == "injected fault at job_handler", 15), \
        job(second)
    assert_healthy(s)


# --- scheduler -----------------------------------------------------------------

def test_scheduler_firing_that_throws_leaves_the_server_serving(tmp_path):
    data = tmp_path / "data"
    s = Server(data).start()
    s.stop()
    # backup-database was due while the server was down: start-up fires it.
    now = int(time.time())
    db = sqlite3.connect(str(data / "barbossa.db"))
    with db:
        db.execute("UPDATE schedules SET last_run = ?, next_run = ? WHERE name = 'backup-database'",
                   (now - 3 * 86400, now - 2 * 86400))
    db.close()
    s2 = Server(data, {"FAULTS": "scheduler_fire"}).start()
    try:
        assert_healthy(s2)
        assert log_count(s2, "injected fault at scheduler_fire") == 1, s2.read_log()[-3000:]
        assert "schedule backup-database: the firing missed while down failed" in s2.read_log()
        assert db_rows(s2, "SELECT id FROM jobs WHERE type = 'backup-database'") == []
        # The scheduler thread still runs: /health reports it up.
        r = s2.request("GET", "/api/admin/health", token=s2.admin_token())
        assert r.json()["components"]["scheduler"]["status"] == "ok", r.text
    finally:
        s2.stop()


# --- events --------------------------------------------------------------------

def make_album(s):
    return s.add_album("Broadcast", "Tender Buttons")


def test_bus_subscriber_exception_does_not_fail_the_publisher(server_factory):
    s = server_factory(FAULTS="bus_subscriber")
    token = s.admin_token()
    album = make_album(s)
    # The heart is committed and its event published; the subscriber (the
    # hub) throws, which neither fails the request nor the process.
    r = s.request("POST", f"/api/me/library/albums/{album}", token=token)
    assert r.status_code == 201, r.text
    assert wait_for(lambda: log_count(s, "not delivered to a subscriber") >= 1, 5), s.read_log()
    assert "injected fault at bus_subscriber" in s.read_log()
    assert_healthy(s)


def test_hub_dispatcher_exception_keeps_sockets_and_moves_their_seq_on(server_factory):
    s = server_factory(FAULTS="hub_dispatch", HEARTBEAT_SECONDS=1)
    token = s.admin_token()
    album = make_album(s)

    async def scenario():
        ws = await connect(s, token)
        try:
            before = (await first_heartbeat(ws))["seq"]
            r = await asyncio.to_thread(s.request, "POST", f"/api/me/library/albums/{album}",
                                        token=token)
            assert r.status_code == 201, r.text
            # The event never reached the socket, but the dispatcher lives and
            # heartbeats carry its seq, so the client knows to resume.
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                msg = await recv_json(ws, 3)
                assert msg["type"] == "heartbeat", msg
                if msg["seq"] > before:
                    return
            raise AssertionError("heartbeat seq never moved past the failed event")
        finally:
            await ws.close()

    run(scenario())
    assert "not fanned out: injected fault at hub_dispatch" in s.read_log()
    assert_healthy(s)


# --- watch folder ----------------------------------------------------------------

def test_watch_event_exception_rescans_and_the_entry_is_still_queued(server_factory):
    s = server_factory(FAULTS="watch_event", WATCH_SETTLE_SECONDS=1)
    entry = s.data_dir / "import" / "pending" / "Some Album"
    entry.mkdir(parents=True)
    (entry / "notes.txt").write_text("not audio")
    # Every inotify batch throws; the watcher logs it, rescans the inbox, and
    # the folder still settles into an import job.
    assert wait_for(lambda: db_rows(s, "SELECT id FROM jobs WHERE type = 'import'"), 15), \
        s.read_log()[-3000:]
    assert "watch: handling inotify events failed: injected fault at watch_event" in s.read_log()
    assert_healthy(s)
