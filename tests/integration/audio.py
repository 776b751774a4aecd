"""Builds small real audio files and albums for the import tests with sox,
flac, lame and ffmpeg (Debian packages). Nothing binary is committed."""
import os
import subprocess
from pathlib import Path

_WAV_CACHE = {}


def _run(args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wav(tmp_dir, seconds=1.0, rate=44100, bits=16, freq=440):
    """A cached sine WAV; one per (length, rate, depth, tone)."""
    key = (str(tmp_dir), seconds, rate, bits, freq)
    if key not in _WAV_CACHE:
        path = Path(tmp_dir) / f"src-{seconds}-{rate}-{bits}-{freq}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        _run(["sox", "-R", "-n", "-r", str(rate), "-b", str(bits), "-c", "2", str(path),
              "synth", str(seconds), "sine", str(freq), "vol", "0.3"])
        _WAV_CACHE[key] = path
    return _WAV_CACHE[key]


def flac(path, tags, seconds=1.0, rate=44100, bits=16, freq=440, scratch=None):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    src = wav(scratch or path.parent.parent / ".scratch", seconds, rate, bits, freq)
    args = ["flac", "-s", "-f", "-0", "-o", str(path)]
    for k, v in tags.items():
        for one in (v if isinstance(v, list) else [v]):
            args.append(f"--tag={k}={one}")
    _run(args + [str(src)])
    return path


def mp3(path, tags, seconds=1.0, freq=440, scratch=None, bitrate=192):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    src = wav(scratch or path.parent.parent / ".scratch", seconds, 44100, 16, freq)
    args = ["lame", "--quiet", "-b", str(bitrate), "--cbr", "--id3v2-only"]
    mapping = {"TITLE": "--tt", "ARTIST": "--ta", "ALBUM": "--tl", "DATE": "--ty",
               "TRACKNUMBER": "--tn"}
    for k, v in tags.items():
        if k in mapping:
            args += [mapping[k], str(v)]
        else:
            frame = {"ALBUMARTIST": "TPE2", "DISCNUMBER": "TPOS"}.get(k)
            if frame:
                args += ["--tv", f"{frame}={v}"]
    _run(args + [str(src), str(path)])
    return path


def album(root, artist, title, year=2001, tracks=3, fmt="flac", rate=44100, bits=16,
          titles=None, discs=None, folder=None, extra_tags=None, scratch=None, seconds=1.0):
    """Writes a consistently tagged album folder and returns its path.

    discs: None for one disc; an int N to spread `tracks` per disc over N
    discs in one flat folder (tags only); "folders" with N given by
    extra_tags["_discs"] uses CD1/CD2 sub-folders."""
    folder = Path(root) / (folder or f"{artist} - {title} ({year})")
    scratch = scratch or Path(root) / ".scratch"
    disc_list = [1] if not discs else list(range(1, (discs if isinstance(discs, int) else 2) + 1))
    for d in disc_list:
        for n in range(1, tracks + 1):
            name = (titles[n - 1] if titles else f"Song {d}-{n}")
            tags = {"ARTIST": artist, "ALBUMARTIST": artist, "ALBUM": title, "TITLE": name,
                    "TRACKNUMBER": str(n), "TRACKTOTAL": str(tracks), "DATE": str(year)}
            if discs:
                tags["DISCNUMBER"] = str(d)
                tags["DISCTOTAL"] = str(len(disc_list))
            tags.update(extra_tags or {})
            sub = folder
            if discs == "folders":
                sub = folder / f"CD{d}"
                tags.pop("DISCNUMBER", None)
                tags.pop("DISCTOTAL", None)
            freq = 200 + 40 * n + 400 * d + (7 if fmt == "mp3" else 0) + (year % 50)
            if fmt == "flac":
                flac(sub / f"{n:02d} - x{d}{n}.flac", tags, seconds, rate, bits, freq, scratch)
            else:
                mp3(sub / f"{n:02d} - x{d}{n}.mp3", tags, seconds, freq, scratch)
    return folder


def files_under(path):
    return sorted(p.relative_to(path).as_posix() for p in Path(path).rglob("*")
                  if p.is_file() or p.is_symlink())


def sha256(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256sum(path):
    out = subprocess.run(["sha256sum", str(path)], check=True, capture_output=True, text=True)
    return out.stdout.split()[0]


def same_file(a, b):
    return os.path.samefile(a, b)
