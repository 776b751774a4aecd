"""permessage-deflate: off unless WS_DEFLATE is set; when on, events arrive
compressed and compressed client messages are understood."""
import json

from wsclient import connect, first_heartbeat, next_message, run

USER_PASSWORD = "user-pass-123"


def negotiated(ws):
    return [type(e).__name__ for e in ws.extensions]


def test_deflate_is_off_by_default(server):
    token = server.admin_token()

    async def scenario():
        ws = await connect(server, token, compression="deflate")
        assert negotiated(ws) == []
        await first_heartbeat(ws)
        await ws.close()

    run(scenario())


def test_deflate_when_enabled(server_factory):
    server = server_factory(HEARTBEAT_SECONDS=1, WS_DEFLATE="true")
    admin_token = server.admin_token()
    user = server.create_user("deflated", USER_PASSWORD)
    token = server.login("deflated", USER_PASSWORD)
    album = server.add_album("Autechre", "Amber", year=1994)

    async def scenario():
        ws = await connect(server, token, compression="deflate")
        plain = await connect(server, admin_token, compression=None)
        assert negotiated(ws) == ["PerMessageDeflate"]
        assert negotiated(plain) == []
        await first_heartbeat(ws)
        await first_heartbeat(plain)
        # The client compresses what it sends; the server must inflate it.
        await ws.send(json.dumps({"type": "ping", "padding": "x" * 2000}))
        assert (await next_message(ws, 3))["type"] == "pong"
        # A shared compressed event and a plain one carry the same content.
        r = server.request("POST", f"/api/me/library/albums/{album}", token=token)
        assert r.status_code == 201, r.text
        a = await next_message(ws, 3)
        b = await next_message(plain, 3)
        assert a == b
        assert (a["type"], a["action"], a["username"], a["details"]["title"]) == \
            ("activity", "heart", "deflated", "Amber")
        # A compressed message over 64 KiB once inflated is refused with 1009.
        await ws.send(json.dumps({"type": "ping", "padding": "z" * (200 * 1024)}))
        await ws.wait_closed()
        assert ws.close_code == 1009
        await plain.close()

    run(scenario())
    assert user["username"] == "deflated"
