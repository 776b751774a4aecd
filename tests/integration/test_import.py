"""The import pipeline end to end (SPEC §3-5): real audio files made by sox,
flac and lame go through `barbossa import` and the review API of a running
server, and land in the library, in review, or back where they were."""
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

import audio
from conftest import BIN, Server, run_cli


def import_json(data_dir, *paths, extra=(), expect=None):
    proc = run_cli(data_dir, *extra, "import", "--json", *map(str, paths), check=False)
    lines = [json.loads(l) for l in proc.stdout.splitlines() if l.strip()]
    if expect is not None:
        assert proc.returncode == expect, proc.stdout + proc.stderr
    return proc.returncode, lines


@pytest.fixture
def inbox(tmp_path):
    p = tmp_path / "inbox"
    p.mkdir()
    return p


@pytest.fixture
def data(tmp_path):
    return tmp_path / "data"


def library(data):
    return data / "library"


def test_clean_flac_album_lands_in_layout_with_right_quality_and_checksums(server_factory, inbox):
    src16 = audio.album(inbox, "The Tonesmiths", "Blue Signal", 1999, tracks=3,
                        titles=["Opening", "Middle", "Closing"])
    src24 = audio.album(inbox, "The Tonesmiths", "Night Echo", 2004, tracks=2, rate=96000, bits=24,
                        titles=["Dawn", "Dusk"])
    s = server_factory()
    code, out = import_json(s.data_dir, src16, src24, expect=0)
    assert [o["status"] for o in out] == ["imported", "imported"], out
    lib = library(s.data_dir)
    assert audio.files_under(lib / "The Tonesmiths" / "Blue Signal (1999)") == [
        "01 - Opening.flac", "02 - Middle.flac", "03 - Closing.flac"]
    assert audio.files_under(lib / "The Tonesmiths" / "Night Echo (2004)") == [
        "01 - Dawn.flac", "02 - Dusk.flac"]
    assert not src16.exists() and not src24.exists(), "the sources were moved, not copied"

    t = s.admin_token()
    a16 = s.request("GET", f"/api/albums/{out[0]['album_id']}", token=t).json()
    a24 = s.request("GET", f"/api/albums/{out[1]['album_id']}", token=t).json()
    assert a16["title"] == "Blue Signal" and a16["year"] == 1999
    assert a16["artist"]["name"] == "The Tonesmiths"
    assert a16["quality"]["sample_rate"] == 44100 and a16["quality"]["bit_depth"] == 16
    assert a16["quality"]["lossless"] is True
    assert a24["quality"]["sample_rate"] == 96000 and a24["quality"]["bit_depth"] == 24
    assert [tr["title"] for tr in a16["tracks"]] == ["Opening", "Middle", "Closing"]
    for tr in a16["tracks"]:
        assert tr["format"] == "flac" and tr["lossless"] is True
        assert 900 <= tr["duration_ms"] <= 1100
        assert tr["channels"] == 2
    for album_json, folder in ((a16, "Blue Signal (1999)"), (a24, "Night Echo (2004)")):
        for tr in album_json["tracks"]:
            f = lib / "The Tonesmiths" / folder / f"{tr['number']:02d} - {tr['title']}.flac"
            assert tr["sha256"] == audio.sha256sum(f)
            assert tr["file_size"] == f.stat().st_size


def test_multi_disc_by_tags_and_by_folders_single_disc_has_no_disc_folder(data, inbox):
    by_tags = audio.album(inbox, "Disc Band", "Two Sides", 2010, tracks=2, discs=2)
    by_folders = audio.album(inbox, "Disc Band", "Folder Sides", 2011, tracks=2, discs="folders")
    single = audio.album(inbox, "Disc Band", "One Side", 2012, tracks=2)
    import_json(data, by_tags, by_folders, single, expect=0)
    lib = library(data) / "Disc Band"
    assert audio.files_under(lib / "Two Sides (2010)") == [
        "Disc 1/01 - Song 1-1.flac", "Disc 1/02 - Song 1-2.flac",
        "Disc 2/01 - Song 2-1.flac", "Disc 2/02 - Song 2-2.flac"]
    assert audio.files_under(lib / "Folder Sides (2011)") == [
        "Disc 1/01 - Song 1-1.flac", "Disc 1/02 - Song 1-2.flac",
        "Disc 2/01 - Song 2-1.flac", "Disc 2/02 - Song 2-2.flac"]
    assert audio.files_under(lib / "One Side (2012)") == ["01 - Song 1-1.flac", "02 - Song 1-2.flac"]


