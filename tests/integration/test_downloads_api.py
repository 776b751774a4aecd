"""Download records and their API (SPEC §7, §10, §11), before any source runs:
a created download is queued and stays `pending`. Owner-or-admin access,
URL validation, `auto` source resolution, cancel, retry, dismiss, and the
`download_queued` / `download_cancelled` events on the owner's and admins'
sockets only.
"""
from wsclient import collect, connect, first_heartbeat, in_thread, run

SHAPE = {"id", "user_id", "source", "url", "status", "progress", "bytes_done", "bytes_total",
         "speed_bps", "eta_seconds", "error", "album_id", "review_id", "created_at", "updated_at"}
ZIP = "http://127.0.0.1:9/album.zip"


def user(server, name):
    created = server.create_user(name)
    return created["id"], server.login(name, "user-pass-123")


def create(server, token, url=ZIP, expect=201, **fields):
    r = server.request("POST", "/api/downloads", token=token, json_body={"url": url, **fields})
    assert r.status_code == expect, r.text
    return r.json()


def call(server, method, path, token, expect):
    r = server.request(method, path, token=token)
    assert r.status_code == expect, r.text
    return r.json() if r.content else None


def test_create_answers_the_download_and_queues_its_job(server):
    uid, token = user(server, "alice")
    d = create(server, token)
    assert set(d) >= SHAPE, d
    assert d["user_id"] == uid and d["url"] == ZIP and d["source"] == "http"
    assert d["status"] == "pending" and d["progress"] == 0 and d["bytes_done"] == 0
    assert d["error"] is None and d["album_id"] is None and d["review_id"] is None
    assert call(server, "GET", f"/api/downloads/{d['id']}", token, 200) == d
    admin = server.admin_token()
    jobs = call(server, "GET", "/api/admin/jobs?queue=downloads", admin, 200)["items"]
    assert [j["payload"] for j in jobs if j["type"] == "download"] == [{"download_id": d["id"]}]
    activity = call(server, "GET", "/api/activity", token, 200)["items"]
    started = [a for a in activity if a["action"] == "download_started"]
    assert started and started[0]["entity_id"] == d["id"], activity


def test_bad_requests_get_clear_errors(server):
    _, token = user(server, "alice")
    for url, words in [("ftp://example.org/a.zip", "http and https"),
                       ("https://bob:secret@example.org/a.zip", "password"),
                       ("https:///a.zip", "no host"),
                       ("https://example.org/" + "a" * 2048, "longer than 2048"),
                       ("", "empty")]:
        r = server.request("POST", "/api/downloads", token=token, json_body={"url": url})
        assert r.status_code == 422, (url, r.text)
        assert words in r.json()["error"]["message"], r.text
    r = server.request("POST", "/api/downloads", token=token,
                       json_body={"url": "https://www.youtube.com/watch?v=x"})
    assert r.status_code == 422 and "confirm_lossy" in r.json()["error"]["message"], r.text
    r = server.request("POST", "/api/downloads", token=token,
                       json_body={"url": ZIP, "source": "ytdlp", "confirm_lossy": False})
    assert r.status_code == 422, r.text
    for body in [{"url": ZIP, "source": "torrent"}, {"url": 5}, {}, {"url": ZIP, "confirm_lossy": 1}]:
        r = server.request("POST", "/api/downloads", token=token, json_body=body)
        assert r.status_code == 400, (body, r.text)
    assert server.request("POST", "/api/downloads", json_body={"url": ZIP}).status_code == 401
    assert call(server, "GET", "/api/downloads", token, 200)["total"] == 0


def test_auto_picks_the_source_by_site(server):
    _, token = user(server, "alice")
    cases = {"https://play.qobuz.com/album/abc": "qobuz",
             "https://open.qobuz.com/album/abc": "qobuz",
             "https://music.youtube.com/watch?v=x": "ytdlp",
             "https://youtu.be/x": "ytdlp",
             "https://soundcloud.com/a/b": "ytdlp",
             "https://artist.bandcamp.com/album/b": "ytdlp",
             "https://example.org/a.flac": "http"}
    for url, source in cases.items():
        d = create(server, token, url, confirm_lossy=True)
        assert d["source"] == source, (url, d)
    assert create(server, token, "https://youtu.be/y", source="http")["source"] == "http"


