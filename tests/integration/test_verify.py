"""`barbossa verify` (SPEC §8 verify-integrity, offline form): every track's
file exists and still has its recorded SHA-256; a flipped byte and a deleted
file are reported, the exit code says so, and memory does not grow with file
size. Albums are real audio made by audio.py and brought in with `barbossa
import`."""
import json
import sqlite3
import subprocess

import audio
from conftest import BIN, run_cli


def import_album(data_dir, inbox, artist, title, tracks):
    src = audio.album(inbox, artist, title, 2001, tracks=tracks, seconds=0.5)
    proc = run_cli(data_dir, "import", "--json", str(src))
    line = json.loads(proc.stdout.splitlines()[0])
    assert line["status"] == "imported", proc.stdout
    return line["album_id"]


def tracks_of(data_dir, album_id):
    """(id, path, sha256, checksum_verified_at) by disc and number, read-only
    straight from the database: the API does not expose paths."""
    db = sqlite3.connect(f"file:{data_dir / 'barbossa.db'}?mode=ro", uri=True)
    try:
        return db.execute(
            "SELECT id, path, sha256, checksum_verified_at FROM tracks WHERE album_id = ? "
            "ORDER BY disc, number", (album_id,)).fetchall()
    finally:
        db.close()


def stored_report(data_dir):
    db = sqlite3.connect(f"file:{data_dir / 'barbossa.db'}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'integrity_report'").fetchone()
    finally:
        db.close()
    return json.loads(row[0]) if row else None


def verify_json(data_dir, expect):
    proc = run_cli(data_dir, "verify", "--json", check=False)
    assert proc.returncode == expect, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def test_clean_then_flipped_byte_and_deleted_file_while_server_runs(server_factory, tmp_path):
    inbox = tmp_path / "inbox"
    s = server_factory()  # verify is allowed while a server serves the same data
    album_id = import_album(s.data_dir, inbox, "Check Band", "Sound Sums", tracks=3)
    tracks = tracks_of(s.data_dir, album_id)
    assert len(tracks) == 3

    report = verify_json(s.data_dir, expect=0)
    assert set(report) == {"checked", "missing", "mismatched", "started_at", "finished_at",
                           "duration_ms"}
    assert report["checked"] == 3
    assert report["missing"] == [] and report["mismatched"] == []
    assert report["started_at"] <= report["finished_at"]
    assert isinstance(report["duration_ms"], int) and report["duration_ms"] >= 0
    assert stored_report(s.data_dir) == report
    for _, _, _, verified_at in tracks_of(s.data_dir, album_id):
        assert verified_at is not None and verified_at >= report["started_at"]

    lib = s.data_dir / "library"
    (flip_id, flip_path, flip_sha, _), (gone_id, gone_path, _, _) = tracks[0], tracks[1]
    f = lib / flip_path
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x01
    f.write_bytes(bytes(data))
    (lib / gone_path).unlink()

    report = verify_json(s.data_dir, expect=1)
    assert report["checked"] == 3
    assert report["mismatched"] == [{"track_id": flip_id, "path": flip_path,
                                     "expected": flip_sha, "actual": audio.sha256sum(f)}]
    assert report["missing"] == [{"track_id": gone_id, "path": gone_path}]
    assert stored_report(s.data_dir) == report

    text = run_cli(s.data_dir, "verify", check=False)
    assert text.returncode == 1, text.stdout + text.stderr
    assert "1 missing, 1 mismatched" in text.stdout
    assert gone_path in text.stdout and flip_path in text.stdout
    assert s.proc.poll() is None


def max_rss_kib(data_dir):
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", BIN, "--data-dir", str(data_dir),
                           "verify", "--json"], capture_output=True, text=True, timeout=60)
    return proc.returncode, json.loads(proc.stdout), int(proc.stderr.strip().splitlines()[-1])


def test_peak_memory_does_not_depend_on_file_size(tmp_path):
    data = tmp_path / "data"
    album_id = import_album(data, tmp_path / "inbox", "Big Band", "Huge File", tracks=3)
    code, report, small_rss = max_rss_kib(data)
    assert code == 0 and report["checked"] == 3

    # A sparse 1 GiB file reads as zeros from the page cache: quick to make
    # and to read, and a whole-file read would show up as >= 1 GiB of RSS.
    big_id, big_path, _, _ = tracks_of(data, album_id)[2]
    big = data / "library" / big_path
    big.unlink()
    subprocess.run(["truncate", "-s", "1G", str(big)], check=True)

    code, report, big_rss = max_rss_kib(data)
    assert code == 1
    assert report["missing"] == []
    assert [m["track_id"] for m in report["mismatched"]] == [big_id]
    # SHA-256 of 1 GiB of zeros.
    assert report["mismatched"][0]["actual"] == (
        "49bc20df15e412a64472421e13fe86ff1c5165e18b2afccf160d4dc19fe68a14")
    print(f"max RSS: {small_rss} KiB small files, {big_rss} KiB with 1 GiB")
    assert big_rss < 100 * 1024, f"max RSS {big_rss} KiB"
    assert big_rss < small_rss + 32 * 1024, f"max RSS {small_rss} KiB -> {big_rss} KiB"


def test_verify_integrity_job_reports_progress_and_result_to_admins(server_factory, tmp_path):
    from wsclient import collect, connect, first_heartbeat, in_thread, run

    s = server_factory(HEARTBEAT_SECONDS=1)
    album_id = import_album(s.data_dir, tmp_path / "inbox", "Job Band", "Checked Nightly", tracks=3)
    tracks = tracks_of(s.data_dir, album_id)
    lib = s.data_dir / "library"
    f = lib / tracks[0][1]
    data = bytearray(f.read_bytes())
    data[100] ^= 0xFF
    f.write_bytes(bytes(data))
    (lib / tracks[2][1]).unlink()
    t = s.admin_token()

    async def scenario():
        ws = await connect(s, t)
        await first_heartbeat(ws)
        r = await in_thread(s.request, "POST", "/api/admin/schedules/verify-integrity/run", token=t)
        assert r.status_code == 202, r.text
        msgs = await collect(ws, 3)
        await ws.close()
        return r.json()["job_id"], msgs

    job_id, msgs = run(scenario())
    updates = [m for m in msgs if m["type"] == "job_update" and m["job_id"] == job_id]
    assert [u["status"] for u in updates][-1] == "succeeded", updates
    assert "running" in [u["status"] for u in updates]
    assert all(u["type"] == "job_update" and u["queue"] == "maintenance" for u in updates)
    reports = [m for m in msgs if m["type"] == "integrity_report"]
    assert len(reports) == 1, msgs
    assert (reports[0]["checked"], reports[0]["missing"], reports[0]["mismatched"]) == (3, 1, 1)
    assert reports[0]["duration_ms"] >= 0
    full = s.request("GET", "/api/admin/integrity", token=t).json()
    assert [m["track_id"] for m in full["mismatched"]] == [tracks[0][0]]
    assert [m["track_id"] for m in full["missing"]] == [tracks[2][0]]
    # Users see neither the events' channel nor the report.
    s.create_user("kid")
    kid = s.login("kid", "user-pass-123")
    assert s.request("GET", "/api/admin/integrity", token=kid).status_code == 403
