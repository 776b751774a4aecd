"""Files never vanish outside the journal (issue 9, item 5): a review item's
folder is in exactly one place and its row agrees, whatever the order of
requests or the moment of a crash; a delete never races an upgrade."""
import json
import os
import signal
import subprocess
import threading
import time

import pytest

import audio
from conftest import BIN, Server, run_cli


def import_json(data_dir, *paths, expect=None):
    proc = run_cli(data_dir, "import", "--json", *map(str, paths), check=False)
    lines = [json.loads(l) for l in proc.stdout.splitlines() if l.strip()]
    if expect is not None:
        assert proc.returncode == expect, proc.stdout + proc.stderr
    return lines


@pytest.fixture
def inbox(tmp_path):
    p = tmp_path / "inbox"
    p.mkdir()
    return p


def generic_album(inbox, title, tracks=3):
    # "Track 01" is a generic title: the album goes to review.
    return audio.album(inbox, "Journal Test", title, 2021, tracks=tracks,
                       titles=["Track 01"] + [f"Song {n}" for n in range(2, tracks + 1)])


def files_in(path):
    return audio.files_under(path) if path.exists() else []


def test_kill_9_mid_reject_with_delete_files_keeps_item_and_folder_together(tmp_path, inbox):
    data = tmp_path / "data"
    src = generic_album(inbox, "Deleted Later")
    out = import_json(data, src, expect=2)
    review_id = out[0]["review_id"]
    review = data / "import" / "review" / src.name
    before = {p: audio.sha256(review / p) for p in audio.files_under(review)}
    assert len(before) == 3

    s = Server(data, {"CRASH_AFTER_MOVE_STEPS": 2}).start()
    try:
        s.request("POST", f"/api/review/{review_id}/reject", token=s.admin_token(),
                  json_body={"delete_files": True}, timeout=10)
    except Exception:
        pass  # the server died answering
    s.proc.wait(timeout=10)
    assert s.proc.returncode == -signal.SIGKILL
    # Two of three files were in the trash when it died.
    assert len(files_in(data / "trash")) == 2

    s2 = Server(data).start()  # rolls the half-done move back
    try:
        t = s2.admin_token()
        assert s2.request("GET", f"/api/review/{review_id}", token=t).json()["status"] == "pending"
        assert {p: audio.sha256(review / p) for p in audio.files_under(review)} == before
        assert files_in(data / "trash") == []
        assert list((data / "journal").iterdir()) == []

        r = s2.request("POST", f"/api/review/{review_id}/reject", token=t,
                       json_body={"delete_files": True})
        assert r.status_code in (200, 204), r.text
        assert not review.exists()
        # Deleted means moved to the trash (purged after TRASH_DAYS), checksums intact.
        trashed = list((data / "trash").iterdir())
        assert len(trashed) == 1 and f"-review-{review_id}" in trashed[0].name
        assert {p: audio.sha256(trashed[0] / p) for p in audio.files_under(trashed[0])} == before
        item = s2.request("GET", f"/api/review/{review_id}", token=t).json()
        assert item["status"] == "rejected"
        # Decided once: a second decision is a conflict and moves nothing.
        assert s2.request("POST", f"/api/review/{review_id}/reject", token=t).status_code == 409
        assert s2.request("POST", f"/api/review/{review_id}/approve", token=t).status_code == 409
    finally:
        s2.stop()


def test_concurrent_approve_and_reject_of_one_item_have_exactly_one_winner(server_factory, inbox):
    s = server_factory(HANDLER_THREADS=4)
    t = s.admin_token()
    rounds = 8
    sources = [generic_album(inbox, f"Race {n}") for n in range(rounds)]
    out = import_json(s.data_dir, *sources, expect=2)
    ids = [o["review_id"] for o in out]
    assert len(ids) == rounds and all(ids)

    for n, review_id in enumerate(ids):
        barrier = threading.Barrier(2)
        codes = {}

        def fire(kind, body):
            barrier.wait()
            r = s.request("POST", f"/api/review/{review_id}/{kind}", token=t, json_body=body)
            codes[kind] = r.status_code

        body = {"artist": "Journal Test", "album": f"Race {n}"}
        threads = [threading.Thread(target=fire, args=("approve", body)),
                   threading.Thread(target=fire, args=("reject", {"delete_files": n % 2 == 0}))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        won = sorted(codes.values())
        assert won in ([200, 409], [204, 409]), (n, codes)

    # Every album's three files are in exactly one place, and its row agrees.
    data = s.data_dir
    assert files_in(data / "import" / "review") == []
    for n, review_id in enumerate(ids):
        item = s.request("GET", f"/api/review/{review_id}", token=t).json()
        places = {
            "library": files_in(data / "library" / "Journal Test" / f"Race {n} (2021)"),
            "rejected": files_in(data / "import" / "rejected" / sources[n].name),
            "trash": [e for e in files_in(data / "trash") if f"-review-{review_id}/" in e],
        }
        held = {k: v for k, v in places.items() if v}
        assert len(held) == 1, (n, item["status"], places)
        where, files = next(iter(held.items()))
        assert len(files) == 3, (n, places)
        expected = {"approved": "library"}.get(item["status"])
        if expected:
            assert where == expected, (n, item, places)
        else:
            assert item["status"] == "rejected" and where in ("rejected", "trash"), (n, item)
    assert list((data / "journal").iterdir()) == []


def test_delete_of_an_album_while_its_upgrade_moves_is_refused(server_factory, inbox, tmp_path):
    s = server_factory()
    t = s.admin_token()
    low = audio.album(inbox / "low", "Journal Test", "Upgraded", 2020, tracks=3)
    out = import_json(s.data_dir, low, expect=0)
    album_id = out[0]["album_id"]
    high = audio.album(inbox / "high", "Journal Test", "Upgraded", 2020, tracks=3, rate=96000,
                       bits=24)

    # `barbossa import` beside the server, slowed in the test build so the
    # upgrade is still moving files when the delete arrives.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARBOSSA_")}
    env["BARBOSSA_FAULTS"] = "album_move_slow"
    proc = subprocess.Popen([BIN, "--data-dir", str(s.data_dir), "import", "--json", str(high)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    journal = s.data_dir / "journal"
    deadline = time.time() + 30
    while time.time() < deadline and not any(p.name.startswith("upgrade-")
                                             for p in journal.iterdir()):
        time.sleep(0.02)
    assert any(p.name.startswith("upgrade-") for p in journal.iterdir()), "no upgrade in flight"
    r = s.request("DELETE", f"/api/albums/{album_id}", token=t)
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "conflict"

    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stdout + stderr
    assert json.loads(stdout.splitlines()[0])["status"] == "upgraded"
    album_dir = s.data_dir / "library" / "Journal Test" / "Upgraded (2020)"
    assert len(files_in(album_dir)) == 3

    # Afterwards the delete goes through: the new files, once, in the trash.
    r = s.request("DELETE", f"/api/albums/{album_id}", token=t)
    assert r.status_code in (200, 204), r.text
    assert not album_dir.exists()
    trash = files_in(s.data_dir / "trash")
    assert len(trash) == 6  # the replaced copy (3) and the deleted one (3)
    assert list(journal.iterdir()) == []
