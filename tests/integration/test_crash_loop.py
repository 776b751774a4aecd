"""The crash loop (issue 9, item 8): kill -9 at random moments while imports
(`barbossa import` and the watch folder), review approvals and rejections,
album deletions and hearts run at once, then restart and check that nothing
was lost or left half-done (crash_check.py).

Each world is a fresh data folder that lives for several iterations, so the
library, the review queue and the hearts grow and later iterations act on
what earlier ones left. Half of the kills come after a random delay, the
others from CRASH_AFTER_MOVE_STEPS (the test build kills itself after N
journaled move steps). Everything random comes from one seeded RNG; the seed
is printed, and CRASH_LOOP_SEED=<seed> replays the same choices (the timing
of the kill against the server's progress stays the machine's).

Knobs: CRASH_LOOP_SEED, CRASH_LOOP_ITERATIONS (100), CRASH_LOOP_WORLDS (10),
CRASH_LOOP_KEEP=1 keeps the data folders of a failed run (printed).
"""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

import audio
import crash_check
from conftest import BIN, Server

SETTINGS = {"WATCH_SETTLE_SECONDS": 0, "JOB_BACKOFF_SECONDS": 1, "HEARTBEAT_SECONDS": 5}
ALBUM_TOKEN = b"QQQQQQQQ"  # in the ALBUM tag of a template, replaced per copy
UID_TOKEN = b"U" * 16  # the CRASHUID tag of a template, replaced per file
USER = ("ann", "user-pass-123")


def make_templates(root):
    """Three albums made once: tagged well (imports), a better-quality
    copy of it (upgrades an album of the same title), and one with generic
    titles (goes to review)."""
    common = dict(artist="Crash Band", title="Album QQQQQQQQ", year=2020, tracks=3,
                  extra_tags={"CRASHUID": "U" * 16}, seconds=0.5)
    return {
        "good": audio.album(root, folder="good", **common),
        "hires": audio.album(root, folder="hires", rate=48000, bits=24, **common),
        "generic": audio.album(root, folder="generic", titles=["Track 01", "Track 02", "Track 03"],
                               **common),
    }


class World:
    """One data folder, its servers, and every album copy it was given."""

    def __init__(self, root, templates, rng, log):
        self.root = Path(root)
        self.data = self.root / "data"
        self.inbox = self.root / "inbox"  # `barbossa import` sources
        self.stage = self.root / "stage"  # copies waiting to be renamed into pending
        for d in (self.inbox, self.stage):
            d.mkdir(parents=True, exist_ok=True)
        self.templates = templates
        self.rng = rng
        self.log = log
        self.instances = {}  # name -> [uid]
        self.tokens = []  # album tokens made so far (for duplicates and upgrades)
        self.drops = []  # folders renamed into pending
        self.reject_deleted = set()  # review ids a reject with delete_files was sent for
        self.server = None
        self.dead_pids = set()
        self.hashes = crash_check.HashCache()
        self.counter = 0
        self.starts = 0
        self.admin = self.ann = None

    # --- album copies
    def new_copy(self, where):
        r = self.rng.random()
        if r < 0.55 or not self.tokens:
            kind, token = "good", None
        elif r < 0.70:
            kind, token = "good", self.rng.choice(self.tokens)  # a duplicate
        elif r < 0.80:
            kind, token = "hires", self.rng.choice(self.tokens)  # an upgrade
        else:
            kind, token = "generic", None
        self.counter += 1
        if token is None:
            token = f"{self.rng.getrandbits(32):08x}"
            self.tokens.append(token)
        name = f"{self.root.name}-{self.counter:03d} {kind} {token}"
        dest = where / name
        dest.mkdir()
        uids = []
        for f in sorted(self.templates[kind].iterdir()):
            data = f.read_bytes()
            assert data.count(ALBUM_TOKEN) == 1 and data.count(UID_TOKEN) == 1, f
            uid = f"{self.rng.getrandbits(64):016x}"
            data = data.replace(ALBUM_TOKEN, token.encode()).replace(UID_TOKEN, uid.encode())
            (dest / f.name).write_bytes(data)
            uids.append(uid)
        self.instances[name] = uids
        return dest

    # --- servers
    def start(self, env=None):
        self.starts += 1
        self.server = Server(self.data, {**SETTINGS, **(env or {})})
        self.server.log_path = self.root / f"server-{self.starts:03d}.log"
        return self.server.start()

    def recovered(self):
        """What the last start's log says it repaired: (album moves finished
        or rolled back, jobs of dead workers taken back)."""
        text = self.server.read_log()
        moves = re.findall(r"finished or rolled back (\d+) album move", text)
        jobs = re.findall(r"taking back (\d+) job", text)
        return sum(map(int, moves)), sum(map(int, jobs))

    def kill(self):
        if self.server and self.server.proc.poll() is None:
            self.dead_pids.add(self.server.proc.pid)
            self.server.proc.kill()
        if self.server:
            self.server.proc.wait(timeout=10)
            self.dead_pids.add(self.server.proc.pid)

    def tokens_for_users(self):
        if self.admin is None:
            self.admin = self.server.admin_token()
            self.server.create_user(*USER)
            self.ann = self.server.login(*USER)
        return {"admin": self.admin, "ann": self.ann}

    def http(self, method, path, token, body=None):
        try:
            r = self.server.request(method, path, token=token, json_body=body, timeout=10)
            return r.status_code
        except Exception as e:  # the server died under the request
            return type(e).__name__


