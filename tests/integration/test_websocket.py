"""Real-time protocol (SPEC §11): authentication, heartbeats, client messages,
routing of events to users, and `resume` across disconnects and restarts.

Every test talks to a real `barbossa serve` with HEARTBEAT_SECONDS=1.
"""
import asyncio
import signal
import threading
import time
from datetime import datetime, timezone

import requests
import websockets

from wsclient import (HEARTBEAT, RawWebSocket, collect, connect, first_heartbeat, forge_token,
                      in_thread, next_message, recv_json, request, run, send_json,
                      server_secret, wait_closed)

USER_PASSWORD = "user-pass-123"


def parse_ts(value):
    """ISO-8601 UTC ('...Z' or '+00:00') → aware datetime; fails otherwise."""
    assert isinstance(value, str) and (value.endswith("Z") or value.endswith("+00:00")), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def assert_recent(value, slack=10):
    ts = parse_ts(value)
    assert abs((datetime.now(timezone.utc) - ts).total_seconds()) < slack, value


def make_user(server, name, is_admin=False):
    user = server.create_user(name, USER_PASSWORD, is_admin=is_admin)
    return user["id"], server.login(name, USER_PASSWORD)


def notify(server, admin_token, user_id, title="Hello", message="World", level="info"):
    r = server.request("POST", "/api/admin/notifications", token=admin_token,
                       json_body={"user_id": user_id, "title": title, "message": message,
                                  "level": level})
    assert r.status_code == 202, r.text
    return r.json()["seq"]


def heart(server, token, album_id, expect=201):
    r = server.request("POST", f"/api/me/library/albums/{album_id}", token=token)
    assert r.status_code == expect, r.text
    return r.json()


# --- authentication ------------------------------------------------------------

def test_bad_tokens_are_accepted_then_closed_with_4001(server):
    admin_id = 1
    secret = server_secret(server)
    bad = {
        "missing": None,
        "empty": "",
        "malformed": "not-a-token",
        "three garbage parts": "abc.def.ghi",
        "expired": forge_token(secret, admin_id, "admin", True, exp_offset=-60),
        "forged": forge_token("x" * 48, admin_id, "admin", True),
        "unknown user": forge_token(secret, 999999, "ghost", True),
    }

    async def scenario():
        # Control: the forging helper makes tokens the server accepts, so the
        # expired case fails only because of its `exp`.
        good = await connect(server, forge_token(secret, admin_id, "admin", True))
        assert (await first_heartbeat(good))["type"] == HEARTBEAT
        await good.close()

        for label, token in bad.items():
            # The upgrade itself succeeds (no InvalidStatusCode) ...
            ws = await connect(server, token)
            received = []
            try:
                while True:
                    received.append(await recv_json(ws, 5))
            except websockets.ConnectionClosed:
                pass
            # ... and then the server closes with 4001 before sending anything.
            assert (ws.close_code, ws.close_reason) == (4001, "Invalid token"), label
            assert received == [], (label, received)

    run(scenario())


def test_unauthenticated_socket_that_keeps_talking_is_ignored_not_fatal(server):
    """A client may send before it reads the 4001 close: the server must not
    act on it (it has no user) and must certainly not crash."""
    raw = RawWebSocket(server, "not-a-token")
    for text in ('{"type":"subscribe","channel":"activity"}', '{"type":"resume","after_seq":0}',
                 '{"type":"unsubscribe","channel":"library"}', '{"type":"ping"}', "{bad json"):
        raw.send_text(text)
    messages, code, reason, eof = raw.read_until_close(5)
    raw.close()
    assert (code, reason, eof) == (4001, "Invalid token", False)
    assert messages == []
    time.sleep(0.3)
    assert server.proc.poll() is None, "server died:\n" + server.read_log()[-2000:]
    assert server.request("GET", "/health").status_code == 200


# --- heartbeats and client messages --------------------------------------------

def test_connecting_while_events_flow_loses_and_repeats_nothing(server):
    """The first message is the heartbeat even while events are being
    published, and after it the socket gets exactly the events with a
    higher seq: none lost at the seam, none that the heartbeat's seq
    already covers."""
    b_id, b_token = make_user(server, "bert")
    admin_token = server.admin_token()
    published = []
    stop = threading.Event()

    def publish():
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {admin_token}"
            while not stop.is_set():
                r = http.post(server.base + "/api/admin/notifications", timeout=10,
                              json={"user_id": b_id, "title": "t", "message": "m"})
                assert r.status_code == 202, r.text
                published.append(r.json()["seq"])

    async def scenario():
        publisher = threading.Thread(target=publish, daemon=True)
        publisher.start()
        sockets = []
        try:
            for _ in range(15):
                await asyncio.sleep(0.05)
                ws = await connect(server, b_token)
                first = await recv_json(ws, 3)
                assert first["type"] == "heartbeat", first
                sockets.append((ws, first["seq"]))
        finally:
            stop.set()
            await in_thread(publisher.join)
        assert len(published) > 50, "the publisher was too slow to test anything"
        for ws, hb_seq in sockets:
            want = [seq for seq in published if seq > hb_seq]
            got = []
            while len(got) < len(want):
                got.append((await next_message(ws, 3))["seq"])
            assert got == want
            assert await collect(ws, 0.2) == []
            await ws.close()

    run(scenario())



