"""SIGTERM (SPEC §2, §11): open WebSockets are closed with 1001 and the
process exits 0 promptly, even when a client has stopped reading."""
import asyncio
import signal
import time

import requests

from wsclient import (RawWebSocket, connect, first_heartbeat, forge_token, run, server_secret,
                      wait_closed)

EXIT_BOUND = 5.0


def _users(server):
    admin = server.admin_token()
    r = server.request("POST", "/api/admin/users", token=admin,
                       json_body={"username": "listener", "password": "user-pass-123"})
    assert r.status_code == 201, r.text
    user_id = r.json()["id"]
    return admin, forge_token(server_secret(server), user_id, "listener"), user_id


def _sigterm_and_wait(server):
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    try:
        rc = server.proc.wait(timeout=EXIT_BOUND)
    except Exception:  # noqa: BLE001 - report the timeout as a failure, not an error
        rc = None
    return rc, time.monotonic() - started


def test_sigterm_closes_sockets_with_1001_and_exits_0(server):
    admin, user, _ = _users(server)

    async def scenario():
        sockets = [await connect(server, t) for t in (admin, admin, user, user)]
        for ws in sockets:
            await first_heartbeat(ws)
        loop = asyncio.get_running_loop()
        exited = loop.run_in_executor(None, _sigterm_and_wait, server)
        closes = await asyncio.gather(*(wait_closed(ws, EXIT_BOUND) for ws in sockets))
        return closes, await exited

    closes, (rc, elapsed) = run(scenario())
    assert [code for code, _ in closes] == [1001] * 4, closes
    assert rc == 0, f"exit code {rc} after {elapsed:.1f}s\n{server.read_log()[-3000:]}"
    assert elapsed <= EXIT_BOUND


def test_sigterm_with_a_client_that_stopped_reading_still_exits_0(server_factory):
    # The stuck client cannot take its close frame: the server must give up
    # on it after its grace period (default 3 s) and still exit cleanly, and
    # the healthy client must still get its 1001 at once.
    server = server_factory(HEARTBEAT_SECONDS=1)
    admin, user, user_id = _users(server)
    stuck = RawWebSocket(server, user, rcvbuf=4096)
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {admin}"
        # Enough to fill the socket buffers on both ends (see test_ws_fanout).
        with open("/proc/sys/net/ipv4/tcp_wmem") as f:
            wmem_max = int(f.read().split()[2])
        for i in range((wmem_max + (2 << 20)) // 16384):
            r = http.post(server.base + "/api/admin/notifications", timeout=10,
                          json={"user_id": user_id, "title": str(i), "message": "z" * 16384})
            assert r.status_code == 202, r.text

    async def scenario():
        ws = await connect(server, admin)
        await first_heartbeat(ws)
        loop = asyncio.get_running_loop()
        exited = loop.run_in_executor(None, _sigterm_and_wait, server)
        close = await wait_closed(ws, 2)  # not held up by the stuck one
        return close, await exited

    try:
        (code, _), (rc, elapsed) = run(scenario())
    finally:
        stuck.close()
    assert code == 1001
    assert rc == 0, f"exit code {rc} after {elapsed:.1f}s\n{server.read_log()[-3000:]}"
    assert elapsed <= EXIT_BOUND
