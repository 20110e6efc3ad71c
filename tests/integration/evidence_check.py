#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Check the evidence coco-img sent against the raw report the fake TEE gave it.

  evidence_check.py tdx|snp FAKE-LOG EVIDENCE-LOG

FAKE-LOG is fake_tsm.py's log (its last outblob/auxblob lines are the raw
report of the last attestation), EVIDENCE-LOG the test KBS's
--evidence-log (its last line is the tee-evidence of that attestation).
The expected primary evidence is rendered here from the raw bytes, written
from spec 2.2 / 2.3 (attestation-agent's shapes; for SNP the serde form of
virtee/sev's AttestationReport), independently of the C code, and compared
as JSON text: same members, same order, same values.
"""
import base64
import json
import struct
import sys

GUIDS = {
    "c0b406a4-a803-4952-9743-3fb6014cd0ae": "ARK",
    "4ab7b379-bbac-4fe4-a02f-05aef327c782": "ASK",
    "63da758d-e664-4564-adc5-f4b93be8accd": "VCEK",
    "a8074bc2-a25a-483e-aae6-39c045a0b8a1": "VLEK",
    "92f81bc3-5811-4d3d-97ff-d19f88dc67ea": "CRL",
}


def last(log, kind):
    val = None
    for line in open(log):
        parts = line.split()
        if parts and parts[0] == kind:
            val = bytes.fromhex(parts[2]) if len(parts) > 2 else b""
    return val


def tcb(b, turin):
    if turin:
        return {"fmc": b[0], "bootloader": b[1], "tee": b[2], "snp": b[3], "microcode": b[7]}
    return {"fmc": None, "bootloader": b[0], "tee": b[1], "snp": b[6], "microcode": b[7]}


def snp_report(r):
    u32 = lambda o: struct.unpack_from("<I", r, o)[0]
    u64 = lambda o: struct.unpack_from("<Q", r, o)[0]
    arr = lambda o, n: list(r[o:o + n])
    v = u32(0)
    turin = v >= 3 and r[0x188] == 0x1A
    return {
        "version": v, "guest_svn": u32(4), "policy": u64(8),
        "family_id": arr(0x10, 16), "image_id": arr(0x20, 16), "vmpl": u32(0x30),
        "sig_algo": u32(0x34), "current_tcb": tcb(r[0x38:0x40], turin), "plat_info": u64(0x40),
        "key_info": u32(0x48), "report_data": arr(0x50, 64), "measurement": arr(0x90, 48),
        "host_data": arr(0xC0, 32), "id_key_digest": arr(0xE0, 48),
        "author_key_digest": arr(0x110, 48), "report_id": arr(0x140, 32),
        "report_id_ma": arr(0x160, 32), "reported_tcb": tcb(r[0x180:0x188], turin),
        "cpuid_fam_id": r[0x188] if v >= 3 else None,
        "cpuid_mod_id": r[0x189] if v >= 3 else None,
        "cpuid_step": r[0x18A] if v >= 3 else None,
        "chip_id": arr(0x1A0, 64), "committed_tcb": tcb(r[0x1E0:0x1E8], turin),
        "current": {"major": r[0x1EA], "minor": r[0x1E9], "build": r[0x1E8]},
        "committed": {"major": r[0x1EE], "minor": r[0x1ED], "build": r[0x1EC]},
        "launch_tcb": tcb(r[0x1F0:0x1F8], turin),
        "launch_mit_vector": u64(0x1F8) if v >= 5 else None,
        "current_mit_vector": u64(0x200) if v >= 5 else None,
        "signature": {"r": arr(0x2A0, 72), "s": arr(0x2E8, 72)},
    }


def cert_chain(t):
    if not t:
        return None
    out = []
    for i in range(0, len(t), 24):
        g, off, n = t[i:i + 16], *struct.unpack_from("<II", t, i + 16)
        if g == b"\0" * 16 and off == 0 and n == 0:
            break
        h = g.hex()
        u = "%s-%s-%s-%s-%s" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
        out.append({"cert_type": GUIDS.get(u, {"OTHER": u}), "data": list(t[off:off + n])})
    return out or None


def main():
    tee, fake_log, ev_log = sys.argv[1:4]
    lines = [l for l in open(ev_log) if l.strip()]
    got = json.loads(lines[-1])["primary_evidence"]
    out = last(fake_log, "outblob")
    if tee == "tdx":
        want = {"cc_eventlog": None, "quote": base64.b64encode(out).decode()}
    else:
        want = {"attestation_report": snp_report(out), "cert_chain": cert_chain(last(fake_log, "auxblob"))}
    g, w = json.dumps(got), json.dumps(want)
    if g != w:
        print("evidence differs:\n got  %s\n want %s" % (g[:2000], w[:2000]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
