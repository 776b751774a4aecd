"""Admin jobs, schedules and integrity routes (SPEC §8, §10) and the offline
`barbossa jobs` command, against the real binary.

A queued job that no worker may take is needed to test cancel and retry
deterministically; two ways are used: `barbossa jobs run` while no server
runs (then `barbossa jobs cancel` before one starts), and a job row not due
until 2100 written straight into the database (the API has no enqueue)."""
import json
import sqlite3
import time
from datetime import datetime, timedelta, timezone

import pytest

from conftest import Server, run_cli

SCHEDULES = {
    "scan-import-folder": "*/5 * * * *",
    "cleanup-downloads": "0 * * * *",
    "verify-integrity": "0 3 * * *",
    "update-album-stats": "0 4 * * 0",
    "repair-user-links": "30 4 * * 0",
    "backup-database": "0 2 * * *",
}
JOB_FIELDS = {"id", "queue", "type", "status", "attempts", "max_attempts", "progress",
              "last_error", "dedupe_key", "payload", "cancel_requested", "run_after",
              "created_at", "updated_at", "finished_at"}
YEAR_2100_MS = int(datetime(2100, 1, 1, tzinfo=timezone.utc).timestamp() * 1000)


# --- helpers -----------------------------------------------------------------

def cron_field_matches(field, value):
    for part in field.split(","):
        if part == "*":
            return True
        if part.startswith("*/"):
            if value % int(part[2:]) == 0:
                return True
        elif int(part) == value:
            return True
    return False


def next_cron_time(cron, after):
    """The first whole minute strictly after `after` (UTC) matching a 5-field
    cron of numbers, `*` and `*/n` (day of week 0 = Sunday)."""
    minute, hour, dom, month, dow = cron.split()
    t = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(60 * 24 * 8):
        if (cron_field_matches(minute, t.minute) and cron_field_matches(hour, t.hour)
                and cron_field_matches(dom, t.day) and cron_field_matches(month, t.month)
                and cron_field_matches(dow, (t.weekday() + 1) % 7)):
            return t
        t += timedelta(minutes=1)
    raise AssertionError(f"no firing of {cron} within 8 days")


def parse_iso(text):
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text[:-1] + "+00:00")


def test_next_cron_time_helper():
    # The expectations below are only as good as this helper.
    sat = datetime(2026, 11, 28, 3, 0, 0, tzinfo=timezone.utc)  # a Saturday, on a firing
    assert next_cron_time("0 3 * * *", sat) == datetime(2026, 11, 29, 3, 0, tzinfo=timezone.utc)
    assert next_cron_time("*/5 * * * *", sat) == datetime(2026, 11, 28, 3, 5, tzinfo=timezone.utc)
    assert next_cron_time("0 4 * * 0", sat) == datetime(2026, 11, 29, 4, 0, tzinfo=timezone.utc)
    sun_late = datetime(2026, 11, 29, 4, 0, 1, tzinfo=timezone.utc)
    assert next_cron_time("0 4 * * 0", sun_late) == datetime(2026, 12, 6, 4, 0,
                                                              tzinfo=timezone.utc)


def admin_get(s, token, path, expect=200):
    r = s.request("GET", path, token=token)
    assert r.status_code == expect, f"GET {path}: {r.status_code} {r.text}"
    return r.json()


def admin_post(s, token, path, expect=200):
    r = s.request("POST", path, token=token)
    assert r.status_code == expect, f"POST {path}: {r.status_code} {r.text}"
    return r.json()


def error_of(r, status):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    return body["error"]


def wait_job(s, token, job_id, status, timeout=30):
    deadline = time.time() + timeout
    job = None
    while time.time() < deadline:
        job = admin_get(s, token, f"/api/admin/jobs/{job_id}")
        if job["status"] == status:
            return job
        if job["status"] in ("failed", "dead", "cancelled", "succeeded"):
            break
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not reach {status}: {job}\n{s.read_log()[-3000:]}")