def test_heartbeat_at_once_and_every_interval(server):
    token = server.admin_token()

    async def scenario():
        ws = await connect(server, token)
        t_open = time.monotonic()
        hb1 = await recv_json(ws, 1.0)
        t1 = time.monotonic()
        assert hb1["type"] == "heartbeat"
        assert hb1["interval"] == 1
        assert isinstance(hb1["seq"], int) and hb1["seq"] >= 0
        assert_recent(hb1["timestamp"])
        assert t1 - t_open < 1.0  # "at once", not after the first interval

        hb2 = await recv_json(ws, 3.0)
        t2 = time.monotonic()
        assert hb2["type"] == "heartbeat", hb2
        assert 0.5 <= t2 - t1 <= 2.0, t2 - t1
        assert hb2["seq"] >= hb1["seq"]
        assert parse_ts(hb2["timestamp"]) > parse_ts(hb1["timestamp"])
        await ws.close()

    run(scenario())


def test_ping_answers_pong(server):
    token = server.admin_token()

    async def scenario():
        ws = await connect(server, token)
        await first_heartbeat(ws)
        pong = await request(ws, {"type": "ping"})
        assert pong["type"] == "pong"
        assert_recent(pong["timestamp"])
        await ws.close()

    run(scenario())


def test_subscribe_rules(server):
    _, user_token = make_user(server, "alice")
    admin_token = server.admin_token()

    async def scenario():
        user = await connect(server, user_token)
        admin = await connect(server, admin_token)
        await first_heartbeat(user)
        await first_heartbeat(admin)

        for ws in (user, admin):
            err = await request(ws, {"type": "subscribe", "channel": "no-such-channel"})
            assert err["type"] == "error" and isinstance(err["message"], str) and err["message"]

        for channel in ("review", "system"):
            err = await request(user, {"type": "subscribe", "channel": channel})
            assert err["type"] == "error" and err["message"], (channel, err)
        ok = await request(user, {"type": "subscribe", "channel": "activity"})
        assert ok == {"type": "subscribed", "channel": "activity"}

        for channel in ("review", "system"):
            ok = await request(admin, {"type": "subscribe", "channel": channel})
            assert ok == {"type": "subscribed", "channel": channel}
        ok = await request(admin, {"type": "unsubscribe", "channel": "review"})
        assert ok == {"type": "unsubscribed", "channel": "review"}

        err = await request(user, {"type": "subscribe"})
        assert err["type"] == "error"
        await user.close()
        await admin.close()

    run(scenario())


def test_unsubscribe_stops_channel_events_but_not_notifications(server):
    alice_id, alice_token = make_user(server, "alice")
    admin_token = server.admin_token()
    albums = [server.add_album("Can", f"Album {i}") for i in range(2)]

    async def scenario():
        ws = await connect(server, alice_token)
        await first_heartbeat(ws)
        ok = await request(ws, {"type": "unsubscribe", "channel": "activity"})
        assert ok["type"] == "unsubscribed"
        await in_thread(heart, server, admin_token, albums[0])
        seq = await in_thread(notify, server, admin_token, alice_id)
        # The heart's activity event is skipped; the notification is not.
        msg = await next_message(ws, 3)
        assert msg["type"] == "notification" and msg["seq"] == seq, msg

        ok = await request(ws, {"type": "subscribe", "channel": "activity"})
        assert ok["type"] == "subscribed"
        await in_thread(heart, server, admin_token, albums[1])
        msg = await next_message(ws, 3)
        assert msg["type"] == "activity" and msg["entity_id"] == albums[1], msg
        await ws.close()

    run(scenario())


