/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intel TDX attester (spec 2.2): a DCAP quote from configfs-tsm (provider
 * tdx_guest), the only quote path of current attestation-agent.  Evidence:
 * {"cc_eventlog": null, "quote": base64(quote)}.  The event log is optional
 * for trustee's TDX verifier and is not sent yet (no RTMR replay).
 *
 * The quote is checked before it leaves: a TDX quote (v4, or v5 with a TDX
 * 1.0/1.5 body) whose REPORTDATA is ours, zero-padded; its MRCONFIGID is
 * reported for the init-data check.
 */
#include <string.h>

#include "attester.h"
#include "tsm.h"
#include "util/base64.h"
#include "util/cleanup.h"

#define TDX_HEADER 48
#define TDX_BODY 584 /* TDX 1.0 TD report body; 1.5 appends 64 bytes */
#define TDX_TEE_TYPE 0x81
#define TDX_BODY_MRCONFIGID 184
#define TDX_BODY_REPORTDATA 520

static uint32_t
le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t
le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* the TD report body of a quote, or NULL */
static const uint8_t *
quote_body(const uint8_t *q, size_t len, const char **why)
{
    if (len < TDX_HEADER + TDX_BODY) {
        *why = "too short";
        return NULL;
    }
    if (le32(q + 4) != TDX_TEE_TYPE) {
        *why = "not a TDX quote (tee_type)";
        return NULL;
    }
    switch (le16(q)) {
    case 4:
        return q + TDX_HEADER;
    case 5: {
        /* v5: u16 body type (2 = TDX 1.0, 3 = TDX 1.5), u32 body size */
        uint16_t type = le16(q + TDX_HEADER);
        uint32_t size = le32(q + TDX_HEADER + 2);
        if ((type != 2 && type != 3) || size < TDX_BODY || size > len - TDX_HEADER - 6) {
            *why = "malformed v5 body descriptor";
            return NULL;
        }
        return q + TDX_HEADER + 6;
    }
    default:
        *why = "unsupported quote version";
        return NULL;
    }
}

int
cocoimg__tdx_quote_check(const uint8_t *quote, size_t len, const uint8_t rd[64],
                         uint8_t mrconfigid[48], cocoimg_error **err)
{
    const char *why = NULL;
    const uint8_t *body = quote_body(quote, len, &why);
    if (!body)
        return cocoimg__error_set(err, COCOIMG_EFORMAT, 0, "TDX quote from configfs-tsm: %s", why);
    if (memcmp(body + TDX_BODY_REPORTDATA, rd, 64) != 0)
        return cocoimg__error_set(err, COCOIMG_EAUTH, 0,
                                  "TDX quote from configfs-tsm does not carry this attestation's "
                                  "report_data");
    memcpy(mrconfigid, body + TDX_BODY_MRCONFIGID, 48);
    return 0;
}

static int
tdx_detect(const struct cocoimg__attester_env *env, const char **why, cocoimg_error **err)
{
    if (cocoimg__attester_exists(env, "/dev/tdx_guest")) {
        *why = "found /dev/tdx_guest";
        return 1;
    }
    char prov[64];
    int r = cocoimg__tsm_provider(prov, sizeof(prov), env, err);
    if (r < 0)
        return r;
    if (r > 0 && strcmp(prov, "tdx_guest") == 0) {
        *why = "configfs-tsm provider tdx_guest";
        return 1;
    }
    *why = r > 0 ? "configfs-tsm has another provider, no /dev/tdx_guest"
                 : "no /dev/tdx_guest, no configfs-tsm";
    return 0;
}

static int
tdx_evidence(json_t **out, struct cocoimg__attester_claims *claims,
             const struct cocoimg__attester_env *env, const uint8_t *report_data, size_t len,
             cocoimg_error **err)
{
    uint8_t rd[64];
    cocoimg__attester_pad64(rd, report_data, len);
    struct cocoimg__tsm_report rep = {0};
    int r = cocoimg__tsm_report(&rep, env, "tdx_guest", rd, false, err);
    if (r < 0)
        return r;
    if ((r = cocoimg__tdx_quote_check(rep.outblob, rep.outlen, rd, claims->init_data, err)) < 0) {
        cocoimg__tsm_report_clear(&rep);
        return r;
    }
    claims->init_data_field = "MRCONFIGID";
    claims->init_data_len = 48;
    _cleanup_free_ char *b64 = NULL;
    r = cocoimg__b64_encode(&b64, rep.outblob, rep.outlen, COCOIMG_B64_STD, err);
    cocoimg__tsm_report_clear(&rep);
    if (r < 0)
        return r;
    json_t *j = json_pack("{s:n, s:s}", "cc_eventlog", "quote", b64);
    if (!j)
        return cocoimg__error_oom(err);
    *out = j;
    return 0;
}

const cocoimg__attester cocoimg__attester_tdx = {
    .name = "tdx",
    .tee = "tdx",
    .fallback = false,
    .detect = tdx_detect,
    .evidence = tdx_evidence,
};
