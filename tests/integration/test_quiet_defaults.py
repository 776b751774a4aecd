"""Quiet defaults (issue 9, item 7): what a first start creates is owner-only,
an empty WEB_DIR is refused, and the crash knob does nothing in the shipped
binary."""
import json
import os
import signal
import stat
import subprocess
from pathlib import Path

import pytest

import audio
from conftest import BIN, WEB_DIR, Server, run_cli


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def loose_umask():
    # The usual login umask: whatever is owner-only is so on purpose.
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_first_start_makes_data_folder_database_and_token_key_owner_only(tmp_path, loose_umask):
    data = tmp_path / "data"
    s = Server(data).start()
    try:
        s.admin_token()  # the database has been written to
        assert mode(data) == 0o700
        assert mode(data / "jwt_secret") == 0o600
        db_files = [data / n for n in ("barbossa.db", "barbossa.db-wal", "barbossa.db-shm")]
        assert db_files[0].exists()
        for f in db_files:
            if f.exists():
                assert mode(f) == 0o600, f
        assert len((data / "jwt_secret").read_text().strip()) >= 32
        assert not list(data.glob("*.tmp*")), "no temporary key file left behind"
    finally:
        s.stop()


def test_loose_database_and_token_key_are_made_owner_only_at_start(tmp_path, loose_umask):
    data = tmp_path / "data"
    s = Server(data).start()
    s.stop()
    key = (data / "jwt_secret").read_text()
    for f in (data / "jwt_secret", data / "barbossa.db"):
        os.chmod(f, 0o644)
    s = Server(data).start()
    try:
        assert mode(data / "jwt_secret") == 0o600
        assert mode(data / "barbossa.db") == 0o600
        assert (data / "jwt_secret").read_text() == key, "the key itself is kept"
    finally:
        s.stop()


def test_empty_web_dir_is_a_configuration_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARBOSSA_")}
    env.update({"BARBOSSA_DATA_DIR": str(tmp_path / "data"), "BARBOSSA_PORT": "0",
                "BARBOSSA_WEB_DIR": ""})
    proc = subprocess.run([BIN, "serve"], capture_output=True, text=True, env=env, timeout=30)
    assert proc.returncode != 0
    assert "listening" not in proc.stdout
    assert "WEB_DIR must not be empty" in proc.stderr, proc.stderr
    # The control: the same start with a web folder works.
    env["BARBOSSA_WEB_DIR"] = WEB_DIR
    s = Server(tmp_path / "data")
    s.launch(["serve"], env)
    try:
        assert s.request("GET", "/").status_code == 200
    finally:
        s.stop()


def shipped_binary():
    test_bin = Path(BIN)
    if test_bin.name != "barbossa-test":
        pytest.skip(f"BARBOSSA_BIN {BIN} is not a test build beside its shipped binary")
    shipped = test_bin.with_name("barbossa")
    if not shipped.exists():
        pytest.skip(f"no shipped binary at {shipped}")
    return shipped


def test_shipped_binary_ignores_crash_after_move_steps(tmp_path):
    shipped = shipped_binary()
    inbox = tmp_path / "inbox"
    src = audio.album(inbox, "Knob Test", "Ships Safe", 2022, tracks=3)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARBOSSA_")}
    env["BARBOSSA_CRASH_AFTER_MOVE_STEPS"] = "1"
    proc = subprocess.run([str(shipped), "--data-dir", str(tmp_path / "data"), "import", "--json",
                           str(src)], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    assert json.loads(proc.stdout.splitlines()[0])["status"] == "imported"
    assert "CRASH_AFTER_MOVE_STEPS is ignored" in proc.stderr
    album_dir = tmp_path / "data" / "library" / "Knob Test" / "Ships Safe (2022)"
    assert len(audio.files_under(album_dir)) == 3

    # The control: the test build honours the knob and dies after one step.
    src2 = audio.album(inbox, "Knob Test", "Test Build", 2022, tracks=3)
    proc = run_cli(tmp_path / "data2", "--set", "CRASH_AFTER_MOVE_STEPS=1", "import", str(src2),
                   check=False)
    assert proc.returncode == -signal.SIGKILL
