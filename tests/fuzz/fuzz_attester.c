/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz what the host can put in front of the attesters: the init-data TOML
 * (the host chooses it at launch), the SNP certificate table (auxblob /
 * SNP_GET_EXT_REPORT certificates come from the hypervisor) with the report,
 * and a TDX quote.  The first byte picks the parser; the rest is its input
 * (for SNP: a 2-byte length of the report, the report, then the table).
 * Errors must never quote the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attester.h"
#include "kbs_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0] % 3;
    data++;
    size--;
    cocoimg_error *err = NULL;
    if (sel == 0) {
        uint8_t *text = malloc(size + 1);
        if (!text)
            return 0;
        memcpy(text, data, size);
        text[size] = 0;
        struct cocoimg__initdata d;
        if (cocoimg__initdata_parse(&d, text, size, "fuzz", &err) == 0) {
            if (d.digest_len != 32 && d.digest_len != 48 && d.digest_len != 64)
                abort();
            uint8_t field[48] = {0};
            (void)cocoimg__initdata_check(&d, "MRCONFIGID", field, 48, NULL);
            cocoimg__initdata_clear(&d);
        }
    } else if (sel == 1) {
        if (size < 2)
            return 0;
        size_t rlen = (size_t)data[0] | (size_t)data[1] << 8;
        data += 2;
        size -= 2;
        if (rlen > size)
            rlen = size;
        uint8_t rd[64] = {0}; /* the report's own REPORT_DATA, so rendering is reached */
        if (rlen >= 0x90)
            memcpy(rd, data + 0x50, 64);
        json_t *ev = NULL;
        if (cocoimg__snp_evidence_json(&ev, data, rlen, data + rlen, size - rlen, rd, &err) == 0) {
            char *s = json_dumps(ev, 0);
            if (!s)
                abort();
            free(s);
            json_decref(ev);
        }
    } else {
        uint8_t rd[64] = {0}, mr[48];
        if (size >= 48 + 584)
            memcpy(rd, data + 48 + 520, 64);
        (void)cocoimg__tdx_quote_check(data, size, rd, mr, &err);
    }
    cocoimg_error_free(err);
    return 0;
}
