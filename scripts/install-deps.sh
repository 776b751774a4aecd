#!/usr/bin/env bash
# Installs the Debian 12 packages Barbossa needs to build, run and test
# (--with-test), and to run the sanitizer and fuzzing checks (--with-check).
# Only missing packages are installed; when not root (and no sudo), prints the
# exact command and stops.
set -euo pipefail

BUILD_PKGS="cmake ninja-build ccache g++ make pkg-config libboost1.81-dev libboost-url1.81-dev
  nlohmann-json3-dev libcpp-jwt-dev libsodium-dev libsqlite3-dev libsqlitecpp-dev libspdlog-dev
  libfmt-dev libtomlplusplus-dev libcli11-dev libssl-dev libgtest-dev zlib1g-dev libtag1-dev
  libarchive-dev"
# Tests generate their audio: sox, flac, lame (MP3), ffmpeg (M4A, Ogg, Opus, WavPack).
# test_verify measures peak memory with /usr/bin/time (package time, not in a minimal root).
TEST_PKGS="python3 python3-pytest python3-requests python3-websockets curl sox flac lame ffmpeg time"

# make check-asan and make fuzz: Debian's clang with its sanitizer and libFuzzer runtimes.
CHECK_PKGS="clang-14 libclang-rt-14-dev"

want="$BUILD_PKGS"
case "${1:-}" in
  --with-test) want="$want $TEST_PKGS" ;;
  --with-check) want="$want $TEST_PKGS $CHECK_PKGS" ;;
  "") ;;
  *) echo "usage: $0 [--with-test | --with-check]" >&2; exit 2 ;;
esac

missing=()
for p in $want; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
  sudo=""
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo="sudo"
else
  echo "Missing packages: ${missing[*]}" >&2
  echo "Run as root:  apt-get update && $cmd" >&2
  exit 1
fi
echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# shellcheck disable=SC2086
$sudo $cmd
