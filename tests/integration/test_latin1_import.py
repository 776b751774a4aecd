"""Names in other encodings (issue 9, item 3): an album folder named in
Latin-1 (bytes "Caf\\xe9 Tacuba", as old systems and some downloads write
them) with untagged files goes to review; its import_review event reaches a
WebSocket client as valid JSON; /api/review lists it in valid UTF-8; approving
it with a name imports it into the library. The server never throws on it."""
import json
import os
import time

import audio
from conftest import run_cli

LATIN1_FOLDER = b"Caf\xe9 Tacuba"          # "Café Tacuba" in Latin-1
LATIN1_TRACKS = [b"01 - Caf\xe9 \x93Intro\x94.flac", b"02 - Se\xf1or.flac"]


def latin1_album(root):
    """The folder and its files named in Latin-1/Windows-1252 bytes; no tags."""
    folder = os.path.join(os.fsencode(root), LATIN1_FOLDER)
    os.mkdir(folder)
    for i, name in enumerate(LATIN1_TRACKS):
        audio.flac(os.fsdecode(os.path.join(folder, name)), {}, freq=300 + 50 * i,
                   scratch=os.path.join(str(root), ".scratch"))
    return folder


def strict_json(raw):
    """Parses text that must be valid UTF-8 JSON (bytes are decoded strictly)."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="strict")
    return json.loads(raw)


def test_latin1_folder_without_tags_goes_to_review_and_its_event_arrives(server_factory, tmp_path):
    from wsclient import connect, first_heartbeat, next_message, run

    s = server_factory(WATCH_SETTLE_SECONDS=1, HEARTBEAT_SECONDS=1)
    t = s.admin_token()
    src = latin1_album(tmp_path)

    async def scenario():
        ws = await connect(s, t)
        await first_heartbeat(ws)
        # Renamed in whole into the watch folder: complete at once.
        os.rename(src, os.path.join(os.fsencode(s.data_dir / "import" / "pending"), LATIN1_FOLDER))
        # The websockets library refuses a text frame that is not UTF-8, so
        # receiving it at all proves the event is valid.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            msg = await next_message(ws, timeout=deadline - time.monotonic())
            if msg["type"] == "import_review":
                await ws.close()
                return msg
        raise AssertionError("no import_review event")

    event = run(scenario())
    assert event["path"] == "Café Tacuba", event
    assert event["review_id"] > 0
    assert event["reasons"], event

    r = s.request("GET", "/api/review?status=pending", token=t)
    assert r.status_code == 200
    listing = strict_json(r.content)
    assert listing["total"] == 1, listing
    item = listing["items"][0]
    assert item["id"] == event["review_id"]
    assert item["path_name"] == "Café Tacuba"
    assert item["track_count"] == 2
    # The album title falls back to the folder name, read as Windows-1252.
    assert "Café Tacuba" in json.dumps(item, ensure_ascii=False), item
    assert (s.data_dir / "import" / "review" / "Café Tacuba").is_dir()

    r = s.request("GET", "/api/activity", token=t)
    assert r.status_code == 200
    strict_json(r.content)

    r = s.request("POST", f"/api/review/{item['id']}/approve", token=t,
                  json_body={"artist": "Café Tacuba", "album": "Re", "year": 1994})
    assert r.status_code == 200, r.text
    body = strict_json(r.content)
    assert body["status"] == "imported" and body["album_id"], body
    album = strict_json(s.request("GET", f"/api/albums/{body['album_id']}", token=t).content)
    assert album["artist"]["name"] == "Café Tacuba" and album["title"] == "Re"
    titles = [tr["title"] for tr in album["tracks"]]
    assert len(titles) == 2, album
    # Titles from the Latin-1 file names read right (no U+FFFD).
    assert all("\ufffd" not in title for title in titles), titles
    lib = s.data_dir / "library" / "Café Tacuba" / "Re (1994)"
    assert len(audio.files_under(lib)) == 2, audio.files_under(s.data_dir / "library")
    assert not (s.data_dir / "import" / "review" / "Café Tacuba").exists()

    # The log is valid UTF-8: the raw byte of the folder name is shown escaped.
    raw = s.log_path.read_bytes()
    raw.decode("utf-8", errors="strict")
    assert b"Caf\\xE9 Tacuba" in raw, raw[-2000:]


def test_cli_import_of_a_latin1_folder_answers_valid_json(server_factory, tmp_path):
    s = server_factory()
    src = latin1_album(tmp_path)
    proc = run_cli(s.data_dir, "import", "--json", os.fsdecode(src), check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr   # 2: sent to review
    lines = [strict_json(line) for line in proc.stdout.splitlines() if line.strip()]
    assert lines[0]["status"] == "review" and lines[0]["review_id"] > 0, lines
    assert not os.path.exists(src), "the source was moved into review"
    t = s.admin_token()
    item = strict_json(s.request("GET", f"/api/review/{lines[0]['review_id']}", token=t).content)
    assert item["path_name"] == "Café Tacuba", item