def defect_albums(inbox):
    """Each album has one defect; returns (folder, text its reason must contain)."""
    out = []
    a = audio.album(inbox, "Defects", "No Titles", 2001, tracks=3)
    audio.flac(a / "02 - x12.flac", {"ARTIST": "Defects", "ALBUMARTIST": "Defects",
                                      "ALBUM": "No Titles", "TRACKNUMBER": "2", "DATE": "2001"})
    out.append((a, "02 - x12.flac"))
    b = audio.album(inbox, "Defects", "Generic", 2001, tracks=3,
                    titles=["Real Song", "Track 02", "Another"])
    out.append((b, "Track 02"))
    c = audio.album(inbox, "Defects", "Gap", 2001, tracks=4)
    (c / "03 - x13.flac").unlink()
    out.append((c, "3"))
    d = audio.album(inbox, "Defects", "Mixed", 2001, tracks=3)
    audio.flac(d / "03 - x13.flac", {"ARTIST": "Defects", "ALBUMARTIST": "Defects",
                                      "ALBUM": "Mixed (Deluxe Edition)", "TITLE": "Three",
                                      "TRACKNUMBER": "3", "DATE": "2001"})
    out.append((d, "Mixed (Deluxe Edition)"))
    e = audio.album(inbox, "Defects", "Zero", 2001, tracks=2)
    (e / "03 - empty.flac").write_bytes(b"")
    out.append((e, "03 - empty.flac"))
    f = audio.album(inbox, "Defects", "Garbage", 2001, tracks=2)
    (f / "03 - noise.flac").write_bytes(os.urandom(50_000))
    out.append((f, "03 - noise.flac"))
    return out


def test_each_defect_goes_to_review_with_a_reason_naming_it(server_factory, inbox):
    s = server_factory()
    cases = defect_albums(inbox)
    code, out = import_json(s.data_dir, *[c[0] for c in cases])
    assert code == 2
    for (folder, needle), result in zip(cases, out):
        assert result["status"] == "review", (folder.name, result)
        assert result["review_id"] > 0
        text = " | ".join(result["reasons"])
        assert needle in text, (folder.name, text)
        assert not folder.exists()
        assert (s.data_dir / "import" / "review" / folder.name).is_dir()
    assert audio.files_under(library(s.data_dir)) == []
    t = s.admin_token()
    assert s.request("GET", "/api/albums", token=t).json()["total"] == 0
    review = s.request("GET", "/api/review?status=pending", token=t).json()
    assert review["total"] == len(cases)
    item = review["items"][0]
    for key in ("id", "status", "path_name", "suggested_artist", "suggested_album", "suggested_year",
                "confidence", "reasons", "track_count", "source", "download_id", "created_at"):
        assert key in item
    generic = next(i for i in review["items"] if i["suggested_album"] == "Generic")
    assert generic["confidence"] < 0.95 and generic["track_count"] == 3
    # Users do not see items they did not bring in; admins-only actions.
    s.create_user("kid")
    kid = s.login("kid", "user-pass-123")
    assert s.request("GET", "/api/review", token=kid).json()["total"] == 0
    assert s.request("GET", f"/api/review/{item['id']}", token=kid).status_code == 404
    assert s.request("POST", f"/api/review/{item['id']}/approve", token=kid).status_code == 403


