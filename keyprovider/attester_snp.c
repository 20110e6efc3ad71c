/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMD SEV-SNP attester (spec 2.3).  The 1184-byte attestation report comes
 * from configfs-tsm (provider sev_guest; auxblob = the GHCB certificate
 * table) when the kernel has it, else from /dev/sev-guest with
 * SNP_GET_EXT_REPORT (VMPL 0).  Evidence:
 *   {"attestation_report": <the report as virtee/sev's serde writes it>,
 *    "cert_chain": null | [{"cert_type": "ARK"|"ASK"|"VCEK"|"VLEK"|"CRL"|
 *                           {"OTHER": "<uuid>"}, "data": [bytes]}]}
 * The report's REPORT_DATA is checked to be ours before it leaves; its
 * HOST_DATA is reported for the init-data check.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sev-guest.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attester.h"
#include "tsm.h"
#include "util/cleanup.h"

#define SNP_REPORT_SIZE 0x4a0
#define SNP_CERTS_MAX (1u << 20)
#define SNP_CERT_ENTRIES_MAX 64

static uint32_t
le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static json_t *
bytes_array(const uint8_t *p, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_integer(p[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *
u64_number(uint64_t v)
{
    /* jansson integers are signed 64-bit; no report field uses bit 63 */
    return v > INT64_MAX ? NULL : json_integer((json_int_t)v);
}

/*
 * TcbVersion: Milan/Genoa {bootloader, tee, _, _, _, _, snp, microcode};
 * Turin (CPUID family 0x1A, report v3+) {fmc, bootloader, tee, snp, _, _, _,
 * microcode}.
 */
static json_t *
tcb(const uint8_t *p, bool turin)
{
    if (turin)
        return json_pack("{s:i, s:i, s:i, s:i, s:i}", "fmc", p[0], "bootloader", p[1], "tee", p[2],
                         "snp", p[3], "microcode", p[7]);
    return json_pack("{s:n, s:i, s:i, s:i, s:i}", "fmc", "bootloader", p[0], "tee", p[1], "snp",
                     p[6], "microcode", p[7]);
}

static json_t *
maybe_u8(bool present, uint8_t v)
{
    return present ? json_integer(v) : json_null();
}

static json_t *
maybe_u64(bool present, const uint8_t *p)
{
    return present ? u64_number(le64(p)) : json_null();
}

/* the serde form of sev::firmware::guest::AttestationReport (sev 7) */
static json_t *
report_json(const uint8_t *r)
{
    uint32_t version = le32(r);
    bool v3 = version >= 3, v5 = version >= 5;
    bool turin = v3 && r[0x188] == 0x1a;
    json_t *j = json_object();
    struct {
        const char *k;
        json_t *v;
    } f[] = {
        {"version", json_integer(version)},
        {"guest_svn", json_integer(le32(r + 0x04))},
        {"policy", u64_number(le64(r + 0x08))},
        {"family_id", bytes_array(r + 0x10, 16)},
        {"image_id", bytes_array(r + 0x20, 16)},
        {"vmpl", json_integer(le32(r + 0x30))},
        {"sig_algo", json_integer(le32(r + 0x34))},
        {"current_tcb", tcb(r + 0x38, turin)},
        {"plat_info", u64_number(le64(r + 0x40))},
        {"key_info", json_integer(le32(r + 0x48))},
        {"report_data", bytes_array(r + 0x50, 64)},
        {"measurement", bytes_array(r + 0x90, 48)},
        {"host_data", bytes_array(r + 0xc0, 32)},
        {"id_key_digest", bytes_array(r + 0xe0, 48)},
        {"author_key_digest", bytes_array(r + 0x110, 48)},
        {"report_id", bytes_array(r + 0x140, 32)},
        {"report_id_ma", bytes_array(r + 0x160, 32)},
        {"reported_tcb", tcb(r + 0x180, turin)},
        {"cpuid_fam_id", maybe_u8(v3, r[0x188])},
        {"cpuid_mod_id", maybe_u8(v3, r[0x189])},
        {"cpuid_step", maybe_u8(v3, r[0x18a])},
        {"chip_id", bytes_array(r + 0x1a0, 64)},
        {"committed_tcb", tcb(r + 0x1e0, turin)},
        {"current",
         json_pack("{s:i, s:i, s:i}", "major", r[0x1ea], "minor", r[0x1e9], "build", r[0x1e8])},
        {"committed",
         json_pack("{s:i, s:i, s:i}", "major", r[0x1ee], "minor", r[0x1ed], "build", r[0x1ec])},
        {"launch_tcb", tcb(r + 0x1f0, turin)},
        {"launch_mit_vector", maybe_u64(v5, r + 0x1f8)},
        {"current_mit_vector", maybe_u64(v5, r + 0x200)},
        {"signature",
         json_pack("{s:o, s:o}", "r", bytes_array(r + 0x2a0, 72), "s", bytes_array(r + 0x2e8, 72))},
    };
    bool ok = j != NULL;
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        if (!ok || !f[i].v) {
            ok = false;
            json_decref(f[i].v);
        } else if (json_object_set_new(j, f[i].k, f[i].v) < 0) {
            ok = false; /* set_new released the value */
        }
    }
    if (!ok) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static const struct {
    const char *name;
    const char *uuid;
} cert_types[] = {
    {"ARK", "c0b406a4-a803-4952-9743-3fb6014cd0ae"},
    {"ASK", "4ab7b379-bbac-4fe4-a02f-05aef327c782"},
    {"VCEK", "63da758d-e664-4564-adc5-f4b93be8accd"},
    {"VLEK", "a8074bc2-a25a-483e-aae6-39c045a0b8a1"},
    {"CRL", "92f81bc3-5811-4d3d-97ff-d19f88dc67ea"},
};

static void
uuid_text(char out[37], const uint8_t g[16], bool le)
{
    /* the table's GUIDs in RFC 4122 order, or EFI's mixed-endian order */
    uint8_t b[16];
    memcpy(b, g, 16);
    if (le) {
        uint8_t t[16];
        memcpy(t, g, 16);
        b[0] = t[3], b[1] = t[2], b[2] = t[1], b[3] = t[0];
        b[4] = t[5], b[5] = t[4], b[6] = t[7], b[7] = t[6];
    }
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static json_t *
cert_type(const uint8_t g[16])
{
    char be[37], le[37];
    uuid_text(be, g, false);
    uuid_text(le, g, true);
    for (size_t i = 0; i < sizeof(cert_types) / sizeof(cert_types[0]); i++)
        if (strcmp(be, cert_types[i].uuid) == 0 || strcmp(le, cert_types[i].uuid) == 0)
            return json_string(cert_types[i].name);
    return json_pack("{s:s}", "OTHER", be);
}

/* the GHCB certificate table: {guid[16], u32 offset, u32 length}..., zero entry */
static int
cert_chain(json_t **out, const uint8_t *t, size_t len, cocoimg_error **err)
{
    *out = NULL;
    static const uint8_t zero[24];
    if (!t || !len || (len >= 24 && memcmp(t, zero, 24) == 0)) {
        *out = json_null();
        return 0;
    }
    json_t *a = json_array();
    if (!a)
        return cocoimg__error_oom(err);
    for (size_t i = 0;; i++) {
        if (i >= SNP_CERT_ENTRIES_MAX || (i + 1) * 24 > len) {
            json_decref(a);
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "SNP certificate table: no terminating entry");
        }
        const uint8_t *e = t + i * 24;
        if (memcmp(e, zero, 24) == 0)
            break;
        uint32_t off = le32(e + 16), n = le32(e + 20);
        if (off < (i + 1) * 24 || off > len || n > len - off) {
            json_decref(a);
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0,
                                      "SNP certificate table: entry %zu out of bounds", i);
        }
        json_t *c =
            json_pack("{s:o, s:o}", "cert_type", cert_type(e), "data", bytes_array(t + off, n));
        if (!c || json_array_append_new(a, c) < 0) {
            json_decref(a);
            return cocoimg__error_oom(err);
        }
    }
    *out = a;
    return 0;
}

/* /dev/sev-guest SNP_GET_EXT_REPORT, for kernels without configfs-tsm */
static int
ioctl_report(struct cocoimg__tsm_report *out, const struct cocoimg__attester_env *env,
             const uint8_t rd[64], cocoimg_error **err)
{
    char dev[4096];
    if (cocoimg__attester_path(dev, sizeof(dev), env, "/dev/sev-guest") < 0)
        return cocoimg__error_set(err, COCOIMG_EINVAL, 0, "attester root path too long");
    _cleanup_close_ int fd = open(dev, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return cocoimg__error_set(err, COCOIMG_ENOTSUP, errno,
                                  "SNP: neither configfs-tsm nor %s is usable", dev);
    size_t certs_len = 4 * 4096;
    for (int attempt = 0; attempt < 2; attempt++) {
        _cleanup_free_ uint8_t *certs = NULL;
        if (posix_memalign((void **)&certs, 4096, certs_len) != 0)
            return cocoimg__error_oom(err);
        memset(certs, 0, certs_len);
        struct snp_ext_report_req req;
        struct snp_report_resp resp;
        memset(&req, 0, sizeof(req));
        memset(&resp, 0, sizeof(resp));
        memcpy(req.data.user_data, rd, 64);
        req.data.vmpl = 0;
        req.certs_address = (uint64_t)(uintptr_t)certs;
        req.certs_len = (uint32_t)certs_len;
        struct snp_guest_request_ioctl io;
        memset(&io, 0, sizeof(io));
        io.msg_version = 1;
        io.req_data = (uint64_t)(uintptr_t)&req;
        io.resp_data = (uint64_t)(uintptr_t)&resp;
        if (ioctl(fd, SNP_GET_EXT_REPORT, &io) < 0) {
            int saved = errno;
            uint32_t vmm = (uint32_t)(io.exitinfo2 >> 32);
            if (attempt == 0 && vmm == SNP_GUEST_VMM_ERR_INVALID_LEN && req.certs_len > certs_len &&
                req.certs_len <= SNP_CERTS_MAX) {
                certs_len = (req.certs_len + 4095u) & ~(size_t)4095u;
                continue;
            }
            return cocoimg__error_set(err, COCOIMG_EIO, saved,
                                      "SNP_GET_EXT_REPORT on %s (firmware error %#x, VMM error "
                                      "%#x)",
                                      dev, (unsigned)(io.exitinfo2 & 0xffffffffu), vmm);
        }
        /* MSG_REPORT_RSP: u32 status, u32 report_size, 24 reserved, report */
        uint32_t status = le32(resp.data), size = le32(resp.data + 4);
        if (status != 0)
            return cocoimg__error_set(err, COCOIMG_EIO, 0, "SNP report request: status %#x",
                                      status);
        if (size < SNP_REPORT_SIZE || size > sizeof(resp.data) - 32)
            return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "SNP report: size %u", size);
        out->outblob = malloc(size);
        if (!out->outblob)
            return cocoimg__error_oom(err);
        memcpy(out->outblob, resp.data + 32, size);
        out->outlen = size;
        out->auxblob = TAKE_PTR(certs);
        out->auxlen = certs_len;
        return 0;
    }
    return cocoimg__error_set(err, COCOIMG_EIO, 0, "SNP_GET_EXT_REPORT: certificate buffer");
}

static int
snp_detect(const struct cocoimg__attester_env *env, const char **why, cocoimg_error **err)
{
    if (cocoimg__attester_exists(env, "/dev/sev-guest")) {
        *why = "found /dev/sev-guest";
        return 1;
    }
    if (cocoimg__attester_exists(env, "/sys/devices/platform/sev-guest")) {
        *why = "found /sys/devices/platform/sev-guest";
        return 1;
    }
    char prov[64];
    int r = cocoimg__tsm_provider(prov, sizeof(prov), env, err);
    if (r < 0)
        return r;
    if (r > 0 && strcmp(prov, "sev_guest") == 0) {
        *why = "configfs-tsm provider sev_guest";
        return 1;
    }
    *why = r > 0 ? "configfs-tsm has another provider, no /dev/sev-guest"
                 : "no /dev/sev-guest, no configfs-tsm";
    return 0;
}

static int
snp_evidence(json_t **out, struct cocoimg__attester_claims *claims,
             const struct cocoimg__attester_env *env, const uint8_t *report_data, size_t len,
             cocoimg_error **err)
{
    uint8_t rd[64];
    cocoimg__attester_pad64(rd, report_data, len);
    char prov[64];
    int r = cocoimg__tsm_provider(prov, sizeof(prov), env, err);
    if (r < 0)
        return r;
    struct cocoimg__tsm_report rep = {0};
    r = r > 0 ? cocoimg__tsm_report(&rep, env, "sev_guest", rd, true, err)
              : ioctl_report(&rep, env, rd, err);
    if (r < 0)
        return r;
    r = cocoimg__snp_evidence_json(out, rep.outblob, rep.outlen, rep.auxblob, rep.auxlen, rd, err);
    if (r == 0) {
        claims->init_data_field = "HOST_DATA";
        memcpy(claims->init_data, rep.outblob + 0xc0, 32);
        claims->init_data_len = 32;
    }
    cocoimg__tsm_report_clear(&rep);
    return r;
}

int
cocoimg__snp_evidence_json(json_t **out, const uint8_t *report, size_t len, const uint8_t *aux,
                           size_t aux_len, const uint8_t rd[64], cocoimg_error **err)
{
    json_t *rj = NULL, *chain = NULL;
    int r = 0;
    if (len < SNP_REPORT_SIZE || le32(report) < 2)
        r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "SNP report: %zu bytes, version %u", len,
                               len >= 4 ? le32(report) : 0);
    else if (memcmp(report + 0x50, rd, 64) != 0)
        r = cocoimg__error_set(err, COCOIMG_EAUTH, 0,
                               "SNP report does not carry this attestation's report_data");
    else if (!(rj = report_json(report)))
        r = cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "SNP report: unrepresentable field");
    else
        r = cert_chain(&chain, aux, aux_len, err);
    if (r < 0) {
        json_decref(rj);
        return r;
    }
    json_t *j = json_pack("{s:o, s:o}", "attestation_report", rj, "cert_chain", chain);
    if (!j)
        return cocoimg__error_oom(err);
    *out = j;
    return 0;
}

const cocoimg__attester cocoimg__attester_snp = {
    .name = "snp",
    .tee = "snp",
    .fallback = false,
    .detect = snp_detect,
    .evidence = snp_evidence,
};
