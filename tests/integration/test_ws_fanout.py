"""A slow consumer never delays the others (SPEC §11).

One client completes the WebSocket handshake and then stops reading, while
more notifications addressed to it pile up than the kernel will buffer. Meanwhile 1,000 other
sockets must each get every heart's activity event within a second, the
stuck client must be closed with 1013, and the server's memory must stay
bounded.
"""
import asyncio
import json
import os
import socket
import threading
import time
from datetime import datetime

import pytest
import requests

from wsclient import (RawWebSocket, connect, first_heartbeat, forge_token, in_thread, run,
                      server_secret)

# make check-asan: ASan keeps freed memory in quarantine (up to 256 MiB) and
# its shadow memory counts in the RSS, so RSS bounds say nothing there; the
# behaviour (delivery, 1013) is still checked, and the ordinary build checks memory.
SANITIZED = os.environ.get("BARBOSSA_SANITIZED") == "1"

SOCKETS = 1000
USERS = 10           # the 1,000 sockets belong to these users, 100 each
OPEN_CONCURRENCY = 100
STALL_SECONDS = 2
FLOOD_SIZE = 16384   # the server's cap on a notification's message
FLOOD_SENDERS = 4
GIVE_UP_LOG = "closing a websocket that cannot keep up"


def flood_messages():
    """Enough 16 KiB notifications to overflow the server's socket send
    buffer, which Linux grows up to tcp_wmem's maximum (4 MiB by default):
    only then does a write hang. At least 100."""
    try:
        with open("/proc/sys/net/ipv4/tcp_wmem") as f:
            wmem_max = int(f.read().split()[2])
    except (OSError, ValueError, IndexError):
        wmem_max = 4 << 20
    return max(100, (wmem_max + (2 << 20)) // FLOOD_SIZE)


FLOOD_MESSAGES = flood_messages()


def log_time(line):
    """The timestamp that starts each server log line (ISO-8601 UTC)."""
    return datetime.fromisoformat(line.split()[0].replace("Z", "+00:00"))
HEARTS = 3
DELIVERY_BOUND = 1.0  # seconds from sending the heart to its arrival at the last socket


def test_stalled_client_does_not_delay_1000_others_and_is_closed_1013(server_factory):
    server = server_factory(HEARTBEAT_SECONDS=1, WS_STALL_SECONDS=STALL_SECONDS)
    admin = server.admin_token()
    secret = server_secret(server)

    def create(name):
        r = server.request("POST", "/api/admin/users", token=admin,
                           json_body={"username": name, "password": "user-pass-123"})
        assert r.status_code == 201, r.text
        # Forged with the server's own key: saves 1,000 password hashes.
        return r.json()["id"], forge_token(secret, r.json()["id"], name)

    stalled_id, stalled_token = create("stuck")
    tokens = [create(f"fan{i}")[1] for i in range(USERS)]
    albums = [server.add_album("Stereolab", f"Dots and Loops {i}") for i in range(HEARTS)]
    rss_before = server.rss_kib()

    arrivals = [dict() for _ in range(SOCKETS)]  # socket -> {album id: monotonic time}
    counts = {}                                   # album id -> sockets that got it
    all_arrived = {}                              # album id -> asyncio.Event

    async def reader(i, ws):
        try:
            async for text in ws:
                msg = json.loads(text)
                if msg.get("type") == "activity" and msg.get("entity_id") in all_arrived:
                    album = msg["entity_id"]
                    arrivals[i][album] = time.monotonic()
                    counts[album] = counts.get(album, 0) + 1
                    if counts[album] == SOCKETS:
                        all_arrived[album].set()
        except Exception:  # noqa: BLE001 - a dead socket shows up as a missing arrival
            pass

    async def scenario():
        loop = asyncio.get_running_loop()
        for album in albums:
            all_arrived[album] = asyncio.Event()

        # 1. A thousand live sockets, opened 100 at a time.
        gate = asyncio.Semaphore(OPEN_CONCURRENCY)

        async def open_one(i):
            async with gate:
                ws = await connect(server, tokens[i % USERS], open_timeout=30)
                await first_heartbeat(ws, 10)
                return ws

        sockets = await asyncio.gather(*(open_one(i) for i in range(SOCKETS)))
        readers = [asyncio.create_task(reader(i, ws)) for i, ws in enumerate(sockets)]
        rss_open = server.rss_kib()

        # 2. The stuck client: small receive buffer, never reads. It does
        # send a ping now and then, so it is a slow consumer, not a silent
        # peer (which the idle timeout would drop without a close frame).
        stuck = RawWebSocket(server, stalled_token, rcvbuf=4096)
        stop_pinging = threading.Event()
        abandon = threading.Event()

        def keep_talking():
            while not stop_pinging.wait(0.4):
                try:
                    stuck.send_text('{"type":"ping"}')
                except OSError:
                    return
        talker = threading.Thread(target=keep_talking, daemon=True)
        talker.start()

        # 3, in the background: once the hung write is STALL_SECONDS old the
        # server gives up on the client, logs that once, and queues a 1013
        # close behind the hung write; if that frame still cannot be written
        # 5 s later it tears TCP down. So drain the socket as soon as the
        # decision is logged (a fixed delay flakes on slow machines), even
        # if that happens during the flood: the drain must end in the 1013
        # close frame.
        def drain_after_decision():
            deadline = time.monotonic() + 30
            while GIVE_UP_LOG not in server.read_log():
                if abandon.is_set():
                    return [], None, "", True
                if time.monotonic() > deadline:
                    raise AssertionError("the server never gave up on the stuck client")
                time.sleep(0.05)
            return stuck.read_until_close(15)
        drained = loop.run_in_executor(None, drain_after_decision)

        try:
            # 4. Flood it until its socket buffers are full and a write hangs.
            # Four senders keep the flood short.
            def flood(part):
                with requests.Session() as http:
                    http.headers["Authorization"] = f"Bearer {admin}"
                    for i in range(part, FLOOD_MESSAGES, FLOOD_SENDERS):
                        r = http.post(server.base + "/api/admin/notifications", timeout=10,
                                      json={"user_id": stalled_id, "title": f"flood {i}",
                                            "message": chr(ord("a") + i % 26) * FLOOD_SIZE,
                                            "level": "info"})
                        assert r.status_code == 202, r.text
            await asyncio.gather(*(loop.run_in_executor(None, flood, part)
                                   for part in range(FLOOD_SENDERS)))

            # 5. Hearts while it is stuck: every socket gets each one in time.
            latencies = []
            for album in albums:
                await asyncio.sleep(0.1)
                sent = time.monotonic()
                r = await in_thread(server.request, "POST", f"/api/me/library/albums/{album}",
                                    token=admin)
                assert r.status_code == 201, r.text
                try:
                    await asyncio.wait_for(all_arrived[album].wait(), 5)
                except asyncio.TimeoutError:
                    pass
                got = [a[album] for a in arrivals if album in a]
                assert len(got) == SOCKETS, f"heart {album}: {len(got)} of {SOCKETS} sockets got it"
                latencies.append(max(got) - sent)
            assert max(latencies) <= DELIVERY_BOUND, latencies
            rss_stuck = server.rss_kib()

            messages, code, reason, eof = await drained
            stop_pinging.set()
            talker.join()
            log = server.read_log().splitlines()
            decisions = [line for line in log if GIVE_UP_LOG in line]
            assert len(decisions) == 1, decisions  # logged once
            # The first heart went out while the client was stuck and not yet
            # given up on (the server logs a request once it has answered it,
            # i.e. after publishing).
            first_heart = next(line for line in log
                               if f"/api/me/library/albums/{albums[0]} 201" in line)
            assert log_time(first_heart) < log_time(decisions[0]), (
                "machine too slow: the stuck client was given up on before the first heart")
            # Sanity: it really was flooded, and what it got is intact JSON.
            notes = [json.loads(m) for m in messages if b'"notification"' in m]
            assert notes and all(len(n["message"]) == FLOOD_SIZE for n in notes)
            assert len(notes) < FLOOD_MESSAGES, "the client was never stuck: every message arrived"
            assert not eof, "the server tore the connection down without a close frame"
            assert code == 1013, (code, reason)
            stuck.send_close(1013)
            await loop.run_in_executor(None, stuck.read_to_eof, 10)
        finally:
            # On failure, unblock the drain thread so asyncio.run can finish.
            abandon.set()
            stop_pinging.set()
            try:
                stuck.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            stuck.close()

        # The others are untouched by all this.
        for ws in sockets[::97]:
            assert ws.open
        for t in readers:
            t.cancel()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        return rss_open, rss_stuck, latencies

    rss_open, rss_stuck, latencies = run(scenario(), timeout=120)
    print(f"heart latencies {[round(x, 3) for x in latencies]} s; rss KiB: before {rss_before}, "
          f"1000 sockets {rss_open}, stuck client flooded {rss_stuck}")
    # Bounded: 1,000 idle sockets cost tens of KiB each, not megabytes, and
    # the stuck client's backlog (the replay ring holds the flood too) is a
    # few times the flood, not a leak.
    flood_kib = FLOOD_MESSAGES * FLOOD_SIZE // 1024
    if not SANITIZED:
        assert rss_open - rss_before < 64 * 1024, (rss_before, rss_open)
        assert rss_stuck - rss_open < 3 * flood_kib + 32 * 1024, (rss_open, rss_stuck, flood_kib)


@pytest.mark.skipif(SANITIZED, reason="RSS under ASan includes its quarantine (see SANITIZED)")
def test_closed_sockets_give_their_memory_back(server):
    """Browsers reconnect all day: 1,800 connect/close cycles must not grow
    the server. (Each closed session used to stay referenced from its own
    hub record, about 6 KiB apiece.)"""
    token = server.admin_token()
    rounds, per_round = 6, 300

    async def cycle():
        sockets = await asyncio.gather(*(connect(server, token) for _ in range(per_round)))
        await asyncio.gather(*(first_heartbeat(ws) for ws in sockets))
        await asyncio.gather(*(ws.close() for ws in sockets))
        await asyncio.sleep(0.3)  # let the server finish its side of the closes

    async def scenario():
        rss = []
        for _ in range(rounds):
            await cycle()
            rss.append(server.rss_kib())
        return rss

    rss = run(scenario(), timeout=120)
    # Two rounds warm the allocator up; after that the footprint is flat
    # (the leak this guards against grew ~1.8 MiB per round).
    growth = rss[-1] - rss[1]
    closed = (rounds - 2) * per_round
    assert growth < 2048, f"RSS grew {growth} KiB over {closed} closed sockets: {rss}"