def test_duplicates_go_to_review_and_better_quality_replaces_in_place(server_factory, inbox, tmp_path):
    s = server_factory()
    t = s.admin_token()
    first = audio.album(inbox / "a", "Quality Co", "Same Album", 2005, tracks=2)
    _, out = import_json(s.data_dir, first, expect=0)
    album_id = out[0]["album_id"]

    # Equal quality (the very same files) and lower quality (MP3) -> duplicate.
    again = audio.album(inbox / "b", "Quality Co", "Same Album", 2005, tracks=2)
    lossy = audio.album(inbox / "c", "Quality Co", "Same Album", 2005, tracks=2, fmt="mp3")
    code, out = import_json(s.data_dir, again, lossy, expect=2)
    for o in out:
        assert o["status"] == "duplicate", o
        assert any(r.startswith(f"duplicate of album {album_id}") for r in o["reasons"]), o

    # Someone hearts it: their links must follow the album through the upgrade.
    s.create_user("fan")
    fan = s.login("fan", "user-pass-123")
    assert s.request("POST", f"/api/me/library/albums/{album_id}", token=fan).status_code == 201
    fan_dir = s.data_dir / "users" / "fan" / "Quality Co" / "Same Album (2005)"
    assert audio.files_under(fan_dir) == ["01 - Song 1-1.flac", "02 - Song 1-2.flac"]

    better = audio.album(inbox / "d", "Quality Co", "Same Album", 2005, tracks=2, rate=96000, bits=24)
    _, out = import_json(s.data_dir, better, expect=0)
    assert out[0]["status"] == "upgraded" and out[0]["album_id"] == album_id
    detail = s.request("GET", f"/api/albums/{album_id}", token=fan).json()
    assert detail["quality"]["bit_depth"] == 24 and detail["quality"]["sample_rate"] == 96000
    assert detail["is_hearted"] is True
    lib_dir = library(s.data_dir) / "Quality Co" / "Same Album (2005)"
    assert audio.files_under(lib_dir) == ["01 - Song 1-1.flac", "02 - Song 1-2.flac"]
    for name in audio.files_under(lib_dir):
        assert audio.same_file(fan_dir / name, lib_dir / name), "link points at the new file"
    trashed = [p for p in audio.files_under(s.data_dir / "trash") if p.endswith(".flac")]
    assert len(trashed) == 2, trashed
    acts = s.request("GET", "/api/activity", token=t).json()["items"]
    assert any(a["action"] == "quality_upgrade" and a["entity_id"] == album_id for a in acts)

    # FLAC over MP3: an MP3 album is replaced by its FLAC.
    mp3_first = audio.album(inbox / "e", "Quality Co", "Lossy First", 2006, tracks=2, fmt="mp3")
    _, out = import_json(s.data_dir, mp3_first, expect=0)
    lossy_id = out[0]["album_id"]
    flac_later = audio.album(inbox / "f", "Quality Co", "Lossy First", 2006, tracks=2)
    _, out = import_json(s.data_dir, flac_later, expect=0)
    assert out[0]["status"] == "upgraded" and out[0]["album_id"] == lossy_id
    assert audio.files_under(library(s.data_dir) / "Quality Co" / "Lossy First (2006)") == [
        "01 - Song 1-1.flac", "02 - Song 1-2.flac"]


