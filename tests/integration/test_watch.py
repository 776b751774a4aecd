"""The watch folder end to end (SPEC §6, §8): the real server watches
IMPORT_DIR/pending with inotify and queues import jobs that its workers run.
Albums are real audio made by sox and flac; jobs are read from the database."""
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

import audio
from conftest import Server, db_rows, wait_for


def pending(s):
    return s.data_dir / "import" / "pending"


def import_jobs(s):
    return db_rows(s, "SELECT id, status, attempts, dedupe_key, last_error FROM jobs "
                      "WHERE type = 'import' ORDER BY id")


def albums(s):
    return db_rows(s, "SELECT a.id, ar.name, a.title, a.total_tracks FROM albums a "
                      "JOIN artists ar ON ar.id = a.artist_id ORDER BY a.id")


def library_files(s):
    return audio.files_under(s.data_dir / "library")


@pytest.fixture
def src(tmp_path):
    p = tmp_path / "src"
    p.mkdir()
    return p


def test_slow_copy_is_imported_once_complete_and_only_after_it_ends(server_factory, src):
    album = audio.album(src, "Slow Copy", "Trickle", 2003, tracks=3)
    files = sorted(p for p in album.iterdir() if p.is_file())
    s = server_factory(WATCH_SETTLE_SECONDS=3)
    target = pending(s) / album.name
    target.mkdir()
    # Every file written in chunks, one write every 0.4 s, over about 15 s in
    # all: never quiet for the settle time until the last byte.
    chunks_per_file = 13
    started = time.time()
    for f in files:
        data = f.read_bytes()
        step = len(data) // chunks_per_file + 1
        with open(target / f.name, "wb") as out:
            for i in range(0, len(data), step):
                out.write(data[i:i + step])
                out.flush()
                time.sleep(0.4)
                assert not albums(s) and not import_jobs(s), "queued before the copy ended"
    finished = time.time()
    assert finished - started >= 14

    assert wait_for(lambda: albums(s), 3 + 5), s.read_log()
    queued_at = import_jobs(s)
    time.sleep(2)  # no second import may follow
    assert albums(s) == [(1, "Slow Copy", "Trickle", 3)]
    jobs = import_jobs(s)
    assert len(jobs) == 1 and jobs[0][1] == "succeeded", jobs
    lib = s.data_dir / "library" / "Slow Copy" / "Trickle (2003)"
    imported = sorted(lib.iterdir())
    assert [p.name[:2] for p in imported] == ["01", "02", "03"]
    for original, copy in zip(files, imported):
        assert audio.sha256(original) == audio.sha256(copy), "imported incomplete"
    assert queued_at  # sanity: read after the album appeared
    assert not target.exists()


def test_folder_moved_in_whole_is_imported_within_settle_plus_two_seconds(server_factory, src):
    settle = 3
    album = audio.album(src, "Moved In", "At Once", 2010, tracks=2)
    s = server_factory(WATCH_SETTLE_SECONDS=settle)
    t0 = time.time()
    os.rename(album, pending(s) / album.name)
    assert wait_for(lambda: albums(s), settle + 2, step=0.02), s.read_log()
    elapsed = time.time() - t0
    assert elapsed <= settle + 2, elapsed
    assert albums(s) == [(1, "Moved In", "At Once", 2)]


def test_partial_download_waits_until_it_is_gone(server_factory, src):
    settle = 2
    album = audio.album(src, "Partial", "Waiting", 2011, tracks=2)
    (album / "03 - still coming.flac.part").write_bytes(b"\0" * 1000)
    s = server_factory(WATCH_SETTLE_SECONDS=settle)
    os.rename(album, pending(s) / album.name)
    time.sleep(settle * 2 + 1)
    assert not albums(s) and not import_jobs(s), "imported while a .part file was there"
    (pending(s) / album.name / "03 - still coming.flac.part").unlink()
    assert wait_for(lambda: albums(s), settle + 3), s.read_log()
    assert albums(s) == [(1, "Partial", "Waiting", 2)]


