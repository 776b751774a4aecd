"""Journal ownership and recovery while the server runs (issue 9): a
`barbossa import` beside the server that dies in the middle of a move is
taken back by the running server, without a restart; one that is alive is
never touched by the server's recovery."""
import json
import os
import signal
import subprocess
import time

import pytest

import audio
from conftest import BIN, run_cli


@pytest.fixture
def inbox(tmp_path):
    p = tmp_path / "inbox"
    p.mkdir()
    return p


def journals(data_dir):
    return sorted(p.name for p in (data_dir / "journal").iterdir() if p.suffix == ".json")


def library_files(data_dir):
    return [f for f in audio.files_under(data_dir / "library") if f.endswith(".flac")]


def hashes(folder):
    return {p: audio.sha256(folder / p) for p in audio.files_under(folder)}


def run_scan_now(s, token):
    r = s.request("POST", "/api/admin/schedules/scan-import-folder/run", token=token)
    assert r.status_code == 202, r.text


def test_half_moved_cli_import_is_rolled_back_by_the_running_server(server_factory, inbox):
    s = server_factory()
    t = s.admin_token()
    src = audio.album(inbox, "Orphan Test", "Half Moved", 2020, tracks=4)
    before = hashes(src)

    proc = run_cli(s.data_dir, "--set", "CRASH_AFTER_MOVE_STEPS=2", "import", str(src),
                   check=False)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stdout, proc.stderr)
    assert len(journals(s.data_dir)) == 1, "the dead import left its journal"
    assert len(library_files(s.data_dir)) == 2, "and half of the album in the library"

    # The server is not restarted: its scan (every 5 minutes; here run now)
    # takes the orphaned move back.
    run_scan_now(s, t)
    deadline = time.time() + 30
    while time.time() < deadline and journals(s.data_dir):
        time.sleep(0.1)
    assert journals(s.data_dir) == [], s.read_log()[-3000:]
    assert hashes(src) == before, "every file is back where it was"
    assert library_files(s.data_dir) == []
    assert s.proc.poll() is None
    assert "left by a process that died" in s.read_log()

    # And the album imports cleanly afterwards.
    out = run_cli(s.data_dir, "import", "--json", str(src))
    assert json.loads(out.stdout.splitlines()[0])["status"] == "imported"
    assert len(library_files(s.data_dir)) == 4


def test_cli_import_beside_a_recovering_server_is_left_alone(server_factory, inbox):
    s = server_factory()
    t = s.admin_token()
    albums = [audio.album(inbox, "Beside Test", f"Album {n}", 2000 + n, tracks=3)
              for n in range(3)]

    # `barbossa import`, slowed in the test build (300 ms per file), while
    # the server runs its recovery again and again.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARBOSSA_")}
    env["BARBOSSA_FAULTS"] = "album_move_slow"
    proc = subprocess.Popen([BIN, "--data-dir", str(s.data_dir), "import", "--json",
                             *map(str, albums)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    scans = 0
    while proc.poll() is None:
        run_scan_now(s, t)
        scans += 1
        time.sleep(0.1)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stdout + stderr
    assert [json.loads(line)["status"] for line in stdout.splitlines()] == ["imported"] * 3
    assert scans > 5
    assert len(library_files(s.data_dir)) == 9
    assert journals(s.data_dir) == []
    assert "left by a process that died" not in s.read_log()
