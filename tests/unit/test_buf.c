#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ss_buf.h"

START_TEST(init_is_empty_string) {
    ss_buf_t b = SS_BUF_INIT;
    ck_assert_uint_eq(b.len, 0);
    ck_assert_str_eq(b.buf, "");
    ss_buf_reset(&b); /* allowed on the shared empty string */
    ss_buf_release(&b);
    ck_assert_str_eq(b.buf, "");
}
END_TEST

START_TEST(add_and_format_grow) {
    ss_buf_t b = SS_BUF_INIT;
    for (int i = 0; i < 1000; i++)
        ss_buf_addf(&b, "%d,", i);
    ck_assert_uint_eq(b.len, strlen(b.buf));
    ck_assert(strncmp(b.buf, "0,1,2,", 6) == 0);
    ck_assert(strcmp(b.buf + b.len - 4, "999,") == 0);
    ss_buf_reset(&b);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_str_eq(b.buf, "");
    ss_buf_add(&b, "a\0b", 3);
    ss_buf_addch(&b, 'c');
    ss_buf_adds(&b, "de");
    ck_assert_uint_eq(b.len, 6);
    ck_assert(memcmp(b.buf, "a\0bcde", 7) == 0);
    ss_buf_release(&b);
}
END_TEST

START_TEST(long_format_in_one_go) {
    ss_buf_t b = SS_BUF_INIT;
    char big[5000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ss_buf_addf(&b, "<%s>", big);
    ck_assert_uint_eq(b.len, sizeof(big) + 1);
    ck_assert_int_eq(b.buf[0], '<');
    ck_assert_int_eq(b.buf[b.len - 1], '>');
    ss_buf_release(&b);
}
END_TEST

START_TEST(detach_hands_over) {
    ss_buf_t b = SS_BUF_INIT;
    size_t n = 99;
    char *s = ss_buf_detach(&b, &n);
    ck_assert_uint_eq(n, 0);
    ck_assert_str_eq(s, "");
    free(s);
    ss_buf_adds(&b, "hello");
    s = ss_buf_detach(&b, &n);
    ck_assert_uint_eq(n, 5);
    ck_assert_str_eq(s, "hello");
    ck_assert_uint_eq(b.len, 0);
    ck_assert_str_eq(b.buf, "");
    free(s);
    ss_buf_release(&b);
}
END_TEST

START_TEST(grow_then_setlen) {
    ss_buf_t b = SS_BUF_INIT;
    ss_buf_init(&b, 10);
    ss_buf_grow(&b, 3);
    memcpy(b.buf + b.len, "xyz", 3);
    ss_buf_setlen(&b, b.len + 3);
    ck_assert_str_eq(b.buf, "xyz");
    ss_buf_release(&b);
}
END_TEST

START_TEST(xml_escape) {
    ss_buf_t b = SS_BUF_INIT;
    ss_buf_add_xml(&b, "a<b>&\"c'\x01\td\n");
    ss_buf_add_xml(&b, NULL);
    ck_assert_str_eq(b.buf, "a&lt;b&gt;&amp;&quot;c&#39;\td\n");
    ss_buf_release(&b);
}
END_TEST

START_TEST(json_string) {
    ss_buf_t b = SS_BUF_INIT;
    const char in[] = "a\"b\\c\x01\n\xc3\xa9";
    ss_buf_add_json_str(&b, in, sizeof(in) - 1);
    ss_buf_add_json_str(&b, "", 0);
    ck_assert_str_eq(b.buf, "\"a\\\"b\\\\c\\u0001\\u000a\xc3\xa9\"\"\"");
    ss_buf_release(&b);
}
END_TEST

Suite *buf_suite(void) {
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, init_is_empty_string);
    tcase_add_test(tc, add_and_format_grow);
    tcase_add_test(tc, long_format_in_one_go);
    tcase_add_test(tc, detach_hands_over);
    tcase_add_test(tc, grow_then_setlen);
    tcase_add_test(tc, xml_escape);
    tcase_add_test(tc, json_string);
    suite_add_tcase(s, tc);
    return s;
}
