/* ss_demand: the demand hash's fields; see ss_demand.h. */
#include "ss_demand.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void ss_demand_record(ss_buf_t *out, size_t count, const ss_buf_t *items) {
    unsigned char v = SS_DEMAND_VERSION;
    ss_buf_add(out, &v, 1);
    ss_items_section(out, count, items->buf, items->len);
}

size_t ss_demand_record_size(size_t items_len) { return 1 + 4 + items_len; }

static int number_field(const char *f, size_t flen, const char *v, size_t vlen, ss_demand_cb cb,
                        void *opaque, ss_err_t *err) {
    char tmp[64], *end = NULL;
    if (flen == 2)
        return ss_err_set(err, SS_ERR_INVAL, "demand field 'p:' has no product id");
    if (vlen == 0 || vlen >= sizeof(tmp))
        goto bad;
    memcpy(tmp, v, vlen);
    tmp[vlen] = '\0';
    errno = 0;
    double q = strtod(tmp, &end);
    if (errno || end == tmp || *end || !isfinite(q))
        goto bad;
    return cb(f + 2, flen - 2, q, opaque, err);
bad:
    return ss_err_set(err, SS_ERR_INVAL, "bad quantity '%.*s' for field '%.*s'",
                      (int)(vlen > 32 ? 32 : vlen), v, (int)(flen > 64 ? 64 : flen), f);
}

static int record_field(const char *f, size_t flen, const char *v, size_t vlen, ss_demand_cb cb,
                        void *opaque, ss_err_t *err) {
    const unsigned char *p = (const unsigned char *)v, *end = p + vlen;
    ss_item_t *it = NULL;
    size_t n = 0;
    if (vlen < 1 || p[0] != SS_DEMAND_VERSION)
        return ss_err_set(err, SS_ERR_INVAL, "demand record '%.*s': unknown version %d",
                          (int)(flen > 64 ? 64 : flen), f, vlen ? p[0] : -1);
    p++;
    if (ss_items_decode(&p, end, &it, &n) < 0 || p != end) {
        free(it);
        return ss_err_set(err, SS_ERR_INVAL, "demand record '%.*s' of %zu bytes is malformed",
                          (int)(flen > 64 ? 64 : flen), f, vlen);
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        if (it[i].len == 0)
            rc = ss_err_set(err, SS_ERR_INVAL, "demand record '%.*s' has an empty product id",
                            (int)(flen > 64 ? 64 : flen), f);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = cb(it[i].id, it[i].len, (double)(int64_t)it[i].val, opaque, err);
    free(it);
    return rc;
}

int ss_demand_field(const char *f, size_t flen, const char *v, size_t vlen, ss_demand_cb cb,
                    void *opaque, ss_err_t *err) {
    if (flen >= 2 && f[0] == 'p' && f[1] == ':')
        return number_field(f, flen, v, vlen, cb, opaque, err);
    if (flen >= 2 && f[0] == 'q' && f[1] == ':')
        return record_field(f, flen, v, vlen, cb, opaque, err);
    return 0;
}
