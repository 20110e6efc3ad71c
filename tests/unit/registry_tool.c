/* SPDX-License-Identifier: Apache-2.0 */
/*
 * registry_tool: drives the internal registry client for the integration
 * tests (tests/integration/registry-client.sh).
 *
 *   registry_tool [FLAGS] ping HOST
 *   registry_tool [FLAGS] get-manifest HOST/REPO(:TAG|@DIGEST)      body to stdout
 *   registry_tool [FLAGS] head-manifest REF                          "DIGEST TYPE SIZE"
 *   registry_tool [FLAGS] get-blob HOST/REPO DIGEST [SIZE]           bytes to stdout
 *   registry_tool [FLAGS] blob-exists HOST/REPO DIGEST               "yes SIZE" | "no"
 *   registry_tool [FLAGS] push-blob HOST/REPO FILE [DIGEST]          "DIGEST RESULT"
 *   registry_tool [FLAGS] push-stream HOST/REPO FILE [EXPECT]        "DIGEST SIZE"
 *       (digest learnt while streaming; EXPECT: a digest the stream is
 *        verified against at its end, to make it fail there)
 *   registry_tool [FLAGS] put-manifest REF FILE                      digest
 *
 * FLAGS: --creds USER:PASS, --authfile FILE, --cert-dir DIR, --tls-verify=false,
 *        --retries N, --stall-timeout SECONDS, --chunk-size N, --mount-from REPO, --media-type MT,
 * -v Exit status: 0, 64 on usage errors, else minus the COCOIMG_E* code.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/model.h"
#include "pipeline/reader.h"
#include "registry/registry.h"
#include "util/context.h"
#include "util/fs.h"
#include "util/json.h"

static void
log_cb(cocoimg_log_level level, const char *msg, void *payload)
{
    (void)level;
    (void)payload;
    fprintf(stderr, "registry_tool: log: %s\n", msg);
}

static int
usage(void)
{
    fprintf(stderr, "usage: registry_tool [flags] COMMAND ARGS (see the source)\n");
    return 64;
}

/* HOST/REPO[:TAG][@DIGEST] */
struct ref {
    char *host, *repo, *ref;
};

static int
split_ref(struct ref *out, const char *s, bool need_ref)
{
    const char *slash = strchr(s, '/');
    if (!slash || slash == s)
        return -1;
    out->host = strndup(s, (size_t)(slash - s));
    char *rest = strdup(slash + 1);
    char *at = strchr(rest, '@');
    if (at) {
        *at = '\0';
        out->ref = strdup(at + 1);
    }
    char *colon = strrchr(rest, ':');
    if (colon) {
        *colon = '\0';
        if (!out->ref)
            out->ref = strdup(colon + 1);
    }
    out->repo = rest;
    if (need_ref && !out->ref)
        out->ref = strdup("latest");
    return 0;
}

static void
ref_clear(struct ref *r)
{
    free(r->host);
    free(r->repo);
    free(r->ref);
}

