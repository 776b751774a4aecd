# Builds the archives archive_test.cpp unpacks, hostile ones included, into
# the folder given as the first argument. Run by the test with /usr/bin/python3.
import io
import os
import sys
import tarfile
import zipfile

out = sys.argv[1]


def path(name):
    return os.path.join(out, name)


def tar_add(t, name, data=b"", kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    t.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


with zipfile.ZipFile(path("album.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("Album/", b"")
    z.writestr("Album/01 One.flac", b"fLaC" + b"1" * 5000)
    z.writestr("Album/02 Two.flac", b"fLaC" + b"2" * 7000)
    z.writestr("./Album/cover.jpg", b"\xff\xd8\xff" + b"c" * 100)

with tarfile.open(path("album.tar.xz"), "w:xz") as t:
    tar_add(t, "Artist - Album/01.mp3", b"ID3" + b"x" * 3000)
    tar_add(t, "Artist - Album/02.mp3", b"ID3" + b"y" * 3000)

with tarfile.open(path("album.tgz"), "w:gz") as t:
    tar_add(t, "a.ogg", b"OggS" + b"z" * 100)

with tarfile.open(path("plain.tar"), "w") as t:
    tar_add(t, "a.ogg", b"OggS" + b"z" * 100)

with zipfile.ZipFile(path("evil.zip"), "w") as z:
    z.writestr("ok.flac", b"fine")
    z.writestr("../evil.flac", b"evil")

with zipfile.ZipFile(path("deep-evil.zip"), "w") as z:
    z.writestr("a/ok.flac", b"fine")
    z.writestr("a/../../evil.flac", b"evil")

with zipfile.ZipFile(path("abs.zip"), "w") as z:
    z.writestr("ok.flac", b"fine")
    info = zipfile.ZipInfo("placeholder")
    info.filename = os.path.join(out, "abs-evil.flac")  # absolute, kept as is
    z.writestr(info, b"evil")

with zipfile.ZipFile(path("symlink.zip"), "w") as z:
    z.writestr("ok.flac", b"fine")
    info = zipfile.ZipInfo("link.flac")
    info.create_system = 3  # Unix, so the mode below is read
    info.external_attr = (0o120777 << 16)
    z.writestr(info, "/etc/passwd")

with tarfile.open(path("symlink.tar"), "w") as t:
    tar_add(t, "ok.flac", b"fine")
    tar_add(t, "link", kind=tarfile.SYMTYPE, link="..")

with tarfile.open(path("hardlink.tar"), "w") as t:
    tar_add(t, "ok.flac", b"fine")
    tar_add(t, "hard.flac", kind=tarfile.LNKTYPE, link="ok.flac")

with tarfile.open(path("fifo.tar"), "w") as t:
    tar_add(t, "ok.flac", b"fine")
    tar_add(t, "pipe", kind=tarfile.FIFOTYPE)

# 8 MiB of zeros packs to a few KiB: past the 1 MiB limit the test sets.
with zipfile.ZipFile(path("bomb.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("ok.flac", b"fine")
    z.writestr("zeros.flac", bytes(8 << 20))

# No entry is past the limit alone; together they are.
with tarfile.open(path("many.tar.gz"), "w:gz") as t:
    for i in range(4):
        tar_add(t, "part%d.flac" % i, bytes(400 << 10))

# A zip named like audio, and audio named like a zip.
with open(path("album.zip"), "rb") as src, open(path("disguised.mp3"), "wb") as dst:
    dst.write(src.read())
with open(path("song.zip"), "wb") as f:
    f.write(b"ID3\x03\x00" + b"\x00" * 2000)