def test_non_latin_and_hostile_names(data, inbox):
    jp1 = audio.album(inbox, "宇多田ヒカル", "初恋", 2018, tracks=1, titles=["誓い"])
    jp2 = audio.album(inbox, "宇多田ヒカル", "Fantôme", 2016, tracks=1, titles=["道"])
    jp3 = audio.album(inbox, "宇多田ヒカル", "花束を君に", 2016, tracks=1, titles=["桜流し"],
                      folder="jp3")
    ru = audio.album(inbox, "Кино", "Группа крови", 1988, tracks=1, titles=["Спокойная ночь"])
    el = audio.album(inbox, "Σωκράτης", "Ελληνικά", 1990, tracks=1, titles=["Άλφα"])
    hostile_title = 'a/b\\c:d*e?f"g<h>i|j'
    long_title = "長" * 100  # 300 bytes of UTF-8
    bad = audio.album(inbox, "..", "../../etc", 2000, tracks=2,
                      titles=[hostile_title, long_title], folder="bad")
    dots = audio.album(inbox, "...Dots", ".hidden", 2000, tracks=1, titles=["..."], folder="dots")
    code, out = import_json(data, jp1, jp2, jp3, ru, el, bad, dots, expect=0)
    ids = [o["album_id"] for o in out]
    assert len(set(ids)) == len(ids)
    lib = library(data)
    assert (lib / "宇多田ヒカル" / "初恋 (2018)" / "01 - 誓い.flac").is_file()
    assert (lib / "宇多田ヒカル" / "花束を君に (2016)" / "01 - 桜流し.flac").is_file()
    assert (lib / "Кино" / "Группа крови (1988)" / "01 - Спокойная ночь.flac").is_file()
    assert (lib / "Σωκράτης" / "Ελληνικά (1990)" / "01 - Άλφα.flac").is_file()
    real_lib = os.path.realpath(lib)
    for p in Path(lib).rglob("*"):
        assert os.path.realpath(p).startswith(real_lib + os.sep)
        for part in p.relative_to(lib).parts:
            raw = part.encode("utf-8", "surrogateescape")
            raw.decode("utf-8")  # valid UTF-8
            assert len(raw) <= 255
            assert not part.startswith(".") and not part.endswith(".") and part.strip() == part
            assert not any(ch in part for ch in '/\\:*?"<>|\0')
    assert not (data / "etc").exists() and not (data.parent / "etc").exists()
    names = audio.files_under(lib)
    assert any("a_b_c_d_e_f_g_h_i_j" in n for n in names), names


def test_kill_9_mid_move_leaves_all_or_nothing(tmp_path, inbox):
    data = tmp_path / "data"
    src = audio.album(inbox, "Crash Test", "Half Moved", 2020, tracks=4)
    before = {p: audio.sha256(src / p) for p in audio.files_under(src)}
    for steps in (1, 3):
        proc = run_cli(data, "--set", f"CRASH_AFTER_MOVE_STEPS={steps}", "import", str(src),
                       check=False)
        assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stdout, proc.stderr)
        # Half the files are in the library now; the next start rolls back.
        run_cli(data, "import", "--json", str(tmp_path / "does-not-exist"), check=False)
        assert {p: audio.sha256(src / p) for p in audio.files_under(src)} == before
        assert audio.files_under(library(data)) == []
        assert list((data / "journal").iterdir()) == []
    s = Server(data).start()
    try:
        t = s.admin_token()
        assert s.request("GET", "/api/albums", token=t).json()["total"] == 0
    finally:
        s.stop()
    # And the album still imports cleanly afterwards.
    _, out = import_json(data, src, expect=0)
    assert out[0]["status"] == "imported"
    assert len(audio.files_under(library(data))) == 4


def test_kill_9_mid_reject_keeps_item_and_folder_together(tmp_path, inbox):
    data = tmp_path / "data"
    src = audio.album(inbox, "Crash Test", "Generic", 2021, tracks=3,
                      titles=["Track 01", "Two", "Three"])
    _, out = import_json(data, src, expect=2)
    review_id = out[0]["review_id"]
    review = data / "import" / "review" / src.name
    before = {p: audio.sha256(review / p) for p in audio.files_under(review)}
    s = Server(data, {"CRASH_AFTER_MOVE_STEPS": 2}).start()
    try:
        s.request("POST", f"/api/review/{review_id}/reject", token=s.admin_token(), timeout=10)
    except Exception:
        pass  # the server died answering
    s.proc.wait(timeout=10)
    assert s.proc.returncode == -signal.SIGKILL
    s2 = Server(data).start()  # rolls the half-done move back
    try:
        t = s2.admin_token()
        item = s2.request("GET", f"/api/review/{review_id}", token=t).json()
        assert item["status"] == "pending"
        assert {p: audio.sha256(review / p) for p in audio.files_under(review)} == before
        assert list((data / "import" / "rejected").iterdir()) == []
        r = s2.request("POST", f"/api/review/{review_id}/reject", token=t)
        assert r.status_code in (200, 204), r.text
        assert not review.exists()
        assert audio.files_under(data / "import" / "rejected" / src.name) == sorted(before)
    finally:
        s2.stop()