int
main(int argc, char **argv)
{
    struct cocoimg__registry_options o = {0};
    const char *mount_from = NULL, *media_type = NULL;
    _cleanup_free_ char *user = NULL;
    bool verbose = false;
    static const struct option longopts[] = {{"creds", required_argument, NULL, 'c'},
                                             {"authfile", required_argument, NULL, 'a'},
                                             {"cert-dir", required_argument, NULL, 'd'},
                                             {"tls-verify", required_argument, NULL, 't'},
                                             {"retries", required_argument, NULL, 'r'},
                                             {"stall-timeout", required_argument, NULL, 'S'},
                                             {"chunk-size", required_argument, NULL, 's'},
                                             {"mount-from", required_argument, NULL, 'm'},
                                             {"media-type", required_argument, NULL, 'M'},
                                             {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "+v", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': {
            user = strdup(optarg);
            char *colon = strchr(user, ':');
            if (!colon)
                return usage();
            *colon = '\0';
            o.username = user;
            o.password = colon + 1;
            break;
        }
        case 'a':
            o.authfile = optarg;
            break;
        case 'd':
            o.cert_dir = optarg;
            break;
        case 't':
            o.insecure = strcmp(optarg, "false") == 0;
            break;
        case 'r':
            o.retries = atoi(optarg);
            if (o.retries == 0)
                o.retries = -1;
            break;
        case 's':
            o.chunk_size = strtoull(optarg, NULL, 10);
            break;
        case 'S':
            o.stall_timeout_s = (unsigned int)strtoul(optarg, NULL, 10);
            break;
        case 'm':
            mount_from = optarg;
            break;
        case 'M':
            media_type = optarg;
            break;
        case 'v':
            verbose = true;
            break;
        default:
            return usage();
        }
    }
    if (argc - optind < 2)
        return usage();
    const char *cmd = argv[optind];
    char **args = argv + optind + 1;
    int nargs = argc - optind - 1;

    cocoimg_context *ctx = NULL;
    cocoimg_error *err = NULL;
    cocoimg__registry *r = NULL;
    cocoimg__reader *rd = NULL;
    struct ref ref = {0};
    int rc = cocoimg_context_new(&ctx, &err);
    if (rc < 0)
        goto out;
    o.backoff_ms = 100;
    if (verbose)
        cocoimg_context_set_log(ctx, COCOIMG_LOG_DEBUG, log_cb, NULL);

    if (strcmp(cmd, "ping") == 0) {
        rc = cocoimg__registry_new(&r, ctx, args[0], &o, &err);
        if (rc == 0)
            rc = cocoimg__registry_ping(r, &err);
        goto out;
    }
    bool need_ref = strcmp(cmd, "get-manifest") == 0 || strcmp(cmd, "head-manifest") == 0 ||
                    strcmp(cmd, "put-manifest") == 0;
    if (split_ref(&ref, args[0], need_ref) < 0) {
        rc = usage();
        goto out_nomsg;
    }
    rc = cocoimg__registry_new(&r, ctx, ref.host, &o, &err);
    if (rc < 0)
        goto out;

    if (strcmp(cmd, "get-manifest") == 0 || strcmp(cmd, "head-manifest") == 0) {
        cocoimg__registry_manifest *m = NULL;
        bool head = cmd[0] == 'h';
        rc = head ? cocoimg__registry_head_manifest(&m, r, ref.repo, ref.ref, &err)
                  : cocoimg__registry_get_manifest(&m, r, ref.repo, ref.ref, &err);
        if (rc < 0)
            goto out;
        char ds[COCOIMG_DIGEST_STRMAX];
        cocoimg__digest_format(&m->digest, ds);
        if (head)
            printf("%s %s %zu\n", ds, m->media_type ? m->media_type : "-", m->len);
        else
            fwrite(m->data, 1, m->len, stdout);
        if (verbose)
            fprintf(stderr, "registry_tool: %s %s\n", ds, m->media_type ? m->media_type : "-");
        cocoimg__registry_manifest_free(m);
    } else if (strcmp(cmd, "get-blob") == 0 || strcmp(cmd, "blob-exists") == 0) {
        cocoimg__digest d;
        if (nargs < 2) {
            rc = usage();
            goto out_nomsg;
        }
        rc = cocoimg__digest_parse(&d, args[1], &err);
        if (rc < 0)
            goto out;
        if (cmd[0] == 'b') {
            bool exists = false;
            int64_t size = -1;
            rc = cocoimg__registry_blob_exists(&exists, &size, r, ref.repo, &d, &err);
            if (rc == 0)
                printf(exists ? "yes %" PRId64 "\n" : "no\n", size);
            goto out;
        }
        int64_t size = nargs >= 3 ? strtoll(args[2], NULL, 10) : -1;
        rc = cocoimg__registry_get_blob(&rd, r, ref.repo, &d, size, &err);
        if (rc < 0)
            goto out;
        uint64_t total = 0;
        rc = cocoimg__reader_to_fd(rd, STDOUT_FILENO, &total, &err);
        if (rc == 0 && verbose)
            fprintf(stderr, "registry_tool: %" PRIu64 " bytes\n", total);
    } else if (strcmp(cmd, "push-blob") == 0) {
        if (nargs < 2) {
            rc = usage();
            goto out_nomsg;
        }
        cocoimg__digest d;
        uint64_t size = 0;
        if (nargs >= 3) {
            rc = cocoimg__digest_parse(&d, args[2], &err);
        } else {
            /* digest the file first, then stream it */
            rc = cocoimg__reader_file(&rd, AT_FDCWD, args[1], &err);
            if (rc == 0)
                rc = cocoimg__reader_hash(&rd, rd, COCOIMG_DIGEST_SHA256, &d, &size, &err);
            if (rc == 0) {
                int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
                rc = cocoimg__reader_to_fd(rd, devnull, NULL, &err);
                close(devnull);
            }
            cocoimg__reader_free(rd);
            rd = NULL;
        }
        if (rc < 0)
            goto out;
        struct stat st;
        if (stat(args[1], &st) < 0) {
            rc = usage();
            goto out_nomsg;
        }
        cocoimg__reader *src = NULL;
        rc = cocoimg__reader_file(&src, AT_FDCWD, args[1], &err);
        if (rc < 0)
            goto out;
        cocoimg__push_result res;
        rc = cocoimg__registry_push_blob(&res, r, ref.repo, src, &d, st.st_size, mount_from, &err);
        if (rc < 0)
            goto out;
        char ds[COCOIMG_DIGEST_STRMAX];
        cocoimg__digest_format(&d, ds);
        printf("%s %s\n", ds,
               res == COCOIMG_PUSH_MOUNTED   ? "mounted"
               : res == COCOIMG_PUSH_EXISTED ? "existed"
                                             : "uploaded");
    } else if (strcmp(cmd, "push-stream") == 0) {
        if (nargs < 2) {
            rc = usage();
            goto out_nomsg;
        }
        cocoimg__reader *src = NULL;
        rc = cocoimg__reader_file(&src, AT_FDCWD, args[1], &err);
        if (rc < 0)
            goto out;
        if (nargs >= 3) {
            cocoimg__digest want;
            rc = cocoimg__digest_parse(&want, args[2], &err);
            if (rc == 0)
                rc = cocoimg__reader_verify(&src, src, &want, -1, &err);
            else
                cocoimg__reader_free(src);
            if (rc < 0)
                goto out;
        }
        cocoimg__digest d;
        int64_t size = -1;
        rc = cocoimg__registry_push_blob_stream(NULL, r, ref.repo, src, COCOIMG_DIGEST_SHA256, &d,
                                                &size, &err);
        if (rc < 0)
            goto out;
        char ds[COCOIMG_DIGEST_STRMAX];
        cocoimg__digest_format(&d, ds);
        printf("%s %" PRId64 "\n", ds, size);
    } else if (strcmp(cmd, "put-manifest") == 0) {
        if (nargs < 2) {
            rc = usage();
            goto out_nomsg;
        }
        uint8_t *buf = NULL;
        size_t len = 0;
        rc = cocoimg__read_file(&buf, &len, AT_FDCWD, args[1], COCOIMG_REGISTRY_MANIFEST_MAX, &err);
        if (rc < 0)
            goto out;
        json_t *j = NULL;
        if (!media_type) {
            /* the document's own mediaType, as skopeo does */
            j = json_loadb((const char *)buf, len, 0, NULL);
            media_type = json_string_value(json_object_get(j, "mediaType"));
            if (!media_type)
                media_type = COCOIMG_MT_OCI_MANIFEST;
        }
        cocoimg__digest d;
        if (rc == 0)
            rc = cocoimg__registry_put_manifest(r, ref.repo, ref.ref, buf, len, media_type, &d,
                                                &err);
        free(buf);
        json_decref(j);
        if (rc < 0)
            goto out;
        char ds[COCOIMG_DIGEST_STRMAX];
        cocoimg__digest_format(&d, ds);
        printf("%s\n", ds);
    } else {
        rc = usage();
        goto out_nomsg;
    }
out:
    if (rc < 0)
        fprintf(stderr, "registry_tool: %s\n", cocoimg_error_message(err));
    rc = rc < 0 ? -rc : 0;
out_nomsg:
    cocoimg__reader_free(rd);
    cocoimg__registry_free(r);
    cocoimg_error_free(err);
    cocoimg_context_free(ctx);
    ref_clear(&ref);
    return rc;
}
