/* streamscore-schemareg: talks to a Confluent Schema Registry with ss_schemareg.
 *   streamscore-schemareg --schema.registry.url URL register   registers every current manifest
 *       schema under <topic>-value (in manifest id order) and prints "<subject> <id>" lines;
 *       --require-manifest-ids exits 3 if an id differs from schemas/manifest (the compose init
 *       job uses it so producers with manifest ids stay right)
 *   streamscore-schemareg ... get ID           prints the schema text of id
 *   streamscore-schemareg ... decode HEX...    decodes framed payloads (hex) to JSON lines,
 *       fetching unknown writer schemas by id
 * Exit status: 0 ok, 1 error, 2 usage, 3 ids differ, 4 not found/undecodable, 75 registry
 * unreachable (retriable). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ss_avro.h"
#include "ss_buf.h"
#include "ss_cfg.h"
#include "ss_err.h"
#include "ss_log.h"
#include "ss_schemareg.h"

static const ss_cfg_def_t defs[] = {
    {"schemas.dir", SS_CFG_STR, SS_SOURCE_DIR "/schemas", 0, 0,
     "directory with the schema manifest", 0, NULL},
    SS_SCHEMAREG_CFG_DEFS,
    {"require.manifest.ids", SS_CFG_BOOL, "false", 0, 0,
     "register: exit 3 when a registry id differs from the manifest id", 0, NULL},
};

static int exit_code(int rc) {
    switch (rc) {
    case SS_ERR_RETRIABLE:
        return 75;
    case SS_ERR_NOTFOUND:
    case SS_ERR_DECODE:
    case SS_ERR_INVAL:
        return 4;
    default:
        return 1;
    }
}

static void on_subject(const char *subject, int32_t id, int32_t manifest_id, void *opaque) {
    int *differ = opaque;
    printf("%s %d%s\n", subject, (int)id, id == manifest_id ? "" : " (manifest id differs)");
    if (id != manifest_id)
        *differ = 1;
}

static int hex_decode(const char *hex, ss_buf_t *out) {
    size_t n = strlen(hex);
    if (n % 2)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        char pair[3] = {hex[i], hex[i + 1], 0}, *end;
        long v = strtol(pair, &end, 16);
        if (*end)
            return -1;
        ss_buf_addch(out, (int)v);
    }
    return 0;
}

int main(int argc, char **argv) {
    ss_err_t err = SS_ERR_INIT;
    ss_cfg_t *cfg;
    ss_avro_reg_t *reg = NULL;
    ss_schemareg_t *sr = NULL;
    ss_buf_t buf = SS_BUF_INIT, json = SS_BUF_INIT;
    int rc, differ = 0;
    const char *cmd;

    ss_log_init("schemareg");
    cfg = ss_cfg_new("schemareg", "register and fetch schemas in a Confluent Schema Registry", defs,
                     sizeof(defs) / sizeof(defs[0]));
    ss_cfg_set_usage(cfg, "register | get ID | decode HEX...");
    if ((rc = ss_cfg_load(cfg, argc, argv, &err)) < 0) {
        rc = rc == SS_ERR_EXIT ? 0 : 2;
        if (rc)
            fprintf(stderr, "streamscore-schemareg: %s\n", err.msg);
        goto out;
    }
    rc = 2;
    cmd = ss_cfg_argc(cfg) > 0 ? ss_cfg_arg(cfg, 0) : "";
    if (!*ss_cfg_str(cfg, "schema.registry.url")) {
        fprintf(stderr, "streamscore-schemareg: --schema.registry.url is required\n");
        goto out;
    }
    if (strcmp(cmd, "register") == 0) {
        ss_schemareg_attach_opts_t o = {
            .schemas_dir = ss_cfg_str(cfg, "schemas.dir"),
            .url = ss_cfg_str(cfg, "schema.registry.url"),
            .userinfo = ss_cfg_str(cfg, "schema.registry.basic.auth.user.info"),
            .timeout_ms = (int)ss_cfg_int(cfg, "schema.registry.timeout.ms"),
            .lookup_only = !ss_cfg_bool(cfg, "schema.registry.auto.register"),
            .on_subject = on_subject,
            .opaque = &differ,
        };
        if (!(reg = ss_schemareg_attach(&o, &sr, &err)))
            goto fail;
        rc = differ && ss_cfg_bool(cfg, "require.manifest.ids") ? 3 : 0;
        if (rc)
            fprintf(stderr, "streamscore-schemareg: registry ids differ from schemas/manifest\n");
    } else if (strcmp(cmd, "get") == 0 && ss_cfg_argc(cfg) == 2) {
        char *end;
        long id = strtol(ss_cfg_arg(cfg, 1), &end, 10);
        if (*end || id < 0 || id > INT32_MAX) {
            fprintf(stderr, "streamscore-schemareg: bad schema id '%s'\n", ss_cfg_arg(cfg, 1));
            goto out;
        }
        if (!(sr = ss_schemareg_new(
                  &(ss_schemareg_opts_t){
                      .url = ss_cfg_str(cfg, "schema.registry.url"),
                      .userinfo = ss_cfg_str(cfg, "schema.registry.basic.auth.user.info"),
                      .timeout_ms = (int)ss_cfg_int(cfg, "schema.registry.timeout.ms")},
                  &err)) ||
            ss_schemareg_fetch(sr, (int32_t)id, &buf, &err) < 0)
            goto fail;
        printf("%s\n", buf.buf);
        rc = 0;
    } else if (strcmp(cmd, "decode") == 0 && ss_cfg_argc(cfg) >= 2) {
        if (!(reg = ss_schemareg_attach_cfg(cfg, NULL, &sr, &err)))
            goto fail;
        rc = 0;
        for (int i = 1; i < ss_cfg_argc(cfg); i++) {
            ss_err_t e2 = SS_ERR_INIT;
            int r;
            ss_buf_reset(&buf);
            ss_buf_reset(&json);
            if (hex_decode(ss_cfg_arg(cfg, i), &buf) < 0) {
                fprintf(stderr, "streamscore-schemareg: bad hex '%s'\n", ss_cfg_arg(cfg, i));
                rc = 2;
                goto out;
            }
            if ((r = ss_avro_to_json(reg, buf.buf, buf.len, &json, &e2)) < 0) {
                fprintf(stderr, "streamscore-schemareg: payload %d: %s\n", i, e2.msg);
                if (!rc || r == SS_ERR_RETRIABLE)
                    rc = exit_code(r);
                continue;
            }
            printf("%s\n", json.buf);
        }
        fflush(stdout);
        fprintf(stderr, "streamscore-schemareg: %llu registry requests\n",
                (unsigned long long)ss_schemareg_requests(sr));
    } else {
        fprintf(stderr,
                "streamscore-schemareg: expected 'register', 'get ID' or 'decode HEX...'\n");
    }
    goto out;
fail:
    fprintf(stderr, "streamscore-schemareg: %s\n", err.msg);
    rc = exit_code(err.code);
out:
    ss_avro_reg_destroy(reg);
    ss_schemareg_destroy(sr);
    ss_buf_release(&buf);
    ss_buf_release(&json);
    ss_cfg_destroy(cfg);
    return rc;
}