def test_loose_files_are_grouped_into_albums_by_their_tags(server_factory, src):
    a = audio.album(src, "Loose One", "First", 2001, tracks=2)
    b = audio.album(src, "Loose Two", "Second", 2002, tracks=3)
    s = server_factory(WATCH_SETTLE_SECONDS=1)
    for f in sorted(a.glob("*.flac")) + sorted(b.glob("*.flac")):
        # Distinct names: two albums' "01 - ..." must not collide at the top.
        os.rename(f, pending(s) / f"{f.parent.name[:9]} {f.name}")
        time.sleep(0.1)
    assert wait_for(lambda: len(albums(s)) == 2, 15), s.read_log()
    got = sorted((r[1], r[2], r[3]) for r in albums(s))
    assert got == [("Loose One", "First", 2), ("Loose Two", "Second", 3)]
    assert wait_for(lambda: [p.name for p in pending(s).iterdir()] == [], 5)
    # One job gathered the loose files; one job per album imported a group.
    # An album's rows commit before its job is marked succeeded: wait for it.
    def all_succeeded():
        jobs = import_jobs(s)
        return len(jobs) == 3 and all(j[1] == "succeeded" for j in jobs)
    assert wait_for(all_succeeded, 10), import_jobs(s)
    jobs = import_jobs(s)
    assert jobs[0][3] == "import:" + str(pending(s))
    assert all(".barbossa-loose-" in j[3] for j in jobs[1:]), jobs


def test_loose_files_from_a_watch_dir_keep_their_source_and_stay(tmp_path, src):
    seeding = tmp_path / "seeding"
    seeding.mkdir()
    a = audio.album(src, "Loose Seed", "Kept Here", 2004, tracks=2)
    s = Server(tmp_path / "data", {"WATCH_SETTLE_SECONDS": 1,
                                   "WATCH_DIRS": f"{seeding}=torrent"}).start()
    try:
        for f in sorted(a.glob("*.flac")):
            os.rename(f, seeding / f.name)
        assert wait_for(lambda: albums(s), 15), s.read_log()
        assert db_rows(s, "SELECT source FROM albums") == [("torrent",)]
        assert sorted(p.name for p in seeding.iterdir()) == ["01 - x11.flac", "02 - x12.flac"]
        jobs_before = len(import_jobs(s))
        s.request("POST", "/api/admin/schedules/scan-import-folder/run", token=s.admin_token())
        time.sleep(3)  # seen before: the rescan queues nothing new
        assert len(import_jobs(s)) == jobs_before, import_jobs(s)
        assert len(albums(s)) == 1
        assert db_rows(s, "SELECT COUNT(*) FROM review_items") == [(0,)]
    finally:
        s.stop(signal.SIGKILL)


def test_interrupted_gathering_of_loose_files_is_finished_at_start(tmp_path, src):
    a = audio.album(src, "Half Gathered", "Resumed", 2006, tracks=2)
    data = tmp_path / "data"
    s = Server(data, {"WATCH_SETTLE_SECONDS": 1}).start()
    s.stop()
    # What a crash in the middle of gathering leaves: a hidden folder.
    stranded = pending(s) / ".barbossa-gathering-abcdef"
    a.rename(stranded)
    s2 = Server(data, {"WATCH_SETTLE_SECONDS": 1}).start()
    try:
        assert wait_for(lambda: albums(s2), 10), s2.read_log()
        assert albums(s2) == [(1, "Half Gathered", "Resumed", 2)]
        assert wait_for(lambda: [p.name for p in pending(s2).iterdir()] == [], 5)
    finally:
        s2.stop(signal.SIGKILL)


def test_kill_9_during_an_import_job_reruns_it_and_imports_once(tmp_path, src):
    album = audio.album(src, "Crash Test", "Mid Move", 2012, tracks=4)
    sums = {f.name: audio.sha256(f) for f in album.iterdir() if f.is_file()}
    data = tmp_path / "data"
    # The test hook kills the process (SIGKILL) after 2 of the album's moves.
    s = Server(data, {"WATCH_SETTLE_SECONDS": 1, "CRASH_AFTER_MOVE_STEPS": 2}).start()
    os.rename(album, pending(s) / album.name)
    s.proc.wait(timeout=20)
    assert s.proc.returncode == -signal.SIGKILL
    jobs = import_jobs(s)
    assert len(jobs) == 1 and jobs[0][1] == "running", jobs

    s2 = Server(data, {"WATCH_SETTLE_SECONDS": 1}).start()
    try:
        # Within 10 s of the start (SPEC §8) the job has run again and finished.
        assert wait_for(lambda: import_jobs(s2)[0][1] == "succeeded", 10), s2.read_log()
        time.sleep(2)  # the watcher's start-up scan must not import it again
        jobs = import_jobs(s2)
        assert len(jobs) == 1 and jobs[0][2] == 2, jobs  # one job, run twice
        assert albums(s2) == [(1, "Crash Test", "Mid Move", 4)]
        lib = data / "library" / "Crash Test" / "Mid Move (2012)"
        got = sorted(audio.sha256(f) for f in lib.iterdir())
        assert got == sorted(sums.values()), "a file was lost or changed"
        assert not (pending(s2) / album.name).exists()
        assert db_rows(s2, "SELECT COUNT(*) FROM review_items") == [(0,)]
        assert db_rows(s2, "SELECT COUNT(*) FROM tracks") == [(4,)]
    finally:
        s2.stop(signal.SIGKILL)