def test_approve_with_corrections_and_reject_both_ways(server_factory, inbox):
    s = server_factory()
    t = s.admin_token()
    cases = defect_albums(inbox)
    _, out = import_json(s.data_dir, *[c[0] for c in cases[:3]])
    ids = [o["review_id"] for o in out]

    r = s.request("POST", f"/api/review/{ids[0]}/approve", token=t,
                  json_body={"artist": "Corrected Artist", "album": "Corrected Album", "year": 1977})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "imported" and body["album_id"]
    assert body["review"]["status"] == "approved"
    album = s.request("GET", f"/api/albums/{body['album_id']}", token=t).json()
    assert album["artist"]["name"] == "Corrected Artist" and album["title"] == "Corrected Album"
    assert album["year"] == 1977
    assert (library(s.data_dir) / "Corrected Artist" / "Corrected Album (1977)").is_dir()
    assert not (s.data_dir / "import" / "review" / cases[0][0].name).exists()
    assert s.request("POST", f"/api/review/{ids[0]}/approve", token=t).status_code == 409

    r = s.request("POST", f"/api/review/{ids[1]}/reject", token=t, json_body={"delete_files": True})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert not (s.data_dir / "import" / "review" / cases[1][0].name).exists()
    assert not (s.data_dir / "import" / "rejected" / cases[1][0].name).exists()
    r = s.request("POST", f"/api/review/{ids[2]}/reject", token=t)
    assert r.status_code == 200
    assert (s.data_dir / "import" / "rejected" / cases[2][0].name).is_dir()

    actions = [a["action"] for a in s.request("GET", "/api/activity", token=t).json()["items"]]
    assert actions.count("review_rejected") == 2 and "review_approved" in actions
    assert "new_album" in actions

    # Bad input: ids only, typed fields, unknown items.
    assert s.request("POST", "/api/review/999/approve", token=t).status_code == 404
    assert s.request("POST", f"/api/review/{ids[2]}/reject", token=t).status_code == 409
    r = s.request("POST", f"/api/review/{ids[0]}/approve", token=t, json_body={"year": "soon"})
    assert r.status_code == 400
    assert s.request("GET", "/api/review?status=bogus", token=t).status_code == 400
    assert s.request("POST", "/api/review/1/approve", token=t, data=b"{not json").status_code == 400


def test_approve_publishes_import_events(server, inbox):
    from wsclient import collect, connect, first_heartbeat, in_thread, run

    s = server
    t = s.admin_token()
    src = audio.album(inbox, "Evented", "Generic", 2003, tracks=2, titles=["Track 01", "Two"])
    _, out = import_json(s.data_dir, src, expect=2)
    review_id = out[0]["review_id"]

    async def scenario():
        ws = await connect(s, t)
        await first_heartbeat(ws)
        r = await in_thread(s.request, "POST", f"/api/review/{review_id}/approve", token=t)
        assert r.status_code == 200, r.text
        msgs = await collect(ws, 1.5)
        await ws.close()
        return r.json(), msgs

    body, msgs = run(scenario())
    by_type = {}
    for m in msgs:
        by_type.setdefault(m["type"], []).append(m)
    done = by_type["import_complete"][0]
    assert done["album_id"] == body["album_id"] and done["artist"] == "Evented"
    assert done["title"] == "Generic" and done["year"] == 2003 and done["source"] == "manual"
    upd = by_type["library_updated"][0]
    assert (upd["entity_type"], upd["entity_id"], upd["action"]) == ("album", body["album_id"], "created")
    actions = {m["action"] for m in by_type["activity"]}
    assert {"new_album", "review_approved"} <= actions
    seqs = [m["seq"] for m in msgs]
    assert seqs == sorted(seqs)


