"""The test suite runs outside programs (sox, flac, /usr/bin/time, ...). Each
must come from a package that scripts/install-deps.sh installs, or from a
package every Debian root has: on a fresh machine `make test` once failed
because test_verify runs /usr/bin/time and nothing installed it."""
import re

from conftest import ROOT

# Program -> the Debian package that provides it.
PROVIDED_BY = {
    "sox": "sox", "flac": "flac", "lame": "lame", "ffmpeg": "ffmpeg", "ffprobe": "ffmpeg",
    "metaflac": "flac", "/usr/bin/time": "time", "time": "time", "curl": "curl", "make": "make",
    "sha256sum": "coreutils", "truncate": "coreutils", "sh": "dash", "bash": "bash", "kill": "procps",
}
# In every Debian root (debootstrap --variant=minbase), or installed before the README's commands.
ALWAYS_THERE = {"coreutils", "dash", "bash", "procps", "make"}

# The first word of an argument vector that starts a call: subprocess.run([...,
# Popen([..., audio.py's _run([... and `args = [...`.
PROGRAM_IN_ARGV = re.compile(
    r'(?:subprocess\.\w+\(|_run\(|args = )\[\s*"((?:/usr)?(?:/bin/)?[a-z0-9_.-]+)"\s*,')


def installed_packages():
    text = (ROOT / "scripts" / "install-deps.sh").read_text()
    packages = set()
    for name in ("BUILD_PKGS", "TEST_PKGS"):
        m = re.search(name + r'="([^"]*)"', text)
        assert m, f"{name} not found in install-deps.sh"
        packages.update(m.group(1).split())
    return packages


def programs_the_tests_run():
    found = {}
    for path in sorted((ROOT / "tests" / "integration").glob("*.py")):
        for line_no, line in enumerate(path.read_text().splitlines(), 1):
            for program in PROGRAM_IN_ARGV.findall(line):
                found.setdefault(program, f"{path.name}:{line_no}")
    return found


def test_every_program_the_tests_run_is_installed_by_install_deps():
    packages = installed_packages() | ALWAYS_THERE
    programs = programs_the_tests_run()
    assert "/usr/bin/time" in programs and "sox" in programs  # the scan itself works
    missing = []
    for program, where in programs.items():
        if program not in PROVIDED_BY:
            missing.append(f"{program} ({where}): add it to PROVIDED_BY with its package")
        elif PROVIDED_BY[program] not in packages:
            missing.append(f"{program} ({where}): package {PROVIDED_BY[program]} not installed")
    assert not missing, "\n".join(missing)