def insert_future_job(data_dir, queue="exports", job_type="test-export", payload='{"n": 1}'):
    """A queued job not due until 2100: no worker takes it."""
    now_ms = int(time.time() * 1000)
    db = sqlite3.connect(data_dir / "barbossa.db", timeout=10)
    try:
        cur = db.execute(
            "INSERT INTO jobs (queue, type, payload, run_after, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)", (queue, job_type, payload, YEAR_2100_MS, now_ms, now_ms))
        db.commit()
        return cur.lastrowid
    finally:
        db.close()


def cli_json(data_dir, *args):
    return json.loads(run_cli(data_dir, *args).stdout)


def cli_fails(data_dir, *args):
    proc = run_cli(data_dir, *args, check=False)
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("barbossa: "), proc.stderr
    return lines[0]


# --- API ---------------------------------------------------------------------

def test_schedules_list_every_spec_schedule_with_its_next_run(server):
    token = server.admin_token()
    before = datetime.now(timezone.utc)
    body = admin_get(server, token, "/api/admin/schedules")
    after = datetime.now(timezone.utc)
    assert set(body) == {"items"}
    items = body["items"]
    assert [i["name"] for i in items] == list(SCHEDULES)
    for item in items:
        assert set(item) == {"name", "cron", "enabled", "last_run", "next_run"}, item
        assert item["cron"] == SCHEDULES[item["name"]]
        assert item["enabled"] is True
        assert item["last_run"] is None  # a fresh install has not fired anything
        expected = {next_cron_time(item["cron"], before), next_cron_time(item["cron"], after)}
        assert parse_iso(item["next_run"]) in expected, (item, expected)
    by_name = {i["name"]: i for i in items}
    # The three named in the brief, spelled out: daily at 03:00, every five
    # minutes, Sundays at 04:00.
    nxt = parse_iso(by_name["verify-integrity"]["next_run"])
    assert (nxt.hour, nxt.minute) == (3, 0) and timedelta(0) < nxt - before <= timedelta(days=1)
    nxt = parse_iso(by_name["scan-import-folder"]["next_run"])
    assert nxt.minute % 5 == 0 and timedelta(0) < nxt - before <= timedelta(minutes=5)
    nxt = parse_iso(by_name["update-album-stats"]["next_run"])
    assert nxt.weekday() == 6 and (nxt.hour, nxt.minute) == (4, 0)
    assert timedelta(0) < nxt - before <= timedelta(days=7)


def test_run_now_job_succeeds_and_jobs_are_listed_filtered(server):
    token = server.admin_token()
    started = admin_post(server, token, "/api/admin/schedules/update-album-stats/run", expect=202)
    assert set(started) == {"job_id"} and isinstance(started["job_id"], int)
    job = wait_job(server, token, started["job_id"], "succeeded")
    assert set(job) == JOB_FIELDS
    assert job["id"] == started["job_id"]
    assert job["type"] == "update-album-stats"
    assert job["queue"] == "maintenance"
    assert job["dedupe_key"] == "schedule:update-album-stats"
    assert job["payload"] == {}
    assert job["attempts"] == 1 and job["max_attempts"] >= 1
    assert job["last_error"] is None
    assert job["finished_at"] is not None
    assert parse_iso(job["created_at"]) <= parse_iso(job["updated_at"])
    assert parse_iso(job["finished_at"]) >= parse_iso(job["created_at"])

    future = insert_future_job(server.data_dir)

    everything = admin_get(server, token, "/api/admin/jobs")
    ids = [j["id"] for j in everything["items"]]
    assert job["id"] in ids and future in ids
    assert everything["total"] == len(everything["items"])
    assert ids == sorted(ids, reverse=True)  # newest first

    done = admin_get(server, token, "/api/admin/jobs?status=succeeded&queue=maintenance")
    assert job["id"] in [j["id"] for j in done["items"]]
    assert all(j["status"] == "succeeded" and j["queue"] == "maintenance" for j in done["items"])

    queued = admin_get(server, token, "/api/admin/jobs?status=queued")
    # (A cron firing of scan-import-folder may be queued for a moment too.)
    assert future in [j["id"] for j in queued["items"]]
    assert job["id"] not in [j["id"] for j in queued["items"]]
    assert all(j["status"] == "queued" for j in queued["items"])
    mine = next(j for j in queued["items"] if j["id"] == future)
    assert mine["payload"] == {"n": 1} and mine["type"] == "test-export"
    assert mine["run_after"].startswith("2100-01-01T00:00:00")
    exports = admin_get(server, token, "/api/admin/jobs?queue=exports")
    assert [j["id"] for j in exports["items"]] == [future]
    assert admin_get(server, token, "/api/admin/jobs?queue=downloads") == {
        "items": [], "total": 0, "limit": 50, "offset": 0}

    # Paging like the other lists.
    page = admin_get(server, token, "/api/admin/jobs?limit=1&offset=1")
    assert page["total"] == everything["total"] and page["limit"] == 1 and page["offset"] == 1
    assert [j["id"] for j in page["items"]] == ids[1:2]

    err = error_of(server.request("GET", "/api/admin/jobs?status=bogus", token=token), 400)
    assert "status" in err["message"]
    err = error_of(server.request("GET", "/api/admin/jobs?queue=uploads", token=token), 400)
    assert "queue" in err["message"]
    error_of(server.request("GET", "/api/admin/jobs?limit=0", token=token), 400)
    error_of(server.request("GET", "/api/admin/jobs?limit=201", token=token), 400)