def wait_quiescent(world, cli_procs, timeout=30.0):
    """Until no CLI import runs, no job is queued or running, and the watch
    folder holds nothing that has no finished job."""
    pending = world.data / "import" / "pending"
    deadline = time.time() + timeout
    quiet_since = None
    while time.time() < deadline:
        busy = any(p.poll() is None for p in cli_procs) or crash_check.live_jobs(world.data)
        if not busy:
            finished = {Path(json.loads(j["payload"]).get("path", "")) for j in
                        crash_check.db_rows(world.data, "SELECT payload FROM jobs WHERE "
                                            "type = 'import' AND status NOT IN "
                                            "('queued', 'running')")}
            busy = any(e not in finished for e in pending.iterdir())
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.time()
        elif time.time() - quiet_since > 0.3:
            return True
        time.sleep(0.05)
    return False


def run_repair(world):
    """The users/ mirror is made after each commit and repaired by the
    repair-user-links job (SPEC §4); run it now and wait for it."""
    return run_schedule(world, "repair-user-links")


def run_schedule(world, name):
    """Runs a schedule's job now and waits for it; returns its row."""
    r = world.server.request("POST", f"/api/admin/schedules/{name}/run",
                             token=world.admin)
    assert r.status_code == 202, r.text
    job = r.json()["job_id"]
    deadline = time.time() + 20
    while time.time() < deadline:
        rows = crash_check.db_rows(world.data, "SELECT status, last_error FROM jobs WHERE id = ?",
                                   job)
        if rows and rows[0]["status"] not in ("queued", "running"):
            return rows[0]
        time.sleep(0.05)
    raise AssertionError(f"{name} did not finish")


def plan_operations(world, knob):
    """The operations of one iteration, chosen from what the world holds."""
    rng = world.rng
    ops = []
    reviews = [r["id"] for r in crash_check.db_rows(
        world.data, "SELECT id FROM review_items WHERE status = 'pending'")]
    albums = [r["id"] for r in crash_check.db_rows(world.data, "SELECT id FROM albums")]
    rng.shuffle(reviews)
    cli_folders = [world.new_copy(world.inbox) for _ in range(rng.choice([0, 1, 1, 2]))]
    if cli_folders:
        ops.append(("cli", cli_folders, rng.random() < 0.5 and knob))
    for _ in range(rng.choice([0, 1, 1, 2])):
        ops.append(("drop", world.new_copy(world.stage)))
    if reviews and rng.random() < 0.6:
        ops.append(("approve", reviews.pop()))
    if reviews and rng.random() < 0.5:
        ops.append(("reject", reviews.pop(), rng.random() < 0.5))
        if ops[-1][2]:
            world.reject_deleted.add(ops[-1][1])
    if albums and rng.random() < 0.4:
        ops.append(("delete", rng.choice(albums)))
    for _ in range(rng.randint(0, 3) if albums else 0):
        ops.append(("heart" if rng.random() < 0.65 else "unheart", rng.choice(albums),
                    rng.choice(["admin", "ann"])))
    return ops


