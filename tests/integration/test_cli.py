"""CLI integration tests (SPEC §2): user administration, migrate, version,
help, exit codes (0 ok, 1 error, 2 usage/configuration error) and the
configuration precedence defaults < TOML file < BARBOSSA_* env < flags.
"""
import os
import pty
import re
import select
import socket
import subprocess
import time

import pytest
import requests

from conftest import ADMIN_PASSWORD, BIN, WEB_DIR, Server, run_cli


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARBOSSA_")}
    env.update({f"BARBOSSA_{k}": str(v) for k, v in extra.items()})
    return env


def barbossa(*args, env=None, input_text=None, timeout=30):
    """Runs the binary with exactly `args` (no implied --data-dir)."""
    try:
        return subprocess.run([BIN, *args], input=input_text, capture_output=True, text=True,
                              env=env if env is not None else clean_env(), timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"barbossa {' '.join(args)} did not exit in {timeout}s "
                             f"(a configuration error must stop it)") from e


def start_serve(tmp_path, args, env, name="srv"):
    """Starts `barbossa ARGS...` (ending in `serve`) and returns a Server
    object bound to it, so the conftest HTTP helpers work."""
    s = Server(tmp_path / f"{name}-unused")
    s.log_path = tmp_path / f"{name}.log"
    return s.launch(args, env)