def test_cancel_and_retry_with_404_and_409(server):
    token = server.admin_token()
    job_id = insert_future_job(server.data_dir)

    # A queued job cannot be retried.
    err = error_of(server.request("POST", f"/api/admin/jobs/{job_id}/retry", token=token), 409)
    assert "queued" in err["message"]

    cancelled = admin_post(server, token, f"/api/admin/jobs/{job_id}/cancel")
    assert cancelled["id"] == job_id and cancelled["status"] == "cancelled"
    assert admin_get(server, token, f"/api/admin/jobs/{job_id}")["status"] == "cancelled"
    # Finished: a second cancel is a conflict.
    error_of(server.request("POST", f"/api/admin/jobs/{job_id}/cancel", token=token), 409)
    listed = admin_get(server, token, "/api/admin/jobs?status=cancelled")
    assert [j["id"] for j in listed["items"]] == [job_id]

    retried = admin_post(server, token, f"/api/admin/jobs/{job_id}/retry")
    assert retried["id"] == job_id and retried["status"] == "queued"
    assert retried["attempts"] == 0 and retried["finished_at"] is None

    # A succeeded job can be neither cancelled nor retried.
    ran = admin_post(server, token, "/api/admin/schedules/update-album-stats/run", expect=202)
    wait_job(server, token, ran["job_id"], "succeeded")
    error_of(server.request("POST", f"/api/admin/jobs/{ran['job_id']}/cancel", token=token), 409)
    error_of(server.request("POST", f"/api/admin/jobs/{ran['job_id']}/retry", token=token), 409)

    for method, path in [("GET", "/api/admin/jobs/999999"),
                         ("POST", "/api/admin/jobs/999999/retry"),
                         ("POST", "/api/admin/jobs/999999/cancel"),
                         ("POST", "/api/admin/schedules/no-such-schedule/run")]:
        err = error_of(server.request(method, path, token=token), 404)
        assert err["code"] == "not_found"
    error_of(server.request("GET", "/api/admin/jobs/abc", token=token), 404)
    error_of(server.request("DELETE", f"/api/admin/jobs/{job_id}", token=token), 405)
    error_of(server.request("GET", "/api/admin/schedules/backup-database/run", token=token), 405)


ADMIN_ROUTES = [
    ("GET", "/api/admin/jobs"),
    ("GET", "/api/admin/jobs/1"),
    ("POST", "/api/admin/jobs/1/retry"),
    ("POST", "/api/admin/jobs/1/cancel"),
    ("GET", "/api/admin/schedules"),
    ("POST", "/api/admin/schedules/backup-database/run"),
    ("GET", "/api/admin/integrity"),
]