def run_operation(world, op, users, cli_procs, results):
    kind = op[0]
    if kind == "cli":
        args = [BIN, "--data-dir", str(world.data)]
        if op[2]:
            args += ["--set", f"CRASH_AFTER_MOVE_STEPS={world.rng.randint(1, 4)}"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("BARBOSSA_")}
        p = subprocess.Popen(args + ["import", "--json", *map(str, op[1])], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cli_procs.append(p)
        results.append(("cli", p.pid))
    elif kind == "drop":
        target = world.data / "import" / "pending" / op[1].name
        os.rename(op[1], target)
        world.drops.append(target)
        results.append(("drop", op[1].name))
    elif kind == "approve":
        results.append(("approve", op[1], world.http("POST", f"/api/review/{op[1]}/approve",
                                                     users["admin"])))
    elif kind == "reject":
        results.append(("reject", op[1], op[2],
                        world.http("POST", f"/api/review/{op[1]}/reject", users["admin"],
                                   {"delete_files": op[2]})))
    elif kind == "delete":
        results.append(("delete", op[1], world.http("DELETE", f"/api/albums/{op[1]}",
                                                    users["admin"])))
    else:
        method = "POST" if kind == "heart" else "DELETE"
        results.append((kind, op[1], op[2], world.http(method, f"/api/me/library/albums/{op[1]}",
                                                       users[op[2]])))


def one_iteration(world, number, stats):
    """Operations, a kill, a restart, a check. Returns the check's Report."""
    rng = world.rng
    knob = rng.random() < 0.5
    steps = rng.randint(1, 6)
    if knob:
        world.kill()
        world.start({"CRASH_AFTER_MOVE_STEPS": steps})
    users = world.tokens_for_users()
    ops = plan_operations(world, knob)
    delay = rng.uniform(0.0, 0.8)
    kill_cli = rng.random() < 0.5
    cli_procs, results, threads = [], [], []
    t0 = time.time()
    for op in ops:
        th = threading.Thread(target=run_operation, args=(world, op, users, cli_procs, results))
        th.start()
        threads.append(th)
    if knob:
        # The server kills itself at its Nth move step; if no move of this
        # iteration gets that far, it is killed like the others.
        try:
            world.server.proc.wait(timeout=delay + 1.5)
        except subprocess.TimeoutExpired:
            pass
    else:
        time.sleep(max(0.0, delay - (time.time() - t0)))
    self_killed = world.server.proc.poll() is not None
    world.kill()
    if kill_cli:
        for p in cli_procs:
            if p.poll() is None:
                p.kill()
    for th in threads:
        th.join(timeout=15)
    for p in cli_procs:
        if kill_cli:
            p.wait(timeout=10)
    how = (f"knob {steps} ({'fired' if self_killed else 'not reached'})" if knob
           else f"kill after {delay:.2f}s")
    world.log(f"iteration {number}: {how}, cli {'killed' if kill_cli else 'runs on'}; "
              f"ops {[o[:1] + tuple(str(x) for x in o[1:]) for o in ops]}; results {results}")
    stats["knob_fired" if self_killed and knob else "knob" if knob else "timed"] += 1

    report = crash_check.Report()
    world.start()  # recovery
    moves, jobs = world.recovered()
    stats["moves_recovered"] += moves
    stats["jobs_taken_back"] += jobs
    stats["iterations_with_recovery"] += 1 if moves or jobs else 0
    crash_check.check_jobs_taken_back(report, world.data, world.dead_pids)
    quiet = wait_quiescent(world, cli_procs)
    if quiet and any(p.returncode == -signal.SIGKILL for p in cli_procs) and not kill_cli:
        # A `barbossa import` that killed itself (the knob) after the server
        # restarted left a journal nobody holds any more. The running server
        # takes it back before its next import job and in its 5-minute scan,
        # without a restart: run the scan now.
        scan = run_schedule(world, "scan-import-folder")
        if scan["status"] != "succeeded":
            report.bad(f"scan-import-folder ended {scan['status']}: {scan['last_error']}")
        stats["healed_without_restart"] += 1
        quiet = wait_quiescent(world, cli_procs)
    if not quiet:
        report.bad("not quiescent 30 s after the restart: " +
                   str(crash_check.live_jobs(world.data)))
    check_world(world, report, stats)
    return report


KNOWN_REJECT = "[known: reject with delete_files outside the journal, issue 9 item 5] "


def label_known(world, problems):
    """Marks the problems that come from a reject with delete_files, which
    removes the folder before its row commits and not to the trash (being
    fixed beside this test): reported, and still failing the test."""
    names = crash_check.db_rows(world.data, "SELECT id, path_name FROM review_items")
    out = []
    for p in problems:
        ids = {int(x) for x in re.findall(r"review item (\d+)", p)}
        m = re.search(r"of album (.+?)(?:,| is nowhere)", p)
        if m:
            ids |= {r["id"] for r in names
                    if r["path_name"] == m.group(1) or r["path_name"].startswith(m.group(1) + " (")}
        out.append(KNOWN_REJECT + p if ids & world.reject_deleted else p)
    return out


def check_world(world, report, stats):
    crash_check.check_journal(report, world.data)
    crash_check.check_files(report, world.data, [world.inbox, world.stage], world.instances)
    crash_check.check_database(report, world.data, world.hashes)
    crash_check.check_jobs_finished(report, world.data, world.drops)
    drift = crash_check.link_drift(world.data)
    if drift:
        stats["link_drift"] += 1
        report.note(f"users/ behind the hearts before repair: {drift[:3]}")
    repaired = run_repair(world)
    if repaired["status"] != "succeeded":
        report.bad(f"repair-user-links ended {repaired['status']}: {repaired['last_error']}")
    for text in crash_check.link_drift(world.data):
        report.bad("after repair-user-links: " + text)
    report.problems = label_known(world, report.problems)


def test_crash_loop_every_iteration_consistent(tmp_path):
    seed = int(os.environ.get("CRASH_LOOP_SEED", random.SystemRandom().randrange(1 << 32)))
    iterations = int(os.environ.get("CRASH_LOOP_ITERATIONS", 100))
    worlds = int(os.environ.get("CRASH_LOOP_WORLDS", 10))
    print(f"\ncrash loop: CRASH_LOOP_SEED={seed}, {iterations} iterations in {worlds} worlds")
    templates = make_templates(tmp_path / "templates")
    lines = []
    failures = []
    stats = {"knob": 0, "knob_fired": 0, "timed": 0, "link_drift": 0, "moves_recovered": 0,
             "jobs_taken_back": 0, "iterations_with_recovery": 0, "healed_without_restart": 0}
    t_start = time.time()
    per_world = -(-iterations // worlds)
    done = 0
    for w in range(worlds):
        if done >= iterations:
            break
        rng = random.Random(seed * 1000 + w)
        world = World(tmp_path / f"w{w:02d}", templates, rng,
                      lambda text, w=w: lines.append(f"[world {w}] {text}"))
        world.start()
        seen = set()
        try:
            world.tokens_for_users()
            for i in range(min(per_world, iterations - done)):
                done += 1
                report = one_iteration(world, i, stats)
                # A problem stays until someone repairs it: blame only the
                # iteration that made it.
                new_notes = [n for n in report.notes if n not in seen]
                new_problems = [p for p in report.problems if p not in seen]
                seen.update(report.notes + report.problems)
                for n in new_notes:
                    lines.append(f"[world {w}] iteration {i}: note: {n}")
                if new_problems:
                    failures.append((w, i, new_problems))
                    lines.append(f"[world {w}] iteration {i}: INCONSISTENT: {new_problems}")
        finally:
            world.kill()
    elapsed = time.time() - t_start
    known = sum(1 for _, _, probs in failures if all(p.startswith(KNOWN_REJECT) for p in probs))
    failed_worlds = {f"[world {w}]" for w, _, _ in failures}
    print("\n".join(line for line in lines
                    if line.split(" i")[0] in failed_worlds or "note:" in line))
    print(f"crash loop: {done - len(failures)}/{done} iterations consistent in {elapsed:.0f} s; "
          f"{known} of the others only by the known reject with delete_files; "
          f"seed {seed}; {stats['timed']} timed kills, {stats['knob']} knob runs not fired, "
          f"{stats['knob_fired']} fired; after the kills {stats['moves_recovered']} album moves "
          f"recovered and {stats['jobs_taken_back']} jobs taken back, in "
          f"{stats['iterations_with_recovery']} iterations; links repaired after "
          f"{stats['link_drift']}; {stats['healed_without_restart']} self-killed CLI imports "
          f"taken back by the running server")
    if failures and os.environ.get("CRASH_LOOP_KEEP"):
        keep = Path(f"/tmp/crash-loop-{seed}")
        shutil.copytree(tmp_path, keep, symlinks=True, dirs_exist_ok=True)
        print(f"data kept in {keep}")
    assert not failures, (f"seed {seed}: {len(failures)} of {done} iterations inconsistent; "
                          f"first: world {failures[0][0]} iteration {failures[0][1]}: "
                          f"{failures[0][2][:5]}")
