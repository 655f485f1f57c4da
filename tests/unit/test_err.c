#include <check.h>
#include <errno.h>
#include <string.h>

#include "ss_err.h"

START_TEST(set_formats_and_returns_code) {
    ss_err_t err = SS_ERR_INIT;
    int rc = ss_err_set(&err, SS_ERR_INVAL, "bad '%s'", "x");
    ck_assert_int_eq(rc, SS_ERR_INVAL);
    ck_assert_int_eq(err.code, SS_ERR_INVAL);
    ck_assert_str_eq(err.msg, "bad 'x'");
}
END_TEST

START_TEST(errno_is_appended) {
    ss_err_t err = SS_ERR_INIT;
    ss_err_set_errno(&err, SS_ERR_IO, ENOENT, "cannot open '%s'", "f");
    ck_assert_str_eq(err.msg, "cannot open 'f': No such file or directory");
}
END_TEST

START_TEST(null_err_is_allowed) { ck_assert_int_eq(ss_err_set(NULL, SS_ERR_IO, "x"), SS_ERR_IO); }
END_TEST

Suite *err_suite(void) {
    Suite *s = suite_create("err");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, set_formats_and_returns_code);
    tcase_add_test(tc, errno_is_appended);
    tcase_add_test(tc, null_err_is_allowed);
    suite_add_tcase(s, tc);
    return s;
}