def test_admin_only(server):
    server.create_user("plainuser")
    user = server.login("plainuser", "user-pass-123")
    for method, path in ADMIN_ROUTES:
        assert error_of(server.request(method, path, token=user), 403)["code"] == "forbidden"
        assert error_of(server.request(method, path), 401)["code"] == "unauthorized"
    # Nothing was queued by the refused run.
    jobs = admin_get(server, server.admin_token(), "/api/admin/jobs")["items"]
    assert [j for j in jobs if j["type"] == "backup-database"] == []


def test_integrity_report_after_a_run(server):
    token = server.admin_token()
    err = error_of(server.request("GET", "/api/admin/integrity", token=token), 404)
    assert "no integrity check has run yet" in err["message"].lower()

    # Records without files: every track is reported missing.
    album_id = server.add_album("Ghost Band", "Nothing Here", tracks=2)
    assert album_id > 0
    ran = admin_post(server, token, "/api/admin/schedules/verify-integrity/run", expect=202)
    wait_job(server, token, ran["job_id"], "succeeded")

    report = admin_get(server, token, "/api/admin/integrity")
    assert set(report) == {"checked", "missing", "mismatched", "started_at", "finished_at",
                           "duration_ms"}
    assert report["checked"] == 2
    assert len(report["missing"]) == 2 and report["mismatched"] == []
    for m in report["missing"]:
        assert set(m) == {"track_id", "path"}
        assert isinstance(m["track_id"], int) and isinstance(m["path"], str)
    assert parse_iso(report["started_at"]) <= parse_iso(report["finished_at"])
    assert isinstance(report["duration_ms"], int) and report["duration_ms"] >= 0


def test_health_lists_background_components(server):
    body = admin_get(server, server.admin_token(), "/api/admin/health")
    comps = body["components"]
    for name in ("database", "job_queue", "scheduler", "watcher", "disk"):
        assert name in comps, comps
        assert comps[name]["status"] in ("ok", "degraded", "down", "disabled"), comps[name]
        assert isinstance(comps[name]["detail"], str)
    assert comps["scheduler"]["status"] == "ok"
    assert comps["job_queue"]["status"] == "ok"


# --- CLI ---------------------------------------------------------------------

def test_cli_against_a_running_server(server):
    token = server.admin_token()
    data = server.data_dir
    ran = admin_post(server, token, "/api/admin/schedules/update-album-stats/run", expect=202)
    wait_job(server, token, ran["job_id"], "succeeded")

    listed = cli_json(data, "jobs", "list", "--json")
    assert set(listed) == {"items", "total"}
    api = admin_get(server, token, f"/api/admin/jobs/{ran['job_id']}")
    assert [j for j in listed["items"] if j["id"] == ran["job_id"]] == [api]
    assert listed["total"] >= 1
    only = cli_json(data, "jobs", "list", "--json", "--status", "succeeded", "--queue",
                    "maintenance")
    assert ran["job_id"] in [j["id"] for j in only["items"]]
    assert cli_json(data, "jobs", "list", "--json", "--status", "dead")["items"] == []

    table = run_cli(data, "jobs", "list").stdout.splitlines()
    assert table[0].split()[:6] == ["ID", "QUEUE", "TYPE", "STATUS", "ATTEMPTS", "PROGRESS"]
    row = next(l for l in table[1:] if l.split() and l.split()[0] == str(ran["job_id"]))
    assert row.split()[1:6] == ["maintenance", "update-album-stats", "succeeded", "1/3", "100%"]

    schedules = cli_json(data, "jobs", "schedules", "--json")
    assert [i["name"] for i in schedules["items"]] == list(SCHEDULES)
    assert schedules == admin_get(server, token, "/api/admin/schedules")
    text = run_cli(data, "jobs", "schedules").stdout.splitlines()
    assert text[0].split()[:2] == ["NAME", "CRON"]
    assert [l.split()[0] for l in text[1:]] == list(SCHEDULES)
    verify_row = next(l for l in text if l.startswith("verify-integrity"))
    assert "0 3 * * *" in verify_row and "never" in verify_row

    # Run-now from the CLI: the server's workers pick it up from the database.
    out = run_cli(data, "jobs", "run", "repair-user-links").stdout.strip()
    assert out.isdigit(), out
    wait_job(server, token, int(out), "succeeded")

    assert "--status" in cli_fails(data, "jobs", "list", "--status", "bogus")
    assert "--queue" in cli_fails(data, "jobs", "list", "--queue", "uploads")
    assert "not found" in cli_fails(data, "jobs", "retry", "999999")
    assert "not found" in cli_fails(data, "jobs", "cancel", "999999")
    assert "no-such" in cli_fails(data, "jobs", "run", "no-such")
    assert "already finished" in cli_fails(data, "jobs", "cancel", str(ran["job_id"]))
    assert "succeeded" in cli_fails(data, "jobs", "retry", str(ran["job_id"]))


