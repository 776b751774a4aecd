"""Limits against exhaustion on the HTTP side (issue 9, SPEC §13): connections
per server and per client address, the queue of requests waiting for a
handler thread, and the time allowed for a request's headers (slowloris).
Each limit is set low here so a handful of sockets reach it."""
import asyncio
import os
import socket
import threading
import time

import pytest
import requests

from wsclient import connect, first_heartbeat, run

HEALTH = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"


def open_idle(s, n):
    """n connections that send nothing (yet)."""
    socks = [socket.create_connection(("127.0.0.1", s.port), timeout=10) for _ in range(n)]
    time.sleep(0.5)  # accepted and counted by the server
    return socks


def exchange(s, data=HEALTH, timeout=10):
    """Sends `data`, reads until the server closes; returns the reply."""
    with socket.create_connection(("127.0.0.1", s.port), timeout=timeout) as sock:
        sock.sendall(data)
        out = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return out
            if not chunk:
                return out
            out += chunk
            if b"\r\n\r\n" in out and b"Connection: close" not in out.split(b"\r\n\r\n")[0]:
                # A keep-alive answer: the whole of it is enough.
                head, _, body = out.partition(b"\r\n\r\n")
                length = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if length and len(body) >= int(length[0].split(b":")[1]):
                    return out


def assert_refused_503(reply):
    assert reply.startswith(b"HTTP/1.1 503 "), reply
    head, _, body = reply.partition(b"\r\n\r\n")
    assert b"Retry-After: 1" in head, reply
    assert b"Connection: close" in head, reply
    assert b'"code":"too_many_connections"' in body, reply


def close_all(socks):
    for sock in socks:
        sock.close()


def test_connection_over_the_server_limit_gets_503_and_is_closed(server_factory):
    s = server_factory(MAX_CONNECTIONS=4, MAX_CONNECTIONS_PER_ADDRESS=0, HEADER_TIMEOUT_SECONDS=30)
    idle = open_idle(s, 4)
    try:
        assert_refused_503(exchange(s))
        assert "at the server's 4 connections (MAX_CONNECTIONS)" in s.read_log()
    finally:
        close_all(idle)
    time.sleep(0.3)
    # The slots are given back when their connections close.
    assert exchange(s).startswith(b"HTTP/1.1 200 ")
    assert s.request("GET", "/health").status_code == 200


def test_connection_over_the_per_address_limit_gets_503(server_factory):
    s = server_factory(MAX_CONNECTIONS_PER_ADDRESS=3, HEADER_TIMEOUT_SECONDS=30)
    idle = open_idle(s, 3)
    try:
        assert_refused_503(exchange(s))
        assert "3 connections from one address (MAX_CONNECTIONS_PER_ADDRESS)" in s.read_log()
    finally:
        close_all(idle)
    time.sleep(0.3)
    assert s.request("GET", "/health").status_code == 200


def test_trusted_proxy_is_not_held_to_the_per_address_limit(server_factory):
    # A reverse proxy carries every client's connections from one address.
    s = server_factory(MAX_CONNECTIONS_PER_ADDRESS=3, TRUSTED_PROXIES="127.0.0.1",
                       HEADER_TIMEOUT_SECONDS=30)
    idle = open_idle(s, 3)
    try:
        assert exchange(s).startswith(b"HTTP/1.1 200 ")
    finally:
        close_all(idle)


def test_websockets_hold_their_connection_slot_until_they_close(server_factory):
    s = server_factory(MAX_CONNECTIONS_PER_ADDRESS=3, HEARTBEAT_SECONDS=1)
    token = s.admin_token()

    async def connect_when_free():
        # The login's connection is closed by the client; the server lets go
        # of its slot when it reads that EOF, a moment later under load.
        deadline = time.time() + 5
        while True:
            try:
                return await connect(s, token)
            except Exception:
                if time.time() > deadline:
                    raise
                await asyncio.sleep(0.1)

    async def answer_when_free():
        deadline = time.time() + 5
        while True:
            answer = await asyncio.to_thread(exchange, s)
            if answer.startswith(b"HTTP/1.1 200 ") or time.time() > deadline:
                return answer
            await asyncio.sleep(0.1)

    async def scenario():
        sockets = [await connect_when_free() for _ in range(3)]
        for ws in sockets:
            await first_heartbeat(ws)
        refused = await asyncio.to_thread(exchange, s)
        assert_refused_503(refused)
        await sockets.pop().close()
        answer = await answer_when_free()
        assert answer.startswith(b"HTTP/1.1 200 "), answer
        for ws in sockets:
            await ws.close()

    run(scenario())