def test_two_servers_on_one_database_never_import_a_folder_twice(tmp_path, src):
    data = tmp_path / "data"
    made = [audio.album(src, f"Twin {i}", f"Album {i}", 2000 + i, tracks=2) for i in range(6)]
    a = Server(data, {"WATCH_SETTLE_SECONDS": 1}).start()
    b = Server(data, {"WATCH_SETTLE_SECONDS": 1}).start()
    try:
        # Half moved in whole, half copied file by file: both watchers see
        # every folder and both queue its import.
        for i, album in enumerate(made):
            if i % 2 == 0:
                os.rename(album, pending(a) / album.name)
            else:
                shutil.copytree(album, pending(a) / album.name)
        assert wait_for(lambda: len(albums(a)) == 6, 30), a.read_log() + b.read_log()
        time.sleep(3)
        assert sorted(r[2] for r in albums(a)) == [f"Album {i}" for i in range(6)]
        assert db_rows(a, "SELECT COUNT(*) FROM review_items") == [(0,)]
        jobs = import_jobs(a)
        done = [j for j in jobs if j[1] == "succeeded"]
        # One job per folder did the import; a job queued by the slower
        # watcher after the first finished finds nothing left to do.
        assert len({j[3] for j in done}) == 6, jobs
        assert db_rows(a, "SELECT COUNT(*) FROM tracks") == [(12,)]
        assert [p.name for p in pending(a).iterdir()] == []
    finally:
        a.stop(signal.SIGKILL)
        b.stop(signal.SIGKILL)


def test_watch_dirs_are_copied_and_not_imported_again(tmp_path, src):
    seeding = tmp_path / "seeding"
    seeding.mkdir()
    data = tmp_path / "data"
    env = {"WATCH_SETTLE_SECONDS": 1, "WATCH_DIRS": f"{seeding}=torrent"}
    s = Server(data, env).start()
    try:
        album = audio.album(src, "Seeded", "Kept", 2005, tracks=2)
        os.rename(album, seeding / album.name)
        assert wait_for(lambda: albums(s), 10), s.read_log()
        assert audio.files_under(seeding / album.name) == ["01 - x11.flac", "02 - x12.flac"]
        assert db_rows(s, "SELECT source FROM albums") == [("torrent",)]
    finally:
        s.stop()
    # The start-up scan of the next run sees the same folder: no new job.
    s2 = Server(data, env).start()
    try:
        time.sleep(3)
        assert len(import_jobs(s2)) == 1, import_jobs(s2)
        assert len(albums(s2)) == 1
        assert db_rows(s2, "SELECT COUNT(*) FROM review_items") == [(0,)]
    finally:
        s2.stop(signal.SIGKILL)


def test_review_outcome_is_not_retried(server_factory, src):
    # Generic titles: identified with low confidence, so it goes to review.
    album = audio.album(src, "Unsure", "Generic", 2003, tracks=2, titles=["Track 01", "Two"])
    s = server_factory(WATCH_SETTLE_SECONDS=1, JOB_BACKOFF_SECONDS=1)
    os.rename(album, pending(s) / album.name)
    assert wait_for(lambda: import_jobs(s) and import_jobs(s)[0][1] == "failed", 10), s.read_log()
    time.sleep(3)  # well past a 1 s backoff: nothing runs it again
    jobs = import_jobs(s)
    assert len(jobs) == 1 and jobs[0][1] == "failed" and jobs[0][2] == 1, jobs
    assert "review" in jobs[0][4]
    assert db_rows(s, "SELECT COUNT(*) FROM review_items") == [(1,)]
    assert (s.data_dir / "import" / "review" / album.name).is_dir()
    assert not albums(s)