def test_cli_cancel_and_retry_while_no_server_runs(tmp_path):
    data = tmp_path / "data"
    out = run_cli(data, "jobs", "run", "backup-database").stdout.strip()
    job_id = int(out)
    # Deduplicated like a firing: a second run-now reports the live job.
    assert int(run_cli(data, "jobs", "run", "backup-database").stdout) == job_id
    queued = cli_json(data, "jobs", "list", "--json", "--status", "queued")
    assert [j["id"] for j in queued["items"]] == [job_id]
    assert queued["items"][0]["type"] == "backup-database"

    assert "cancelled" in run_cli(data, "jobs", "cancel", str(job_id)).stdout
    job = cli_json(data, "jobs", "list", "--json")["items"][0]
    assert (job["id"], job["status"]) == (job_id, "cancelled")
    assert "already finished" in cli_fails(data, "jobs", "cancel", str(job_id))

    # A cancelled job stays cancelled across a server start: nothing runs it.
    s = Server(data).start()
    try:
        token = s.admin_token()
        time.sleep(1.5)  # three worker polls
        assert admin_get(s, token, f"/api/admin/jobs/{job_id}")["status"] == "cancelled"
        assert not (data / "backups").exists() or not any((data / "backups").iterdir())
    finally:
        s.stop()

    assert "queued" in run_cli(data, "jobs", "retry", str(job_id)).stdout
    assert cli_json(data, "jobs", "list", "--json", "--status", "queued")["items"][0]["id"] == job_id
    assert "queued" in cli_fails(data, "jobs", "retry", str(job_id))

    # Retried while stopped: the next server runs it.
    s = Server(data).start()
    try:
        token = s.admin_token()
        wait_job(s, token, job_id, "succeeded")
        assert any((data / "backups").iterdir())
    finally:
        s.stop()


def test_daily_schedule_missed_while_down_runs_once_at_start(tmp_path):
    data = tmp_path / "data"
    s = Server(data).start()
    s.stop()
    # As if the server had been down for three days: the stored state says
    # backup-database last fired 3 days ago and was due again 2 days ago.
    now = int(time.time())
    db = sqlite3.connect(str(data / "barbossa.db"))
    with db:
        db.execute("UPDATE schedules SET last_run = ?, next_run = ? WHERE name = 'backup-database'",
                   (now - 3 * 86400, now - 2 * 86400))
    db.close()
    s2 = Server(data).start()
    try:
        def backups():
            con = sqlite3.connect(f"file:{data / 'barbossa.db'}?mode=ro", uri=True)
            try:
                return con.execute("SELECT status FROM jobs WHERE type = 'backup-database'").fetchall()
            finally:
                con.close()
        deadline = time.time() + 10
        while time.time() < deadline and backups() != [("succeeded",)]:
            time.sleep(0.1)
        time.sleep(1)
        assert backups() == [("succeeded",)], s2.read_log()
        assert len(list((data / "backups").glob("barbossa-*.db"))) == 1
        # Only backup-database was missed: no other daily or weekly schedule
        # fired at start-up (the 5-minute scan or the hourly cleanup may, if
        # the test straddles their minute).
        con = sqlite3.connect(f"file:{data / 'barbossa.db'}?mode=ro", uri=True)
        types = [r[0] for r in con.execute("SELECT type FROM jobs")]
        con.close()
        assert types.count("backup-database") == 1, types
        assert not {"verify-integrity", "update-album-stats", "repair-user-links"} & set(types)
    finally:
        s2.stop()
