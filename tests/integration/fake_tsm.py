#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A fake configfs-tsm for the attester tests (FUSE, Debian's python3-fusepy).

  fake_tsm.py MOUNTPOINT --provider tdx_guest|sev_guest --log FILE [options]

MOUNTPOINT stands for /sys/kernel/config/tsm: it holds `report/`, where
mkdir makes an entry with the attributes Linux gives one
(Documentation/ABI/testing/configfs-tsm): provider, generation, inblob
(written, committed on close: generation + 1), outblob (a report made over
the inblob: a TDX v4/v5 quote or a 1184-byte SNP report, unsigned) and, for
sev_guest, auxblob (a GHCB certificate table with a VCEK entry).  Every
mkdir, inblob commit and rmdir goes to the log, so a test can see that the
attester cleaned up.

  --mrconfigid HEX    TDX MRCONFIGID (48 bytes, zero-padded)
  --host-data HEX     SNP HOST_DATA (32 bytes, zero-padded)
  --race N            the first N entries see a second writer (generation + 2)
  --quote-version V   4 (default) or 5
  --ignore-inblob     outblob carries zero REPORTDATA (a broken TEE)
"""
import argparse
import errno
import os
import stat
import struct
import sys
import threading
import time

from fusepy import FUSE, FuseOSError, Operations

VCEK_GUID = bytes.fromhex("63da758de6644564adc5f4b93be8accd")


def tdx_quote(report_data, mrconfigid, version):
    header = struct.pack("<HHIHH16s20s", version, 2, 0x81, 0, 0, b"\x93" * 16, b"\0" * 20)
    body = bytearray(584)
    body[136:184] = b"\x11" * 48  # MRTD
    body[184:232] = mrconfigid
    body[520:584] = report_data
    sig = struct.pack("<I", 64) + b"\x5a" * 64
    if version == 5:
        return header + struct.pack("<HI", 2, len(body)) + bytes(body) + sig
    return header + bytes(body) + sig


def snp_report(report_data, host_data):
    r = bytearray(0x4A0)
    struct.pack_into("<IIQ", r, 0, 3, 7, 0x30000)
    struct.pack_into("<II", r, 0x30, 0, 1)
    r[0x38:0x40] = bytes([3, 0, 0, 0, 0, 0, 8, 115])  # current_tcb, Milan/Genoa layout
    struct.pack_into("<QI", r, 0x40, 3, 0)
    r[0x50:0x90] = report_data
    r[0x90:0xC0] = b"\x22" * 48  # measurement
    r[0xC0:0xE0] = host_data
    r[0x180:0x188] = bytes([3, 0, 0, 0, 0, 0, 8, 115])
    r[0x188:0x18B] = bytes([0x19, 1, 1])
    r[0x1A0:0x1E0] = b"\x33" * 64  # chip_id
    r[0x1E0:0x1E8] = bytes([3, 0, 0, 0, 0, 0, 8, 115])
    r[0x1E8:0x1EB] = bytes([55, 1, 1])
    r[0x1EC:0x1EF] = bytes([55, 1, 1])
    r[0x1F0:0x1F8] = bytes([3, 0, 0, 0, 0, 0, 8, 115])
    r[0x2A0:0x2E8] = b"\x44" * 72
    r[0x2E8:0x330] = b"\x55" * 72
    return bytes(r)


def cert_table():
    cert = b"fake VCEK certificate (DER)"
    return VCEK_GUID + struct.pack("<II", 48, len(cert)) + b"\0" * 24 + cert


class Tsm(Operations):
    def __init__(self, a):
        self.a = a
        self.mu = threading.Lock()
        self.entries = {}
        self.created = 0
        self.writes = {}  # fh -> (entry, bytearray)
        self.fh = 0
        self.log = open(a.log, "a", buffering=1)
        self.t = time.time()

    def attrs(self, name):
        names = ["provider", "generation", "inblob", "outblob", "privlevel", "privlevel_floor"]
        if self.a.provider == "sev_guest":
            names.append("auxblob")
        return names

    def split(self, path):
        parts = [p for p in path.split("/") if p]
        return parts

    def content(self, e, attr):
        if attr == "provider":
            return (self.a.provider + "\n").encode()
        if attr == "generation":
            return b"%d\n" % e["gen"]
        if attr in ("privlevel", "privlevel_floor"):
            return b"0\n"
        if attr == "inblob":
            return b""
        if attr == "outblob":
            rd = b"\0" * 64 if self.a.ignore_inblob else e["inblob"].ljust(64, b"\0")[:64]
            if self.a.provider == "tdx_guest":
                return tdx_quote(rd, self.a.mrconfigid, self.a.quote_version)
            return snp_report(rd, self.a.host_data)
        if attr == "auxblob":
            return cert_table()
        raise FuseOSError(errno.ENOENT)

    def getattr(self, path, fh=None):
        p = self.split(path)
        d = dict(st_uid=0, st_gid=0, st_atime=self.t, st_mtime=self.t, st_ctime=self.t)
        if len(p) == 0 or p == ["report"]:
            return dict(d, st_mode=stat.S_IFDIR | 0o755, st_nlink=2)
        if len(p) >= 2 and p[0] == "report":
            with self.mu:
                e = self.entries.get(p[1])
                if e is None:
                    raise FuseOSError(errno.ENOENT)
                if len(p) == 2:
                    return dict(d, st_mode=stat.S_IFDIR | 0o755, st_nlink=2)
                if len(p) == 3 and p[2] in self.attrs(p[1]):
                    mode = 0o200 if p[2] == "inblob" else 0o444
                    if p[2] == "privlevel":
                        mode = 0o644
                    size = 4096 if p[2] in ("outblob", "auxblob") else len(self.content(e, p[2]))
                    return dict(d, st_mode=stat.S_IFREG | mode, st_nlink=1, st_size=size)
        raise FuseOSError(errno.ENOENT)

    def readdir(self, path, fh):
        p = self.split(path)
        if not p:
            return [".", "..", "report"]
        if p == ["report"]:
            with self.mu:
                return [".", ".."] + list(self.entries)
        if len(p) == 2 and p[1] in self.entries:
            return [".", ".."] + self.attrs(p[1])
        raise FuseOSError(errno.ENOENT)

    def mkdir(self, path, mode):
        p = self.split(path)
        if len(p) != 2 or p[0] != "report":
            raise FuseOSError(errno.EPERM)
        with self.mu:
            if p[1] in self.entries:
                raise FuseOSError(errno.EEXIST)
            self.created += 1
            self.entries[p[1]] = {"gen": 0, "inblob": b"", "race": self.created <= self.a.race}
        self.log.write("mkdir %s\n" % p[1])

    def rmdir(self, path):
        p = self.split(path)
        if len(p) != 2 or p[0] != "report":
            raise FuseOSError(errno.EPERM)
        with self.mu:
            if self.entries.pop(p[1], None) is None:
                raise FuseOSError(errno.ENOENT)
        self.log.write("rmdir %s\n" % p[1])

    def open(self, path, flags):
        p = self.split(path)
        if len(p) != 3 or p[0] != "report" or p[1] not in self.entries:
            raise FuseOSError(errno.ENOENT)
        acc = flags & os.O_ACCMODE
        if p[2] == "inblob" and acc == os.O_RDONLY:
            raise FuseOSError(errno.EACCES)
        if p[2] not in ("inblob", "privlevel") and acc != os.O_RDONLY:
            raise FuseOSError(errno.EACCES)
        with self.mu:
            self.fh += 1
            if p[2] == "inblob":
                self.writes[self.fh] = (p[1], bytearray())
            return self.fh

    def read(self, path, size, offset, fh):
        p = self.split(path)
        with self.mu:
            e = self.entries.get(p[1])
            if e is None:
                raise FuseOSError(errno.ENOENT)
            data = self.content(e, p[2])
            if offset == 0 and p[2] in ("outblob", "auxblob"):
                self.log.write("%s %s %s\n" % (p[2], p[1], data.hex()))
            return data[offset:offset + size]

    def write(self, path, data, offset, fh):
        with self.mu:
            w = self.writes.get(fh)
            if w is None:
                raise FuseOSError(errno.EBADF)
            buf = w[1]
            if offset + len(data) > 64:
                raise FuseOSError(errno.EINVAL)
            buf[offset:offset + len(data)] = data
            return len(data)

    def truncate(self, path, length, fh=None):
        return 0

    # The write is committed at flush, which close(2) waits for; FUSE sends
    # release only after close has returned, so committing there would let
    # a reader of generation run before the commit (a race the real
    # configfs-tsm, which counts the write itself, does not have).
    def flush(self, path, fh):
        self.commit(fh)
        return 0

    def release(self, path, fh):
        self.commit(fh)
        return 0

    def commit(self, fh):
        with self.mu:
            w = self.writes.pop(fh, None)
            if w is not None and w[0] in self.entries:
                e = self.entries[w[0]]
                e["inblob"] = bytes(w[1])
                e["gen"] += 2 if e["race"] else 1
                self.log.write("inblob %s %s\n" % (w[0], bytes(w[1]).hex()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mountpoint")
    ap.add_argument("--provider", required=True, choices=["tdx_guest", "sev_guest"])
    ap.add_argument("--log", required=True)
    ap.add_argument("--mrconfigid", default="")
    ap.add_argument("--host-data", default="")
    ap.add_argument("--race", type=int, default=0)
    ap.add_argument("--quote-version", type=int, default=4, choices=[4, 5])
    ap.add_argument("--ignore-inblob", action="store_true")
    a = ap.parse_args()
    a.mrconfigid = bytes.fromhex(a.mrconfigid).ljust(48, b"\0")[:48]
    a.host_data = bytes.fromhex(a.host_data).ljust(32, b"\0")[:32]
    FUSE(Tsm(a), a.mountpoint, foreground=True, direct_io=True, nothreads=False)


if __name__ == "__main__":
    sys.exit(main())
