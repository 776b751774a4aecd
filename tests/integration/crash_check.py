"""Consistency check of a Barbossa data folder after a crash and a restart
(SPEC §1.1: every file in exactly one place, no row pointing at a missing
file, no half-moved album; issue 9, the crash loop).

The audio files the crash loop feeds in carry a unique CRASHUID tag, so each
file can be found wherever it went, whatever it was renamed to. The database
is read read-only with sqlite3; the folders are walked. Nothing here changes
the data folder.
"""
import hashlib
import os
import re
import sqlite3
import time
from pathlib import Path

UID_RE = re.compile(rb"CRASHUID=([0-9a-f]{16})")
AUDIO_EXT = {".flac", ".mp3", ".m4a", ".ogg", ".opus", ".wav", ".aiff", ".wv"}

# Where a file may be, in the words of SPEC §1.1 (users/ holds links, not places).
PLACES = ("inbox", "pending", "review", "rejected", "library", "trash")


def db_rows(data_dir, sql, *args):
    con = sqlite3.connect(f"file:{Path(data_dir) / 'barbossa.db'}?mode=ro", uri=True, timeout=10)
    try:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute(sql, args)]
    finally:
        con.close()


def read_uid(path):
    """The CRASHUID of a file (its tags sit in the first few KiB), or None."""
    with open(path, "rb") as f:
        m = UID_RE.search(f.read(16384))
    return m.group(1).decode() if m else None


class HashCache:
    """SHA-256 of files by (device, inode, size, mtime): the library grows
    with every iteration and is checked after each one."""

    def __init__(self):
        self._cache = {}

    def sha256(self, path):
        st = os.stat(path)
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if key not in self._cache:
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            self._cache[key] = h.hexdigest()
        return self._cache[key]


