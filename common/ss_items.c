/* ss_items: packed (id, value) lists; see ss_items.h. */
#include "ss_items.h"

#include <stdlib.h>
#include <string.h>

#include "ss_txn.h"

void ss_items_put_u32(ss_buf_t *b, uint32_t x) {
    unsigned char c[4];
    for (int i = 0; i < 4; i++)
        c[i] = (unsigned char)(x >> (8 * i));
    ss_buf_add(b, c, 4);
}

void ss_items_set_u64(void *p, uint64_t x) {
    unsigned char *c = p;
    for (int i = 0; i < 8; i++)
        c[i] = (unsigned char)(x >> (8 * i));
}

uint64_t ss_items_get_u64(const void *p) {
    const unsigned char *c = p;
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x |= (uint64_t)c[i] << (8 * i);
    return x;
}

void ss_items_put_u64(ss_buf_t *b, uint64_t x) {
    unsigned char c[8];
    ss_items_set_u64(c, x);
    ss_buf_add(b, c, 8);
}

size_t ss_items_add(ss_buf_t *b, const char *id, uint64_t val) {
    size_t n = strlen(id);
    SS_ASSERT(n <= SS_ID_MAX); /* ss_txn_validate rejects longer ids */
    unsigned char l = (unsigned char)n;
    ss_buf_add(b, &l, 1);
    ss_buf_add(b, id, n);
    ss_items_put_u64(b, val);
    return b->len - 8;
}

void ss_items_section(ss_buf_t *b, size_t count, const void *items, size_t len) {
    ss_items_put_u32(b, (uint32_t)count);
    ss_buf_add(b, items, len);
}

int ss_items_decode(const unsigned char **pp, const unsigned char *end, ss_item_t **items,
                    size_t *n) {
    const unsigned char *p = *pp;
    *items = NULL;
    *n = 0;
    if (end - p < 4)
        return -1;
    uint32_t c = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    p += 4;
    if ((size_t)(end - p) / 9 < c) /* an item takes 9 bytes at least */
        return -1;
    ss_item_t *it = c ? ss_xcalloc(c, sizeof(*it)) : NULL;
    for (uint32_t i = 0; i < c; i++) {
        size_t l = p < end ? p[0] : SIZE_MAX;
        if (l > SS_ID_MAX || (size_t)(end - p) < 1 + l + 8) {
            free(it);
            return -1;
        }
        it[i].id = (const char *)p + 1;
        it[i].len = l;
        it[i].val = ss_items_get_u64(p + 1 + l);
        p += 1 + l + 8;
    }
    *items = it;
    *n = c;
    *pp = p;
    return 0;
}