def test_full_handler_queue_answers_503_with_retry_after(server_factory):
    # One handler thread, one waiting place: logins (Argon2id, about 150 ms
    # each) sent at once overflow it.
    s = server_factory(HANDLER_THREADS=1, MAX_QUEUED_REQUESTS=1)
    from conftest import ADMIN_PASSWORD
    results = []
    start = threading.Barrier(12)

    def login():
        start.wait()
        r = requests.post(s.base + "/api/auth/login", timeout=30,
                          json={"username": "admin", "password": ADMIN_PASSWORD})
        results.append(r)

    threads = [threading.Thread(target=login) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results)
    assert 200 in codes and 503 in codes, codes
    assert set(codes) == {200, 503}, codes
    busy = next(r for r in results if r.status_code == 503)
    assert busy.headers["Retry-After"] == "1"
    assert busy.json()["error"]["code"] == "busy"
    assert "MAX_QUEUED_REQUESTS" in s.read_log()
    # The queue drains: the next request is served.
    assert s.request("GET", "/health").status_code == 200


def test_slow_answer_is_not_cut_by_the_header_timeout(server_factory):
    # Forty logins queued for one handler thread: the last waits well over
    # the 1 s header timeout for its turn, and must still get its answer
    # (the deadline for the headers is not the deadline for the response).
    s = server_factory(HANDLER_THREADS=1, HEADER_TIMEOUT_SECONDS=1)
    from conftest import ADMIN_PASSWORD
    results = []
    start = threading.Barrier(40)

    def login():
        start.wait()
        t0 = time.monotonic()
        r = requests.post(s.base + "/api/auth/login", timeout=60,
                          json={"username": "admin", "password": ADMIN_PASSWORD})
        results.append((r.status_code, time.monotonic() - t0))

    threads = [threading.Thread(target=login) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [code for code, _ in results] == [200] * 40, results
    assert max(seconds for _, seconds in results) > 1.0, results  # the case in question


def closed_within(sock, seconds):
    """True when the server closes `sock` within `seconds` (reading and
    discarding whatever it sends)."""
    sock.settimeout(seconds)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if not sock.recv(4096):
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    return False


def test_headers_must_arrive_within_the_header_timeout(server_factory):
    s = server_factory(HEADER_TIMEOUT_SECONDS=1)
    # Slowloris: a request line and then one header byte every 0.3 s; the
    # headers are never complete, so the connection goes after 1 s.
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        closed = False
        try:
            for _ in range(20):
                sock.sendall(b"X")
                time.sleep(0.3)
        except (BrokenPipeError, ConnectionResetError):
            closed = True
        if not closed:
            closed = closed_within(sock, 1)
        assert closed, "a request whose headers never end kept its connection"
        assert time.monotonic() - started < 4.5

    # A connection that sends nothing at all goes too.
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as sock:
        assert closed_within(sock, 3)

    # And so does a kept-alive one that sends no next request.
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as sock:
        sock.sendall(HEALTH)
        time.sleep(0.2)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        assert closed_within(sock, 3)

    # Requests whose headers arrive in time are served as before.
    assert s.request("GET", "/health").status_code == 200


# The test needs the server to accept faster than 64 connections per 2 s
# drain; under ASan on a loaded machine it accepted all 150 more slowly, so
# no more than 64 were ever in progress (answered 150, silent 0).
@pytest.mark.skipif(os.environ.get("BARBOSSA_SANITIZED") == "1",
                    reason="a timing property of the optimized build: ASan accepts too slowly")
def test_refusals_in_progress_are_capped_and_the_rest_closed_unanswered(server_factory):
    # Each refused connection is answered and drained for up to 2 s; a flood
    # would hold that many descriptors. Past 64 at once, refusals are closed
    # at once without an answer.
    s = server_factory(MAX_CONNECTIONS=2, MAX_CONNECTIONS_PER_ADDRESS=0, HEADER_TIMEOUT_SECONDS=30)
    idle = open_idle(s, 2)
    flood = []
    try:
        # Clients that keep their side open: each refusal waits out its 2 s.
        flood = [socket.create_connection(("127.0.0.1", s.port), timeout=10) for _ in range(150)]
        answered = silent = 0
        for sock in flood:
            sock.settimeout(5)
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if data.startswith(b"HTTP/1.1 503 "):
                answered += 1
            else:
                assert data == b"", data
                silent += 1
        assert 1 <= answered <= 64 and silent >= 150 - 64, (answered, silent)
        # The cap is on refusals in progress, not for good.
        close_all(flood)
        flood = []
        time.sleep(2.5)
        assert_refused_503(exchange(s))
    finally:
        close_all(flood)
        close_all(idle)
