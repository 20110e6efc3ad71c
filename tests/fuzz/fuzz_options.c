/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the block cipher option parsers: the input is tried as privopts
 * JSON, as pubopts JSON and as the base64 pubopts annotation.  Whatever
 * parses must survive a serialise/re-parse round trip unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypt/blockcipher.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
roundtrip(const cocoimg__privopts *priv, const cocoimg__pubopts *pub)
{
    cocoimg__layer_options *o = NULL;
    cocoimg__secret *json = NULL;
    cocoimg__privopts *again = NULL;
    char *ann = NULL;
    cocoimg__pubopts *pub2 = NULL;

    if (cocoimg__layer_options_combine(&o, priv, pub, NULL) < 0) {
        /* only a missing nonce may fail */
        if (pub->has_nonce || priv->has_nonce)
            abort();
        return;
    }
    /* jansson only yields valid UTF-8 without NUL, so this cannot fail */
    if (cocoimg__privopts_json(&json, o, NULL) < 0 ||
        cocoimg__privopts_parse(&again, json->ptr, json->len, NULL) < 0)
        abort();
    {
        if (memcmp(again->symkey->ptr, o->symkey->ptr, COCOIMG__SYMKEY_LEN) != 0 ||
            strcmp(again->digest, priv->digest) != 0 || !again->has_nonce ||
            memcmp(again->nonce, o->nonce, COCOIMG__NONCE_LEN) != 0)
            abort();
    }
    if (cocoimg__pubopts_annotation(&ann, o, NULL) < 0 ||
        cocoimg__pubopts_annotation_parse(&pub2, ann, NULL) < 0 ||
        memcmp(pub2->hmac, pub->hmac, COCOIMG__HMAC_LEN) != 0)
        abort();
    cocoimg__pubopts_free(pub2);
    free(ann);
    cocoimg__privopts_free(again);
    cocoimg__secret_free(json);
    cocoimg__layer_options_free(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cocoimg_error *err = NULL;
    cocoimg__privopts *priv = NULL;
    cocoimg__pubopts *pub = NULL;

    if (cocoimg__privopts_parse(&priv, data, size, &err) < 0) {
        /* every failure must carry a message */
        if (!err || !cocoimg_error_message(err))
            abort();
    }
    cocoimg_error_free(err);
    err = NULL;
    (void)cocoimg__pubopts_parse(&pub, data, size, &err);
    cocoimg_error_free(err);
    err = NULL;

    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
        cocoimg__pubopts *p2 = NULL;
        (void)cocoimg__pubopts_annotation_parse(&p2, s, NULL);
        if (!pub)
            pub = p2;
        else
            cocoimg__pubopts_free(p2);
        free(s);
    }

    if (priv && pub)
        roundtrip(priv, pub);
    else if (priv) {
        static const cocoimg__pubopts fake = {.hmac = {1, 2, 3}};
        roundtrip(priv, &fake);
    }
    cocoimg__privopts_free(priv);
    cocoimg__pubopts_free(pub);
    return 0;
}
