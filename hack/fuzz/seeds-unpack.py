#!/usr/bin/env python3
# Writes the seeds of the unpack fuzz target (hack/fuzz/fuzz-unpack.c) into DIR: small tar
# layers in the ustar, GNU and pax formats (files, directories, links, devices, whiteouts,
# xattrs, long names, and the escapes the unpacker must refuse), each once as given (first
# byte 0) and once for the target to gzip (first byte 1).
#   seeds-unpack.py DIR
import io, os, sys, tarfile

tarfile.RECORDSIZE = 1024  # short end-of-archive padding keeps the seeds small


def entry(name, kind=tarfile.REGTYPE, data=b"", mode=0o644, link="", pax=None, dev=(0, 0)):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.linkname, ti.mtime = kind, mode, link, 1700000000
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    ti.devmajor, ti.devminor = dev
    if pax:
        ti.pax_headers = pax
    return ti, data


TREE = [
    entry("./", tarfile.DIRTYPE, mode=0o755),
    entry("etc", tarfile.DIRTYPE, mode=0o750),
    entry("etc/hostname", data=b"box\n"),
    entry("usr/bin/tool", data=b"#!/bin/sh\n", mode=0o4755),
    entry("usr/bin/alias", tarfile.SYMTYPE, link="tool"),
    entry("usr/bin/tool2", tarfile.LNKTYPE, link="usr/bin/tool"),
    entry("abs", tarfile.SYMTYPE, link="/etc/passwd"),
    entry("run/fifo", tarfile.FIFOTYPE, mode=0o600),
    entry("dev/null", tarfile.CHRTYPE, mode=0o666, dev=(1, 3)),
    entry("ro", tarfile.DIRTYPE, mode=0o555),
    entry("ro/f", data=b"x", pax={"SCHILY.xattr.user.qoslet": "v1"}),
    entry("etc/hostname", data=b"replaced\n"),
]
WHITEOUTS = [
    entry("a", tarfile.DIRTYPE),
    entry("a/.wh..wh..opq"),
    entry("a/.wh.gone"),
    entry(".wh.b"),
    entry("c/.wh..wh.plnk"),
]
LONG = [
    entry("d/" + "n" * 120 + "/" + "m" * 120, data=b"long"),
    entry("l", tarfile.SYMTYPE, link="t" * 200),
]
ESCAPES = [
    [entry("../outside/evil", data=b"x")],
    [entry("/tmp/qoslet-evil", data=b"x")],
    [entry("link", tarfile.SYMTYPE, link="../outside"), entry("link/evil", data=b"x")],
    [entry("up", tarfile.SYMTYPE, link="../.."), entry("up/outside/evil", tarfile.DIRTYPE)],
    [entry("stolen", tarfile.LNKTYPE, link="../outside/secret")],
    [entry("link", tarfile.SYMTYPE, link="../outside"),
     entry("stolen", tarfile.LNKTYPE, link="link/secret")],
    [entry("x/.wh...")],
    [entry("alias", tarfile.SYMTYPE, link="")],
]

SETS = {"tree": TREE, "whiteouts": WHITEOUTS, "long": LONG}
for i, e in enumerate(ESCAPES):
    SETS[f"escape{i}"] = e
FORMATS = {"ustar": tarfile.USTAR_FORMAT, "gnu": tarfile.GNU_FORMAT, "pax": tarfile.PAX_FORMAT}


def build(entries, fmt):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for ti, data in entries:
            try:
                t.addfile(ti, io.BytesIO(data))
            except ValueError:
                pass  # a name the format cannot hold
    return buf.getvalue()


out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for name, entries in SETS.items():
    for fname, fmt in FORMATS.items():
        if name.startswith("escape") and fname != "pax":
            continue
        data = build(entries, fmt)
        for flag in (0, 1):
            with open(os.path.join(out, f"{name}-{fname}-{flag}"), "wb") as f:
                f.write(bytes([flag]) + data)