def _walk_files(root):
    """Every regular file or symlink below root (symlinked folders not followed)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            out.append(Path(dirpath) / name)
    return out


def place_roots(data_dir, inboxes):
    data = Path(data_dir)
    return {
        "inbox": [Path(p) for p in inboxes],
        "pending": [data / "import" / "pending"],
        "review": [data / "import" / "review"],
        "rejected": [data / "import" / "rejected"],
        "library": [data / "library"],
        "trash": [data / "trash"],
    }


def locate(data_dir, inboxes):
    """uid -> [(place, album location, path)]; the album location is the
    folder that holds an album in that place (library: Artist/Album; trash,
    review, rejected, inbox, pending: the top-level folder)."""
    found = {}
    for place, roots in place_roots(data_dir, inboxes).items():
        for root in roots:
            if not root.is_dir():
                continue
            for path in _walk_files(root):
                if path.suffix.lower() not in AUDIO_EXT or path.is_symlink():
                    continue
                uid = read_uid(path)
                if uid is None:
                    continue
                rel = path.relative_to(root).parts
                depth = 2 if place == "library" else 1
                where = (place, str(root / Path(*rel[:depth])))
                found.setdefault(uid, []).append((place, where, path))
    return found


class Report:
    def __init__(self):
        self.problems = []
        self.notes = []

    def bad(self, text):
        self.problems.append(text)

    def note(self, text):
        self.notes.append(text)

    @property
    def ok(self):
        return not self.problems


def check_files(report, data_dir, inboxes, instances):
    """instances: {instance name: [uid, ...]}: every file of every album the
    loop ever made. Each must be in exactly one place, and an album's files
    all in one location (no half-moved album)."""
    found = locate(data_dir, inboxes)
    deleted = {r["path_name"]: r["id"] for r in db_rows(
        data_dir, "SELECT id, path_name FROM review_items WHERE status = 'rejected' AND path = ''")}
    for name, uids in instances.items():
        locations = set()
        by_reject = [i for n, i in deleted.items() if n == name or n.startswith(name + " (")]
        for uid in uids:
            hits = found.get(uid, [])
            if not hits and by_reject:
                report.bad(f"lost: file {uid} of album {name}, rejected with delete_files as "
                           f"review item {by_reject[0]}, is not in the trash")
            elif not hits:
                report.bad(f"lost: file {uid} of album {name} is nowhere")
            elif len(hits) > 1:
                report.bad(f"duplicated: file {uid} of album {name} is at "
                           + ", ".join(str(h[2]) for h in hits))
            for place, where, _ in hits:
                # An upgrade sends the replaced album to the trash under
                # replaced/; files of one album stay together either way.
                locations.add(where)
        if len(locations) > 1:
            report.bad(f"split: album {name} is in {sorted(locations)}")
    return found


def check_database(report, data_dir, hashes):
    data = Path(data_dir)
    library = data / "library"
    tracks = db_rows(data, "SELECT id, album_id, path, sha256 FROM tracks")
    referenced = {}
    for t in tracks:
        if not t["path"]:
            report.bad(f"track {t['id']} has no path")
            continue
        p = library / t["path"]
        if not p.is_file():
            report.bad(f"track {t['id']} points at missing {t['path']}")
            continue
        if hashes.sha256(p) != t["sha256"]:
            report.bad(f"track {t['id']}: {t['path']} does not match its checksum")
        referenced.setdefault(t["path"], []).append(t["id"])
    for path, ids in referenced.items():
        if len(ids) > 1:
            report.bad(f"tracks {ids} share the file {path}")
    for f in _walk_files(library) if library.is_dir() else []:
        rel = f.relative_to(library).as_posix()
        if f.suffix.lower() in AUDIO_EXT and rel not in referenced:
            report.bad(f"library file {rel} belongs to no track row")

    counts = {r["album_id"]: r["n"] for r in
              db_rows(data, "SELECT album_id, COUNT(*) AS n FROM tracks GROUP BY album_id")}
    for a in db_rows(data, "SELECT id, path, total_tracks FROM albums"):
        if not a["path"] or not (library / a["path"]).is_dir():
            report.bad(f"album {a['id']} points at missing folder {a['path']!r}")
        if counts.get(a["id"], 0) != a["total_tracks"]:
            report.bad(f"album {a['id']} says {a['total_tracks']} tracks, has "
                       f"{counts.get(a['id'], 0)}")

    check_reviews(report, data)


def check_reviews(report, data):
    review_root = data / "import" / "review"
    rejected_root = data / "import" / "rejected"
    pending_paths, rejected_paths = set(), set()
    for r in db_rows(data, "SELECT id, status, path FROM review_items"):
        p = Path(r["path"]) if r["path"] else None
        if r["status"] == "pending":
            if p is None or p.parent != review_root or not p.is_dir():
                report.bad(f"pending review item {r['id']} points at missing {r['path']!r}")
            else:
                pending_paths.add(p)
        elif r["status"] == "rejected" and p is not None:
            # rejected/<name>, or the trash for a reject that deleted the files.
            in_trash = (data / "trash") in p.parents
            if (p.parent != rejected_root and not in_trash) or not p.is_dir():
                report.bad(f"rejected review item {r['id']} points at missing {r['path']!r}")
            elif not in_trash:
                rejected_paths.add(p)
    for root, known, what in ((review_root, pending_paths, "pending"),
                              (rejected_root, rejected_paths, "rejected")):
        for entry in (sorted(root.iterdir()) if root.is_dir() else []):
            if entry not in known:
                report.bad(f"{entry} has no {what} review item")


def check_journal(report, data_dir):
    journal = Path(data_dir) / "journal"
    left = sorted(p.name for p in journal.iterdir()) if journal.is_dir() else []
    if left:
        report.bad(f"journal not empty after recovery: {left}")


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def check_jobs_taken_back(report, data_dir, dead_pids):
    """Right after a restart: no job may still be leased to a process that
    died. The new server takes those leases back before it listens (it
    expires them; the row shows the old holder until a worker claims it)."""
    now_ms = time.time() * 1000
    for j in db_rows(data_dir, "SELECT id, type, lease_holder, lease_expires_at FROM jobs "
                               "WHERE status = 'running'"):
        parts = (j["lease_holder"] or "").split(":")
        pid = int(parts[1]) if len(parts) == 4 and parts[1].isdigit() else None
        expired = j["lease_expires_at"] is not None and j["lease_expires_at"] <= now_ms
        if pid is not None and not expired and (pid in dead_pids or not _pid_alive(pid)):
            report.bad(f"job {j['id']} ({j['type']}) still running for dead process {pid}")


def live_jobs(data_dir):
    return db_rows(data_dir, "SELECT id, type, status FROM jobs "
                             "WHERE status IN ('queued', 'running')")


def check_jobs_finished(report, data_dir, drops):
    """After quiescence: every job finished (or cancelled); each folder
    dropped into the watch folder has exactly one import job."""
    for j in live_jobs(data_dir):
        report.bad(f"job {j['id']} ({j['type']}) is still {j['status']}")
    by_path = {}
    for j in db_rows(data_dir, "SELECT id, status, payload, last_error, attempts FROM jobs "
                               "WHERE type = 'import'"):
        path = re.search(r'"path":"([^"]*)"', j["payload"])
        by_path.setdefault(path.group(1) if path else "", []).append(j)
        if j["last_error"] and not re.match(r"(review|duplicate):", j["last_error"]):
            report.note(f"import job {j['id']} ({j['status']}, attempt {j['attempts']}) "
                        f"failed once: {j['last_error']}")
    for drop in drops:
        jobs = by_path.get(str(drop), [])
        if len(jobs) > 1:
            # Harmless when the later job found the folder gone (the files
            # checks prove nothing was imported twice); worth seeing.
            report.note(f"{drop.name} had {len(jobs)} import jobs: "
                        + ", ".join(f"{j['id']} {j['status']}" for j in jobs))


def link_drift(data_dir):
    """Differences between each user's folder and their hearts: the users/
    mirror may lag after a crash (links are made after the commit) until the
    repair-user-links job runs. Returns a list of texts."""
    data = Path(data_dir)
    library, users_root = data / "library", data / "users"
    out = []
    for u in db_rows(data, "SELECT id, username FROM users"):
        wanted = {r["path"] for r in db_rows(
            data,
            "SELECT t.path FROM tracks t WHERE t.album_id IN "
            "(SELECT album_id FROM album_hearts WHERE user_id = ?1) "
            "UNION SELECT t.path FROM track_hearts h JOIN tracks t ON t.id = h.track_id "
            "WHERE h.user_id = ?1", u["id"])}
        root = users_root / u["username"]
        have = {}
        for f in _walk_files(root) if root.is_dir() else []:
            have[f.relative_to(root).as_posix()] = f
        for rel in sorted(wanted - have.keys()):
            out.append(f"{u['username']}: missing link {rel}")
        for rel in sorted(have.keys() - wanted):
            out.append(f"{u['username']}: unwanted link {rel}")
        for rel in sorted(wanted & have.keys()):
            link, lib = have[rel], library / rel
            if not lib.is_file() or not link.exists() or not os.path.samefile(link, lib):
                out.append(f"{u['username']}: link {rel} is not the library file")
    return out