def test_hearts_on_disk_follow_hearts_and_deletion(server_factory, inbox):
    s = server_factory()
    t = s.admin_token()
    src = audio.album(inbox, "Linker", "Two Discs", 2015, tracks=2, discs="folders")
    _, out = import_json(s.data_dir, src, expect=0)
    album_id = out[0]["album_id"]
    s.create_user("ann")
    s.create_user("bob")
    ann = s.login("ann", "user-pass-123")
    bob = s.login("bob", "user-pass-123")
    users = s.data_dir / "users"
    lib_album = library(s.data_dir) / "Linker" / "Two Discs (2015)"
    expected = ["Disc 1/01 - Song 1-1.flac", "Disc 1/02 - Song 1-2.flac",
                "Disc 2/01 - Song 2-1.flac", "Disc 2/02 - Song 2-2.flac"]

    assert s.request("POST", f"/api/me/library/albums/{album_id}", token=ann).status_code == 201
    ann_album = users / "ann" / "Linker" / "Two Discs (2015)"
    assert audio.files_under(ann_album) == expected
    for rel in expected:
        link = ann_album / rel
        assert audio.same_file(link, lib_album / rel)
        if link.is_symlink():
            assert not os.readlink(link).startswith("/")

    tracks = s.request("GET", f"/api/albums/{album_id}", token=bob).json()["tracks"]
    assert s.request("POST", f"/api/me/library/tracks/{tracks[0]['id']}", token=bob).status_code == 201
    assert audio.files_under(users / "bob") == ["Linker/Two Discs (2015)/" + expected[0]]

    assert s.request("DELETE", f"/api/me/library/albums/{album_id}", token=ann).status_code == 200
    assert not (users / "ann" / "Linker").exists(), "emptied folders are pruned"
    assert (users / "bob" / "Linker").exists()

    # Hearting every track hearts the album.
    for tr in tracks[1:]:
        s.request("POST", f"/api/me/library/tracks/{tr['id']}", token=bob)
    assert s.request("GET", f"/api/albums/{album_id}", token=bob).json()["is_hearted"] is True
    assert audio.files_under(users / "bob" / "Linker" / "Two Discs (2015)") == expected

    assert s.request("DELETE", f"/api/albums/{album_id}", token=bob).status_code == 403
    assert s.request("DELETE", f"/api/albums/{album_id}", token=t).status_code == 204
    assert s.request("GET", f"/api/albums/{album_id}", token=t).status_code == 404
    assert not (users / "bob" / "Linker").exists()
    assert not (library(s.data_dir) / "Linker").exists()
    trashed = [p for p in audio.files_under(s.data_dir / "trash") if p.endswith(".flac")]
    assert len(trashed) == 4
    acts = s.request("GET", "/api/activity", token=t).json()["items"]
    assert acts[0]["action"] == "delete" and acts[0]["entity_id"] == album_id
    assert s.request("DELETE", f"/api/albums/{album_id}", token=t).status_code == 404


def test_cli_import_exit_codes_and_text(data, inbox):
    good = audio.album(inbox, "Exit", "Codes", 2001, tracks=1)
    proc = run_cli(data, "import", str(good), check=False)
    assert proc.returncode == 0 and proc.stdout.startswith("imported:"), proc.stdout
    bad = audio.album(inbox, "Exit", "Generic", 2001, tracks=2, titles=["Track 01", "Track 02"])
    proc = run_cli(data, "import", str(bad), check=False)
    assert proc.returncode == 2 and proc.stdout.startswith("review:"), proc.stdout
    assert "  - " in proc.stdout
    proc = run_cli(data, "import", str(inbox / "missing"), check=False)
    assert proc.returncode == 1 and "error" in proc.stdout
    # --copy leaves the source in place.
    kept = audio.album(inbox, "Exit", "Kept", 2001, tracks=1)
    proc = run_cli(data, "import", "--copy", str(kept), check=False)
    assert proc.returncode == 0 and kept.is_dir() and len(audio.files_under(kept)) == 1
