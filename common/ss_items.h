/* ss_items: a packed list of (id, 64-bit value) items, the encoding shared by the customer
 * record (services/features/crec.h) and the demand records (ss_demand.h):
 *   u32 count, then per item: u8 id length (at most SS_ID_MAX), id bytes, u64 value
 * all little-endian, no padding. A writer keeps the items encoded and appends to them, or
 * updates a value in place (the last 8 bytes of an item: ss_items_add returns their offset). */
#ifndef SS_ITEMS_H
#define SS_ITEMS_H

#include <stddef.h>
#include <stdint.h>

#include "ss_buf.h"
#include "ss_err.h"

/* Appends one item (without the count) to b; returns the offset of its value in b. */
size_t ss_items_add(ss_buf_t *b, const char *id, uint64_t val);
/* Appends the count, then len bytes of items made by ss_items_add. */
void ss_items_section(ss_buf_t *b, size_t count, const void *items, size_t len);

/* Little-endian helpers for the formats built on items. */
void ss_items_put_u32(ss_buf_t *b, uint32_t x);
void ss_items_put_u64(ss_buf_t *b, uint64_t x);
uint64_t ss_items_get_u64(const void *p);
void ss_items_set_u64(void *p, uint64_t x);

typedef struct ss_item {
    const char *id; /* borrowed from the decoded buffer: not NUL-terminated */
    size_t len;
    uint64_t val;
} ss_item_t;

/* Decodes a section (count and items) at *p, not beyond end: *items gets an array of *n items
 * (owned by the caller, free(); NULL when empty) whose ids point into the buffer, and *p moves
 * past the section. Returns 0, or -1 when truncated or malformed (*items is then freed). */
int ss_items_decode(const unsigned char **p, const unsigned char *end, ss_item_t **items,
                    size_t *n);

#endif
