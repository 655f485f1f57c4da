/* stkctl: the control commands of streamscore-stack (stack_ctl.h): request and error names,
 * every command's parse, and the error messages of bad lines. Pure: no mock cluster. */
#include <check.h>
#include <string.h>

#include "stack_ctl.h"

START_TEST(test_api_names) {
    ck_assert_int_eq(stk_ctl_api_key("Produce"), 0);
    ck_assert_int_eq(stk_ctl_api_key("fetch"), 1);
    ck_assert_int_eq(stk_ctl_api_key("OffsetCommit"), 8);
    ck_assert_int_eq(stk_ctl_api_key("ApiVersion"), 18);
    ck_assert_int_eq(stk_ctl_api_key("28"), 28);
    ck_assert_int_eq(stk_ctl_api_key("Nope"), -1);
    ck_assert_int_eq(stk_ctl_api_key("100"), -1);
    ck_assert_str_eq(stk_ctl_api_name(14), "SyncGroup");
    ck_assert_str_eq(stk_ctl_api_name(60), "ApiKey60");
}
END_TEST

START_TEST(test_err_names) {
    ss_err_t err = SS_ERR_INIT;
    rd_kafka_resp_err_t e;

    ck_assert_int_eq(stk_ctl_err_code("NOT_LEADER_OR_FOLLOWER", &e, &err), 0);
    ck_assert_int_eq(e, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
    ck_assert_int_eq(stk_ctl_err_code("RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT", &e, &err), 0);
    ck_assert_int_eq(e, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
    ck_assert_int_eq(stk_ctl_err_code("_TRANSPORT", &e, &err), 0);
    ck_assert_int_eq(e, RD_KAFKA_RESP_ERR__TRANSPORT);
    ck_assert_int_eq(stk_ctl_err_code("__TRANSPORT", &e, &err), 0);
    ck_assert_int_eq(e, RD_KAFKA_RESP_ERR__TRANSPORT);
    ck_assert_int_eq(stk_ctl_err_code("rebalance_in_progress", &e, &err), 0);
    ck_assert_int_eq(e, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS);
    ck_assert_int_eq(stk_ctl_err_code("NO_ERROR", &e, &err), 0);
    ck_assert_int_eq(e, RD_KAFKA_RESP_ERR_NO_ERROR);
    ck_assert_int_eq(stk_ctl_err_code("7", &e, &err), 0);
    ck_assert_int_eq(e, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
    ck_assert_int_eq(err.code, 0);
    ck_assert_int_eq(stk_ctl_err_code("NOT_AN_ERROR", &e, &err), SS_ERR_INVAL);
    ck_assert_str_eq(err.msg, "unknown error 'NOT_AN_ERROR'");
}
END_TEST

START_TEST(test_parse_errors_cmd) {
    ss_err_t err = SS_ERR_INIT;
    stk_ctl_cmd_t c;

    ck_assert_int_eq(
        stk_ctl_parse("errors Produce 20 NOT_LEADER_OR_FOLLOWER,REQUEST_TIMED_OUT", &c, &err), 0);
    ck_assert_int_eq(c.op, STK_CTL_ERRORS);
    ck_assert_int_eq(c.api, 0);
    ck_assert_int_eq(c.count, 20);
    ck_assert_int_eq(c.nerr, 2);
    ck_assert_int_eq(c.err[0], RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
    ck_assert_int_eq(c.err[1], RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);

    ck_assert_int_eq(
        stk_ctl_parse("  broker-errors all Fetch 3 NO_ERROR:3000,_TRANSPORT \n", &c, &err), 0);
    ck_assert_int_eq(c.op, STK_CTL_BROKER_ERRORS);
    ck_assert_int_eq(c.broker, 0);
    ck_assert_int_eq(c.api, 1);
    ck_assert_int_eq(c.count, 3);
    ck_assert_int_eq(c.nerr, 2);
    ck_assert_int_eq(c.err[0], 0);
    ck_assert_int_eq(c.rtt_ms[0], 3000);
    ck_assert_int_eq(c.err[1], RD_KAFKA_RESP_ERR__TRANSPORT);
    ck_assert_int_eq(c.rtt_ms[1], 0);

    ck_assert_int_eq(stk_ctl_parse("pending 2 OffsetCommit", &c, &err), 0);
    ck_assert_int_eq(c.op, STK_CTL_PENDING);
    ck_assert_int_eq(c.broker, 2);
    ck_assert_int_eq(c.api, 8);
    ck_assert_int_eq(err.code, 0);
}
END_TEST

START_TEST(test_parse_other_cmds) {
    ss_err_t err = SS_ERR_INIT;
    stk_ctl_cmd_t c;

    ck_assert_int_eq(stk_ctl_parse("clear Fetch", &c, &err), 0);
    ck_assert_int_eq(c.op, STK_CTL_CLEAR);
    ck_assert_int_eq(c.api, 1);
    ck_assert_int_eq(stk_ctl_parse("topic-error t1 UNKNOWN_TOPIC_OR_PART", &c, &err), 0);
    ck_assert_int_eq(c.op, STK_CTL_TOPIC_ERROR);
    ck_assert_str_eq(c.topic, "t1");
    ck_assert_int_eq(c.err[0], RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    ck_assert_int_eq(stk_ctl_parse("rtt all 250", &c, &err), 0);
    ck_assert_int_eq(c.op, STK_CTL_RTT);
    ck_assert_int_eq(c.broker, 0);
    ck_assert_int_eq(c.ms, 250);
    ck_assert_int_eq(stk_ctl_parse("down 3", &c, &err), 0);
    ck_assert_int_eq(c.op, STK_CTL_DOWN);
    ck_assert_int_eq(c.broker, 3);
    ck_assert_int_eq(stk_ctl_parse("up 1", &c, &err), 0);
    ck_assert_int_eq(c.op, STK_CTL_UP);
    ck_assert_int_eq(stk_ctl_parse("leader transactions 5 -1", &c, &err), 0);
    ck_assert_int_eq(c.op, STK_CTL_LEADER);
    ck_assert_int_eq(c.partition, 5);
    ck_assert_int_eq(c.broker, -1);
    ck_assert_int_eq(err.code, 0);
}
END_TEST

static void bad(const char *line, const char *msg) {
    ss_err_t err = SS_ERR_INIT;
    stk_ctl_cmd_t c;

    ck_assert_int_eq(stk_ctl_parse(line, &c, &err), SS_ERR_INVAL);
    ck_assert_msg(strstr(err.msg, msg) != NULL, "'%s': got '%s', want '%s'", line, err.msg, msg);
}

START_TEST(test_parse_bad) {
    bad("", "empty command");
    bad("bogus 1", "unknown command 'bogus'");
    bad("errors Produce 20", "usage: errors API COUNT");
    bad("errors Produce 0 REQUEST_TIMED_OUT", "errors: bad count '0'");
    bad("errors Produce x REQUEST_TIMED_OUT", "errors: bad count 'x'");
    bad("errors Produc 2 REQUEST_TIMED_OUT", "errors: unknown request type 'Produc'");
    bad("errors Produce 2 NOPE", "errors: unknown error 'NOPE'");
    bad("errors Produce 2 REQUEST_TIMED_OUT:100", "errors: no delay allowed");
    bad("errors Produce 2 ,", "errors: empty error list");
    bad("broker-errors 0 Fetch 1 NO_ERROR", "broker-errors: bad broker '0'");
    bad("broker-errors 1 Fetch 1 NO_ERROR:x", "broker-errors: bad delay 'x'");
    bad("down all", "down: bad broker 'all'");
    bad("leader t x 1", "leader: bad partition 'x'");
    bad("rtt 1 -5", "rtt: bad delay '-5'");
    bad("clear", "usage: clear API");
}
END_TEST

Suite *stkctl_suite(void) {
    Suite *s = suite_create("stkctl");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_api_names);
    tcase_add_test(tc, test_err_names);
    tcase_add_test(tc, test_parse_errors_cmd);
    tcase_add_test(tc, test_parse_other_cmds);
    tcase_add_test(tc, test_parse_bad);
    suite_add_tcase(s, tc);
    return s;
}