def test_owners_see_their_own_admins_see_all(server):
    _, a_token = user(server, "alice")
    _, b_token = user(server, "bob")
    admin = server.admin_token()
    a = create(server, a_token)
    b = create(server, b_token)
    mine = call(server, "GET", "/api/downloads", a_token, 200)
    assert [d["id"] for d in mine["items"]] == [a["id"]] and mine["total"] == 1
    assert call(server, "GET", "/api/downloads", admin, 200)["total"] == 2
    for method, path in [("GET", ""), ("POST", "/cancel"), ("POST", "/retry"), ("DELETE", "")]:
        r = server.request(method, f"/api/downloads/{b['id']}{path}", token=a_token)
        assert r.status_code == 404, (method, path, r.text)
    assert call(server, "GET", "/api/downloads/999999", admin, 404)
    assert call(server, "GET", f"/api/downloads/{a['id']}", admin, 200)["id"] == a["id"]
    assert call(server, "POST", f"/api/downloads/{b['id']}/cancel", admin, 200)["status"] == \
        "cancelled"
    paged = call(server, "GET", "/api/downloads?limit=1&offset=1", admin, 200)
    assert paged["total"] == 2 and [d["id"] for d in paged["items"]] == [a["id"]]
    assert call(server, "GET", "/api/downloads?limit=5000", admin, 200)["limit"] == 200


def test_cancel_retry_dismiss_and_the_status_filter(server):
    _, token = user(server, "alice")
    d = create(server, token)
    path = f"/api/downloads/{d['id']}"
    assert call(server, "POST", path + "/retry", token, 409)["error"]["code"] == "conflict"
    assert "cancel" in call(server, "DELETE", path, token, 409)["error"]["message"]
    assert call(server, "POST", path + "/cancel", token, 200)["status"] == "cancelled"
    assert call(server, "POST", path + "/cancel", token, 409)
    assert call(server, "GET", "/api/downloads?status=cancelled", token, 200)["total"] == 1
    assert call(server, "GET", "/api/downloads?status=pending", token, 200)["total"] == 0
    assert call(server, "GET", "/api/downloads?status=bogus", token, 400)
    assert call(server, "POST", path + "/retry", token, 200)["status"] == "pending"
    assert call(server, "GET", "/api/downloads?status=pending", token, 200)["total"] == 1
    call(server, "POST", path + "/cancel", token, 200)
    assert call(server, "DELETE", path, token, 204) is None
    assert call(server, "GET", "/api/downloads", token, 200)["total"] == 0
    assert call(server, "GET", path, token, 404)
    assert call(server, "DELETE", path, token, 404)


def test_events_reach_the_owner_and_admins_only(server):
    a_id, a_token = user(server, "alice")
    _, b_token = user(server, "bob")
    admin = server.admin_token()

    async def scenario():
        sockets = [await connect(server, t) for t in (a_token, b_token, admin)]
        for ws in sockets:
            await first_heartbeat(ws)
        d = await in_thread(create, server, a_token)
        await in_thread(call, server, "POST", f"/api/downloads/{d['id']}/cancel", a_token, 200)
        await in_thread(call, server, "POST", f"/api/downloads/{d['id']}/retry", a_token, 200)
        seen = []
        for ws in sockets:
            events = await collect(ws, 1.0)
            seen.append([e for e in events if e["type"].startswith("download_")])
            await ws.close()
        owner, other, admins = seen
        assert other == [], other
        for events in (owner, admins):
            assert [e["type"] for e in events] == \
                ["download_queued", "download_cancelled", "download_queued"], events
            queued = events[0]
            assert queued["download_id"] == d["id"] and queued["user_id"] == a_id
            assert queued["source"] == "http" and queued["url"] == ZIP
            assert queued["status"] == "pending"
            assert events[1]["download_id"] == d["id"]
            assert events[0]["seq"] < events[1]["seq"] < events[2]["seq"]

    run(scenario())