def test_bad_messages_get_errors_and_the_socket_stays_open(server):
    token = server.admin_token()
    bad_messages = [
        "{not json",
        "",
        "[1, 2]",
        '"just a string"',
        '{"no_type": 1}',
        '{"type": 5}',
        '{"type": "no-such-type"}',
        '{"type": "resume"}',
        '{"type": "resume", "after_seq": -1}',
        '{"type": "resume", "after_seq": "7"}',
        '{"type": "subscribe", "channel": 3}',
        # Large but under the 64 KiB limit: an error, not a close.
        '{"type": "' + "x" * (60 * 1024) + '"}',
    ]

    async def scenario():
        ws = await connect(server, token)
        await first_heartbeat(ws)
        for text in bad_messages:
            await ws.send(text)
            err = await next_message(ws, 3)
            assert err["type"] == "error", (text[:40], err)
            assert isinstance(err["message"], str) and err["message"]
            assert len(err["message"]) < 1024  # no echo of a huge payload
            pong = await request(ws, {"type": "ping"})
            assert pong["type"] == "pong", (text[:40], pong)
        await ws.close()

    run(scenario())


def test_message_over_64_kib_closes_1009(server):
    token = server.admin_token()

    async def scenario():
        ws = await connect(server, token)
        await first_heartbeat(ws)
        await ws.send('{"type": "ping", "pad": "' + "x" * (70 * 1024) + '"}')
        code, _ = await wait_closed(ws, 5)
        assert code == 1009

    run(scenario())


# --- routing -------------------------------------------------------------------

def test_notification_reaches_all_sockets_of_its_user_only(server):
    a_id, a_token = make_user(server, "anna")
    _, b_token = make_user(server, "bert")
    admin_token = server.admin_token()

    async def scenario():
        a1, a2 = await connect(server, a_token), await connect(server, a_token)
        b1, b2 = await connect(server, b_token), await connect(server, b_token)
        admin = await connect(server, admin_token)
        everyone = [a1, a2, b1, b2, admin]
        for ws in everyone:
            await first_heartbeat(ws)

        seq = await in_thread(notify, server, admin_token, a_id, "Disk", "Almost full", "warning")
        for ws in (a1, a2):
            msg = await next_message(ws, 2)
            assert msg["type"] == "notification"
            assert (msg["title"], msg["message"], msg["level"], msg["seq"]) == \
                ("Disk", "Almost full", "warning", seq)
            assert_recent(msg["timestamp"])
        # Not to another user, and not to admins either: it is A's alone.
        for ws in (b1, b2, admin):
            assert await collect(ws, 1.0) == []
        for ws in everyone:
            await ws.close()

    run(scenario())


def test_system_events_reach_admins_only(server):
    """Account changes are `user_updated` events on the admin-only system channel."""
    _, u_token = make_user(server, "plainuser")
    admin_token = server.admin_token()

    async def scenario():
        admin = await connect(server, admin_token)
        user = await connect(server, u_token)
        await first_heartbeat(admin)
        await first_heartbeat(user)
        r = server.request("POST", "/api/admin/users", token=admin_token,
                           json_body={"username": "newcomer", "password": "newcomer-pass-1"})
        assert r.status_code == 201, r.text
        msg = await next_message(admin, 3)
        assert msg["type"] == "user_updated"
        assert (msg["username"], msg["action"], msg["user_id"]) == ("newcomer", "created", r.json()["id"])
        assert msg["seq"] >= 1
        assert await collect(user, 1.0) == []
        # An admin who unsubscribes from `system` stops getting them.
        await admin.send('{"type":"unsubscribe","channel":"system"}')
        assert (await next_message(admin, 3))["type"] == "unsubscribed"
        r = server.request("DELETE", f"/api/admin/users/{r.json()['id']}", token=admin_token)
        assert r.status_code == 204
        assert await collect(admin, 1.0) == []
        await admin.close()
        await user.close()

    run(scenario())


def test_heart_publishes_activity_to_other_users_once(server):
    a_id, a_token = make_user(server, "anna")
    b_id, b_token = make_user(server, "bert")
    admin_token = server.admin_token()
    album = server.add_album("Boards of Canada", "Geogaddi", year=2002)

    async def scenario():
        a = await connect(server, a_token)
        b = await connect(server, b_token)
        hb = await first_heartbeat(b)
        await first_heartbeat(a)

        await in_thread(heart, server, a_token, album, 201)
        for ws in (b, a):
            ev = await next_message(ws, 2)
            assert ev["type"] == "activity", ev
            assert ev["action"] == "heart"
            assert ev["username"] == "anna" and ev["user_id"] == a_id
            assert ev["entity_type"] == "album" and ev["entity_id"] == album
            assert ev["details"]["artist"] == "Boards of Canada"
            assert ev["details"]["title"] == "Geogaddi"
            assert isinstance(ev["seq"], int) and ev["seq"] > hb["seq"]
            assert_recent(ev["timestamp"])
        heart_seq = ev["seq"]

        # Hearting again changes nothing and publishes nothing: the next
        # event B sees is the notification, with the very next seq.
        await in_thread(heart, server, a_token, album, 200)
        seq = await in_thread(notify, server, admin_token, b_id)
        ev = await next_message(b, 2)
        assert ev["type"] == "notification" and ev["seq"] == seq == heart_seq + 1, ev
        await a.close()
        await b.close()

    run(scenario())