def login_body(server, username, password):
    r = server.request("POST", "/api/auth/login", json_body={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


def user_rows(data_dir):
    out = run_cli(data_dir, "user", "list").stdout
    rows = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3:
            rows[parts[1]] = parts
    return rows


# --- version, help, usage errors --------------------------------------------------

def test_version(tmp_path):
    p = barbossa("version")
    assert p.returncode == 0, p.stderr
    assert re.match(r"^barbossa \d+\.\d+\.\d+", p.stdout), p.stdout


@pytest.mark.parametrize("args,words", [
    (["--help"], ["serve", "user", "migrate", "version"]),
    (["-h"], ["serve", "user"]),
    (["user", "--help"], ["add", "list", "passwd", "remove"]),
    (["user", "add", "--help"], ["--admin", "--password-stdin"]),
    (["user", "passwd", "--help"], ["--password-stdin"]),
    (["serve", "--help"], ["--port"]),
    (["migrate", "--help"], []),
])
def test_help_everywhere(args, words):
    p = barbossa(*args)
    assert p.returncode == 0, (args, p.returncode, p.stderr)
    text = p.stdout + p.stderr
    assert "usage" in text.lower(), text
    for w in words:
        assert w in text, (args, w, text)


@pytest.mark.parametrize("args", [
    [],
    ["frobnicate"],
    ["--bogus-flag", "version"],
    ["user"],
    ["user", "add"],
    ["user", "frobnicate"],
    ["user", "remove"],
    ["user", "passwd"],
    ["user", "add", "x", "--admin=maybe"],
    ["serve", "--port"],
    ["--config", "/nonexistent/barbossa.toml", "version"],
])
def test_usage_errors_exit_2(tmp_path, args):
    p = barbossa("--data-dir", str(tmp_path / "d"), *args)
    assert p.returncode == 2, (args, p.returncode, p.stdout, p.stderr)
    assert p.stderr.strip(), "a usage error says what is wrong"


# --- migrate and offline user administration --------------------------------------

def test_migrate_is_idempotent(tmp_path):
    d = tmp_path / "data"
    first = run_cli(d, "migrate")
    m = re.search(r"schema version (\d+)", first.stdout)
    assert m, first.stdout
    assert (d / "barbossa.db").exists()
    second = run_cli(d, "migrate")
    assert re.search(r"schema version (\d+)", second.stdout).group(1) == m.group(1)


def test_user_commands_offline(tmp_path):
    d = tmp_path / "data"
    p = run_cli(d, "user", "add", "alice", "--password-stdin", input_text="alice-pass-1\n")
    assert "alice" in p.stdout and "alice-pass-1" not in p.stdout + p.stderr
    run_cli(d, "user", "add", "root", "--admin", "--password-stdin", input_text="root-pass-12\n")
    rows = user_rows(d)
    assert rows["alice"][2] == "user" and rows["root"][2] == "admin"

    # Errors: exit 1 with a message on stderr, nothing changed.
    for args, stdin in [
        (("user", "add", "alice", "--password-stdin"), "another-pass-1\n"),   # duplicate
        (("user", "add", "ALICE", "--password-stdin"), "another-pass-1\n"),   # duplicate, other case
        (("user", "add", "bad name", "--password-stdin"), "another-pass-1\n"),
        (("user", "add", "shorty", "--password-stdin"), "short\n"),
        (("user", "remove", "nobody"), None),
        (("user", "passwd", "nobody", "--password-stdin"), "whatever-pass-1\n"),
        (("user", "passwd", "alice", "--password-stdin"), "short\n"),
        (("user", "passwd", "alice", "--password-stdin"), "\n"),
    ]:
        p = run_cli(d, *args, input_text=stdin, check=False)
        assert p.returncode == 1, (args, p.returncode, p.stdout, p.stderr)
        assert p.stderr.strip(), args
    assert set(user_rows(d)) == {"alice", "root"}

    run_cli(d, "user", "passwd", "alice", "--password-stdin", input_text="alice-pass-2\n")
    run_cli(d, "user", "remove", "alice")
    assert set(user_rows(d)) == {"root"}
    # The last admin cannot be removed.
    p = run_cli(d, "user", "remove", "root", check=False)
    assert p.returncode == 1 and "admin" in p.stderr.lower(), (p.returncode, p.stderr)
    assert set(user_rows(d)) == {"root"}


def test_password_stdin_without_password_is_an_error(tmp_path):
    d = tmp_path / "data"
    for stdin in ("", "\n"):
        p = run_cli(d, "user", "add", "quiet", "--password-stdin", input_text=stdin, check=False)
        assert p.returncode == 1 and p.stderr.strip(), (p.returncode, p.stdout, p.stderr)
    assert "quiet" not in user_rows(d)


def test_password_prompt_does_not_echo(tmp_path):
    """`user add NAME` on a terminal prompts for the password with echo off."""
    d = tmp_path / "data"
    secret = "Echo-Test-Pass-42"
    master, slave = pty.openpty()
    proc = subprocess.Popen([BIN, "--data-dir", str(d), "user", "add", "tty-user"], stdin=slave,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
    os.close(slave)
    try:
        # Type only after the prompt: input sent earlier is flushed by design.
        prompt = b""
        deadline = time.time() + 10
        while b"Password" not in prompt and time.time() < deadline:
            if select.select([proc.stderr], [], [], 0.2)[0]:
                prompt += os.read(proc.stderr.fileno(), 4096)
        assert b"Password" in prompt, prompt
        os.write(master, (secret + "\n").encode())
        out, err = proc.communicate(timeout=20)
        echoed = b""
        while select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO once the child side is gone
                break
            if not chunk:
                break
            echoed += chunk
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert proc.returncode == 0, (out, err)
    assert secret.encode() not in echoed, echoed
    assert secret not in out.decode() + err.decode()
    # The typed password is the one that was set.
    s = start_serve(tmp_path, ["--data-dir", str(d), "serve", "--port", "0"],
                    clean_env(ADMIN_PASSWORD=ADMIN_PASSWORD))
    try:
        login_body(s, "tty-user", secret)
    finally:
        s.stop()


def test_user_add_without_password_generates_one(tmp_path):
    d = tmp_path / "data"
    p = run_cli(d, "user", "add", "gen", input_text="")
    m = re.search(r"password: (\S+)", p.stdout)
    assert m, p.stdout
    assert len(m.group(1)) >= 12


def test_cli_users_work_against_running_server(server):
    d = server.data_dir
    run_cli(d, "user", "add", "carol", "--password-stdin", input_text="carol-pass-1\n")
    body = login_body(server, "carol", "carol-pass-1")
    assert body["user"]["username"] == "carol" and body["user"]["is_admin"] is False
    token = body["access_token"]
    assert server.request("GET", "/api/admin/users", token=token).status_code == 403

    run_cli(d, "user", "add", "dan", "--admin", "--password-stdin", input_text="dan-pass-123\n")
    dan = login_body(server, "dan", "dan-pass-123")
    assert dan["user"]["is_admin"] is True
    users = server.request("GET", "/api/admin/users", token=dan["access_token"]).json()
    assert {"admin", "carol", "dan"} <= {u["username"] for u in users["items"]}

    run_cli(d, "user", "passwd", "carol", "--password-stdin", input_text="carol-pass-2\n")
    r = server.request("POST", "/api/auth/login", json_body={"username": "carol", "password": "carol-pass-1"})
    assert r.status_code == 401
    login_body(server, "carol", "carol-pass-2")

    run_cli(d, "user", "remove", "carol")
    assert server.request("GET", "/api/auth/me", token=token).status_code == 401
    r = server.request("POST", "/api/auth/login", json_body={"username": "carol", "password": "carol-pass-2"})
    assert r.status_code == 401
    # Users created through the API show up in the CLI list.
    server.create_user("erin")
    assert "erin" in user_rows(d)


# --- configuration errors ---------------------------------------------------------

@pytest.mark.parametrize("args,env,word", [
    (["--set", "PORT=abc", "serve"], {}, "PORT"),
    (["--set", "PORT=70000", "serve"], {}, "PORT"),
    (["serve", "--port", "abc"], {}, "PORT"),
    (["serve"], {"PORT": "abc"}, "PORT"),
    (["--set", "TOKEN_HOURS=soon", "serve"], {}, "TOKEN_HOURS"),
    (["--set", "HEARTBEAT_SECONDS=-1", "serve"], {}, "HEARTBEAT_SECONDS"),
    (["--set", "NO_SUCH_KEY=1", "serve"], {}, "NO_SUCH_KEY"),
    (["--set", "PORTabc", "serve"], {}, "PORTabc"),
    (["--set", "LOG_LEVEL=loud", "serve"], {}, "LOG_LEVEL"),
    (["--set", "WS_DEFLATE=perhaps", "serve"], {}, "WS_DEFLATE"),
])
def test_bad_configuration_exits_2_naming_the_key(tmp_path, args, env, word):
    p = barbossa("--data-dir", str(tmp_path / "d"), *args, env=clean_env(**env), timeout=15)
    assert p.returncode == 2, (args, p.returncode, p.stdout, p.stderr)
    assert word in p.stderr, p.stderr
    # Refused before touching anything: no database, no first admin whose
    # generated password scrolled past with the error.
    assert not (tmp_path / "d" / "barbossa.db").exists()
    assert "password" not in p.stdout.lower()


def test_bad_configuration_stops_offline_commands_too(tmp_path):
    d = tmp_path / "d"
    p = barbossa("--data-dir", str(d), "user", "add", "x", "--password-stdin",
                 env=clean_env(TOKEN_HOURS="lots"), input_text="long-enough-1\n")
    assert p.returncode == 2 and "TOKEN_HOURS" in p.stderr, (p.returncode, p.stderr)
    assert not (d / "barbossa.db").exists()


def test_bad_config_file_exits_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("PORT = [unclosed\n")
    p = barbossa("--config", str(bad), "--data-dir", str(tmp_path / "d"), "migrate", timeout=15)
    assert p.returncode == 2 and str(bad) in p.stderr, (p.returncode, p.stderr)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('NOT_A_KEY = "x"\n')
    p = barbossa("--config", str(unknown), "--data-dir", str(tmp_path / "d"), "migrate", timeout=15)
    assert p.returncode == 2 and "NOT_A_KEY" in p.stderr, (p.returncode, p.stderr)


# --- configuration precedence --------------------------------------------------------

def migrate_ok(*args, env=None):
    p = barbossa(*args, "migrate", env=env)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)


def test_config_precedence_data_dir(tmp_path):
    """DATA_DIR: file < env < flag, observed through where `migrate` puts the database."""
    file_dir, env_dir, flag_dir = (tmp_path / n for n in ("from-file", "from-env", "from-flag"))
    cfg = tmp_path / "barbossa.toml"
    cfg.write_text(f'DATA_DIR = "{file_dir}"\n')
    with_env = clean_env(DATA_DIR=env_dir)

    migrate_ok("--config", str(cfg))
    assert (file_dir / "barbossa.db").exists()
    migrate_ok("--config", str(cfg), env=with_env)
    assert (env_dir / "barbossa.db").exists()
    migrate_ok("--config", str(cfg), "--data-dir", str(flag_dir), env=with_env)
    assert (flag_dir / "barbossa.db").exists()
    migrate_ok("--config", str(cfg), "--set", f"DATA_DIR={flag_dir}2", env=with_env)
    assert (tmp_path / "from-flag2" / "barbossa.db").exists()


def test_config_precedence_token_hours(tmp_path):
    """TOKEN_HOURS: default 24 < file < env < flag, seen in login's expires_in."""
    data = tmp_path / "data"
    cfg = tmp_path / "barbossa.toml"
    cfg.write_text(f'DATA_DIR = "{data}"\nPORT = 0\nTOKEN_HOURS = 5\nWEB_DIR = "{WEB_DIR}"\n')
    base_env = dict(ADMIN_PASSWORD=ADMIN_PASSWORD, LOG_LEVEL="info")
    cases = [
        ("default", ["--data-dir", str(data), "serve", "--port", "0"], {}, 24),
        ("file", ["--config", str(cfg), "serve"], {}, 5),
        ("env", ["--config", str(cfg), "serve"], {"TOKEN_HOURS": 7}, 7),
        ("flag", ["--config", str(cfg), "--set", "TOKEN_HOURS=9", "serve"], {"TOKEN_HOURS": 7}, 9),
    ]
    for name, args, env, hours in cases:
        s = start_serve(tmp_path, args, clean_env(**base_env, **env), name=name)
        try:
            body = login_body(s, "admin", ADMIN_PASSWORD)
            assert body["expires_in"] == hours * 3600, (name, body["expires_in"])
        finally:
            s.stop()


def test_port_flag_overrides_env(tmp_path):
    # Env asks for a fixed port; the --port flag (0: pick a free one) wins.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        busy_port = probe.getsockname()[1]
        probe.listen(1)
        # busy_port is taken: if the env value won, the server could not start.
        env = clean_env(ADMIN_PASSWORD=ADMIN_PASSWORD, PORT=busy_port, DATA_DIR=tmp_path / "data")
        s = start_serve(tmp_path, ["serve", "--port", "0"], env)
        try:
            assert s.port != busy_port
            assert requests.get(s.base + "/health", timeout=10).json() == {"status": "ok"}
        finally:
            s.stop()
