/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the PKCS#7 reader: describe, then unwrap with the fixed test key and
 * certificate the corpus blobs are encrypted to (so mutations reach the RSA
 * and content decryption paths).  The key is the throw-away vector key
 * tests/vectors/ocicrypt/keys/rsa_priv.pem (and rsa_cert.pem),
 * embedded so the target runs anywhere.
 */
#include <openssl/pem.h>
#include <stdint.h>
#include <string.h>

#include "crypt/keywrap.h"
#include "util/secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char test_key[] = "-----BEGIN PRIVATE KEY-----\n"
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

static const char test_cert[] = "-----BEGIN CERTIFICATE-----\n"
                                "MIIDGTCCAgGgAwIBAgICEjQwDQYJKoZIhvcNAQELBQAwJDEiMCAGA1UEAwwZbGli\n"
                                "Y29jb2ltZyB0ZXN0IHJlY2lwaWVudDAgFw0yNjExMjMwNTA2MjNaGA8yMTI2MTAz\n"
                                "MDA1MDYyM1owJDEiMCAGA1UEAwwZbGliY29jb2ltZyB0ZXN0IHJlY2lwaWVudDCC\n"
                                "ASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAJ7X2l8nwEKXOsJBYT8tSGVA\n"
                                "WI6zB1iravUxXAZIZMKx9NYJ6xXIj8KWnj45Z84QCzrs9JF61zv/C7ZJ75Su4opr\n"
                                "/7BOeMa+CRMMCqGuHwblvGbaHfugkWkuItESRSiFETKWYyt/tEBaW9RVHj3ewY65\n"
                                "lG07DaktASKdesjiU47j80v0vfYy7f7b0C0c06zQibWidJ/jCs6EBcf/sNeyfDzg\n"
                                "3ajWXPthh6Zm94qcLe9Y5MNHCFCA2uaijCRtHVEZfY3xDLKvLZ6aruI8kk1Gsg/3\n"
                                "7X+bImr7URVsclkAl7yBBbbrhFXsI7zkpBaKEIAfZkVNe7aoF+C7NQlBzZO8rNcC\n"
                                "AwEAAaNTMFEwHQYDVR0OBBYEFDvAs5asLrGIwq8DGIXWXPIP7X8EMB8GA1UdIwQY\n"
                                "MBaAFDvAs5asLrGIwq8DGIXWXPIP7X8EMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZI\n"
                                "hvcNAQELBQADggEBACK0z/WDTZVdnupbthBb9h77K9yIAGsBLcDt48DO/kum2iFM\n"
                                "y9FtQGjfQPKCDDeCfOtdBp/RUZK5vhjpNkzdkKdXkt1Yo2c1WjaI7T+CsJjSiNtI\n"
                                "nz82Kov+KO/zXNJfslkhs87O3olEbvsiAYfAESOIXO6ITnzZSrwBe82L/niI+pZa\n"
                                "rtHOzLywihGmzkx4zLD8zHNI6UfOLr1cfbzdAWXJONuyDxDZCMf3IL59hiiFkJEI\n"
                                "z9LlQfUYFTT5++AVPSmqIGHNE4QQCBBGZXYuYolhjPfUAHPBnwUXJNEMN28r2771\n"
                                "hzaCumG5DinM4E6E/j1/XQAAF7xyQvUZigKTsrM=\n"
                                "-----END CERTIFICATE-----\n";

static EVP_PKEY *key;
static X509 *cert;

static void
cleanup(void)
{
    EVP_PKEY_free(key);
    X509_free(cert);
}

static int
init(void)
{
    if (key && cert)
        return 0;
    BIO *b = BIO_new_mem_buf(test_key, -1);
    key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    b = BIO_new_mem_buf(test_cert, -1);
    cert = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    atexit(cleanup);
    return key && cert ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (init() < 0)
        return -1;
    json_t *desc = NULL;
    cocoimg_error *err = NULL;
    if (cocoimg__keywrap_pkcs7.describe(data, size, &desc, &err) == 0)
        json_decref(desc);
    cocoimg_error_free(err);
    err = NULL;

    cocoimg__privkey pk = {.pkey = key, .source = (char *)"fuzz"};
    X509 *certs[] = {cert};
    cocoimg__crypt_config cfg = {
        .privkeys = &pk, .n_privkeys = 1, .dec_certs = certs, .n_dec_certs = 1};
    /* the policy check alone, then unwrap with CBC/3DES allowed (all paths) */
    if (cocoimg__keywrap_pkcs7.refuse(NULL, data, size, &err) < 0 && !err)
        __builtin_trap();
    cocoimg_error_free(err);
    err = NULL;
    struct cocoimg__pkcs7_state st = {.allow_unauthenticated = true};
    cocoimg__secret *out = NULL;
    int r = cocoimg__keywrap_pkcs7.unwrap(&cfg, &st, cocoimg__keywrap_pkcs7.annotation, data, size,
                                          &out, &err);
    /* an error code always comes with an error object, success with output */
    if ((r < 0) != (err != NULL) || (r == 0) != (out != NULL))
        __builtin_trap();
    cocoimg__secret_free(out);
    cocoimg_error_free(err);
    return 0;
}