# --- resume --------------------------------------------------------------------

def test_resume_replays_exactly_the_missed_visible_events(server):
    a_id, a_token = make_user(server, "anna")
    b_id, b_token = make_user(server, "bert")
    c_id, _ = make_user(server, "carl")
    admin_token = server.admin_token()
    albums = [server.add_album("Low", f"Record {i}") for i in range(4)]

    async def scenario():
        b = await connect(server, b_token)
        seen = (await first_heartbeat(b))["seq"]
        await b.close()

        expected = []
        for i, album in enumerate(albums):
            await in_thread(heart, server, a_token, album)
            if i == 1:
                await in_thread(notify, server, admin_token, c_id)  # not B's
                expected.append(await in_thread(notify, server, admin_token, b_id, "For", "B"))
        last = await in_thread(notify, server, admin_token, a_id)  # not B's either

        b = await connect(server, b_token)
        await first_heartbeat(b)
        await send_json(b, {"type": "resume", "after_seq": seen})
        got = []
        while True:
            msg = await next_message(b, 3)
            if msg["type"] == "resumed":
                break
            got.append(msg)
        assert [m["type"] for m in got] == ["activity", "activity", "notification",
                                            "activity", "activity"], got
        assert [m["entity_id"] for m in got if m["type"] == "activity"] == albums
        assert got[2]["seq"] == expected[0]
        seqs = [m["seq"] for m in got]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and seqs[0] > seen
        assert msg["from"] == seen
        assert msg["to"] >= last

        # Live delivery continues after the replay, without repeats.
        new_album = await in_thread(server.add_album, "Low", "Live")
        await in_thread(heart, server, a_token, new_album)
        ev = await next_message(b, 2)
        assert ev["type"] == "activity" and ev["entity_id"] == new_album and ev["seq"] > last

        # Nothing missed: just `resumed`.
        assert await request(b, {"type": "resume", "after_seq": ev["seq"]}) == \
            {"type": "resumed", "from": ev["seq"], "to": ev["seq"]}
        await b.close()

    run(scenario())


def test_resume_beyond_the_buffer_requires_resync(server_factory):
    server = server_factory(HEARTBEAT_SECONDS=1, EVENT_BUFFER=5)
    b_id, b_token = make_user(server, "bert")
    admin_token = server.admin_token()

    async def scenario():
        b = await connect(server, b_token)
        seen = (await first_heartbeat(b))["seq"]
        await b.close()
        seqs = [await in_thread(notify, server, admin_token, b_id, "n", str(i)) for i in range(8)]

        b = await connect(server, b_token)
        await first_heartbeat(b)
        answer = await request(b, {"type": "resume", "after_seq": seen})
        assert answer == {"type": "resync_required"}
        # The last five are still buffered.
        await send_json(b, {"type": "resume", "after_seq": seqs[-4]})
        got = [await next_message(b, 2) for _ in range(4)]
        assert [m["seq"] for m in got[:3]] == seqs[-3:]
        assert [m["message"] for m in got[:3]] == ["5", "6", "7"]
        assert got[3] == {"type": "resumed", "from": seqs[-4], "to": seqs[-1]}
        # A seq this server never handed out cannot be resumed either.
        assert await request(b, {"type": "resume", "after_seq": seqs[-1] + 100}) == \
            {"type": "resync_required"}
        await b.close()

    run(scenario())


def test_seq_never_goes_backwards_across_restarts(server_factory):
    server = server_factory(HEARTBEAT_SECONDS=1)
    b_id, b_token = make_user(server, "bert")
    admin_token = server.admin_token()

    async def seq_after_events():
        for _ in range(3):
            await in_thread(notify, server, admin_token, b_id)
        ws = await connect(server, b_token)
        seq = (await first_heartbeat(ws))["seq"]
        await ws.close()
        return seq

    async def after_restart(old_seq):
        ws = await connect(server, b_token)
        assert (await first_heartbeat(ws))["seq"] >= old_seq
        # The old process's events are gone with it.
        assert await request(ws, {"type": "resume", "after_seq": old_seq}) == \
            {"type": "resync_required"}
        new_seq = await in_thread(notify, server, admin_token, b_id)
        assert new_seq > old_seq
        ev = await next_message(ws, 2)
        assert ev["type"] == "notification" and ev["seq"] == new_seq
        await ws.close()
        return new_seq

    seq1 = run(seq_after_events())
    assert seq1 >= 3
    for sig in (signal.SIGTERM, signal.SIGKILL):  # clean stop, then a crash
        server.stop(sig)
        server.start()
        seq1 = run(after_restart(seq1))
