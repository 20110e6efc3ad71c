/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the JWE parser and unwrap path with fixed test keys (the throw-away
 * RSA-2048 and P-256 keys of ../shared/specs/vectors/ocicrypt/keys, so the
 * seed corpus, taken from the vectors' annotations, decrypts fully).
 */
#include <stdint.h>
#include <string.h>

#include "crypt/config.h"
#include "crypt/keys.h"
#include "crypt/keywrap.h"

static const char rsa_key[] = "-----BEGIN PRIVATE KEY-----\n"
                              "MIIEuwIBADANBgkqhkiG9w0BAQEFAASCBKUwggShAgEAAoIBAQCe19pfJ8BClzrC\n"
                              "QWE/LUhlQFiOswdYq2r1MVwGSGTCsfTWCesVyI/Clp4+OWfOEAs67PSRetc7/wu2\n"
                              "Se+UruKKa/+wTnjGvgkTDAqhrh8G5bxm2h37oJFpLiLREkUohREylmMrf7RAWlvU\n"
                              "VR493sGOuZRtOw2pLQEinXrI4lOO4/NL9L32Mu3+29AtHNOs0Im1onSf4wrOhAXH\n"
                              "/7DXsnw84N2o1lz7YYemZveKnC3vWOTDRwhQgNrmoowkbR1RGX2N8Qyyry2emq7i\n"
                              "PJJNRrIP9+1/myJq+1EVbHJZAJe8gQW264RV7CO85KQWihCAH2ZFTXu2qBfguzUJ\n"
                              "Qc2TvKzXAgMBAAECgf9KomyyzlUqIS/b/pSm9thFsKzhXIh/Pkl5EX/l2jzaEgEm\n"
                              "l67R+PUmPYBktYbAnA2FPcBCvSiRCeRI1WcC8izKvssbwtRqLhBWUbNldFuk47qC\n"
                              "EK9sQpb/VMfQltEDTyomwhkGgfjjELdt4qv/X1QsqPUMQqO2Oyk6ne0K50ZRamgy\n"
                              "EHKd58lTRf2u8PbqY6oVm0qf7s3HTiuiewQR3HyWNK051E8Ron+71MpG4dbic2O8\n"
                              "ArOjpFTpBzcFYVChIDXVt2HOm2vcRXDbH7Ga7BrDN6sRtoQq9Q3f4VcMtScDIvHE\n"
                              "kEP7IPP0kvvfVpu/jD7YhdjIsaed+g9Pu0eeeOECgYEA19mdyy8E6awtc8mJYSFj\n"
                              "ZJQPlpTefo7Z99WCP/Kx58KGCkXlWPGAcZkrXdr+s3hFjvbo1Gyt/zRE5XrkDbXG\n"
                              "hS8tfVeuVUGF6ATVyznk4sZnVgVAruIkAq83gDeZ1Vq8oeXUzv4amJxzoiZCASMc\n"
                              "f7LXV0cQqLeN07HZpVyw9HcCgYEAvGOsXok/hLReO7S4rM8BGdnB4csBR87yZVVC\n"
                              "jRQ6HwnM+k8CH7Wp7wBmK9niYoPaEb14TaKXmUT5Xv3aWr30xkizfcE17ymQn78Z\n"
                              "eR7BXJQex0AFxyUN2yo6/Mdx/fzBdcUcbRnFXl43azO2xRLQfRwSDzW62dymM0+m\n"
                              "Z+JGAqECgYEAx8LSUfRV65w5BGuEBKxNvAt60bU8pIu4FbE3Nc957i8Mtf0x4DrA\n"
                              "0GEczWObTKUGWuUPXWinLwRErswourd73k5nHxVCdgyJzMyMv+P4fBd6ExYRYshO\n"
                              "410dVEAg0l+DK6H0bQyluI8yROJ7O2ovOc9dk5xlQn99dmmmL2+1JMkCgYB6/8TZ\n"
                              "0Fh1Z2IjL2JoCZuZajCJIIcMgFSIzrrt66fq/fYj85PaajyyPBt5Q//n/FhTvtYe\n"
                              "MisyufLrD2kSV/XJxEvUrmJtbUDs29Ng3jC3JkpWIznihRHf51muEvYdM3qITxK5\n"
                              "NNtFOtSKHLCXSSpwlPRBk/4UIlktJTLrnrPBIQKBgAohvj7g2Pnl4PYWNM5accid\n"
                              "arBujbyuTw1dzA2kE4vshscjN76gtS4m3Clapfy4C4h3SFkHjlhrepgnnR/EvNvU\n"
                              "1H1tY5VeetbRkb3emZ1tBu/3iPxEOPfuergsb3d5NLRxnYmKxg4TvWV9k3/5SkiU\n"
                              "7cagqHyr5rCSLs2hDiSC\n"
                              "-----END PRIVATE KEY-----\n";
static const char ec_key[] = "-----BEGIN PRIVATE KEY-----\n"
                             "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgI3usJbQ3F/Bw1/YX\n"
                             "EZmmPOB03boHPDSxe4zRHTBEAoOhRANCAASvdpMjtTcNYYZbo9WtL2iKbFG5pzsB\n"
                             "N+PTqgocAwOTjSJRRaD7o7/ycDQrVfFffNRuAKxGAauCunrkbwVNTEPT\n"
                             "-----END PRIVATE KEY-----\n";

static cocoimg__crypt_config *cfg;

static void
setup(void)
{
    if (cfg)
        return;
    if (cocoimg__crypt_config_new(&cfg, NULL) < 0)
        abort();
    const char *keys[] = {rsa_key, ec_key};
    for (size_t i = 0; i < 2; i++) {
        EVP_PKEY *pk = NULL;
        if (cocoimg__key_load_private(&pk, keys[i], strlen(keys[i]), NULL, "fuzz", NULL) < 0)
            abort();
        cfg->privkeys = realloc(cfg->privkeys, (i + 1) * sizeof(*cfg->privkeys));
        cfg->privkeys[i].pkey = pk;
        cfg->privkeys[i].source = strdup("fuzz");
        cfg->n_privkeys = i + 1;
    }
}

/* The config lives for the whole process; free it so LeakSanitizer stays quiet. */
__attribute__((destructor)) static void
teardown(void)
{
    cocoimg__crypt_config_free(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    cocoimg__secret *out = NULL;
    cocoimg_error *err = NULL;
    int r = cocoimg__keywrap_jwe.unwrap(cfg, NULL, cocoimg__keywrap_jwe.annotation, data, size,
                                        &out, &err);
    /* a result always comes with exactly one of: plaintext, error */
    if ((r == 0) != (out != NULL) || (r < 0) != (err != NULL))
        abort();
    cocoimg__secret_free(out);
    cocoimg_error_free(err);
    json_t *d = NULL;
    err = NULL;
    r = cocoimg__keywrap_jwe.describe(data, size, &d, &err);
    if ((r == 0) != (d != NULL))
        abort();
    json_decref(d);
    cocoimg_error_free(err);
    return 0;
}