def test_periodic_scan_and_watcher_queue_one_job_per_folder(server_factory, src):
    made = [audio.album(src, f"Scanned {i}", f"Both Ways {i}", 2000 + i, tracks=2) for i in range(3)]
    s = server_factory(WATCH_SETTLE_SECONDS=2)
    t = s.admin_token()
    for album in made:
        shutil.copytree(album, pending(s) / album.name)
    # The scheduled scan, run again and again while the watcher times the
    # same folders and after they are imported.
    for _ in range(12):
        r = s.request("POST", "/api/admin/schedules/scan-import-folder/run", token=t)
        assert r.status_code == 202, r.text
        time.sleep(0.4)
    assert wait_for(lambda: len(albums(s)) == 3, 10), s.read_log()
    time.sleep(3)
    assert len(albums(s)) == 3
    jobs = import_jobs(s)
    assert len(jobs) == 3 and all(j[1] == "succeeded" for j in jobs), jobs
    assert db_rows(s, "SELECT COUNT(*) FROM review_items") == [(0,)]


def test_event_queue_overflow_rescans_and_finds_what_it_missed(server_factory, src, tmp_path):
    album = audio.album(src, "Overflowed", "Lost Event", 2013, tracks=2)
    s = server_factory(WATCH_SETTLE_SECONDS=1)
    noise = pending(s) / ".noise"  # hidden: watched, never an entry
    noise.mkdir()
    a, b = noise / "a", noise / "b"
    a.write_bytes(b"a")
    b.write_bytes(b"b")
    time.sleep(0.5)  # the watcher has added .noise
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    os.kill(s.proc.pid, signal.SIGSTOP)
    state = lambda: Path(f"/proc/{s.proc.pid}/status").read_text().split("State:")[1].split()[0]
    assert wait_for(lambda: state() == "T", 5)
    try:
        # Fill the kernel's event queue while the server cannot read it
        # (alternating files: identical consecutive events are merged)...
        for i in range(limit + 100):
            os.utime(a if i % 2 else b, (i, i))
        # ...so the event of this folder arriving is lost.
        os.rename(album, pending(s) / album.name)
    finally:
        os.kill(s.proc.pid, signal.SIGCONT)
    assert wait_for(lambda: albums(s), 15), s.read_log()
    assert "overflowed" in s.read_log()
    health = s.request("GET", "/api/admin/health", token=s.admin_token()).json()
    assert "overflowed 1 time(s)" in health["components"]["watcher"]["detail"], health
    assert albums(s) == [(1, "Overflowed", "Lost Event", 2)]


def test_nothing_is_left_behind_in_the_inbox(server_factory, src):
    # An empty Scans/ folder must not stay in pending and come back as an
    # album of nothing; the same for an album that goes to review.
    good = audio.album(src, "Tidy", "Leaves Nothing", 2014, tracks=2)
    (good / "Scans" / "Empty").mkdir(parents=True)
    unsure = audio.album(src, "Tidy", "Generic", 2015, tracks=2, titles=["Track 01", "Two"])
    (unsure / "Artwork").mkdir()
    s = server_factory(WATCH_SETTLE_SECONDS=1)
    os.rename(good, pending(s) / good.name)
    os.rename(unsure, pending(s) / unsure.name)
    assert wait_for(lambda: len(import_jobs(s)) == 2 and all(j[1] != "running" and j[1] != "queued"
                                                           for j in import_jobs(s)), 15), s.read_log()
    time.sleep(3)
    assert [p.name for p in pending(s).iterdir()] == []
    assert len(import_jobs(s)) == 2, import_jobs(s)
    assert albums(s) == [(1, "Tidy", "Leaves Nothing", 2)]
    assert db_rows(s, "SELECT COUNT(*) FROM review_items") == [(1,)]


def test_kill_9_while_moving_into_review_leaves_folder_and_item_together(tmp_path, src):
    unsure = audio.album(src, "Crash", "Generic", 2016, tracks=3, titles=["Track 01", "Two", "Three"])
    data = tmp_path / "data"
    s = Server(data, {"WATCH_SETTLE_SECONDS": 1, "CRASH_AFTER_MOVE_STEPS": 2}).start()
    os.rename(unsure, pending(s) / unsure.name)
    s.proc.wait(timeout=20)
    assert s.proc.returncode == -signal.SIGKILL
    s2 = Server(data, {"WATCH_SETTLE_SECONDS": 1}).start()
    try:
        assert wait_for(lambda: import_jobs(s2)[0][1] == "failed", 10), s2.read_log()
        time.sleep(2)
        items = db_rows(s2, "SELECT path_name, status FROM review_items")
        assert items == [(unsure.name, "pending")], items
        review = data / "import" / "review"
        assert [p.name for p in review.iterdir()] == [unsure.name]
        assert len(audio.files_under(review / unsure.name)) == 3
        assert [p.name for p in pending(s2).iterdir()] == []
    finally:
        s2.stop(signal.SIGKILL)
