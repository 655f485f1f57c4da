/* Helpers shared by the unit suites: paths to fixtures. No network, no clock. */
#ifndef SS_TEST_H
#define SS_TEST_H

/* Returns the repository root (borrowed, static). */
const char *ss_test_source_dir(void);
/* Returns the ../shared directory beside the repository, or NULL when it is absent (tests that
 * need it print that they skip and pass). Honours SS_SHARED_DIR. */
const char *ss_test_shared_dir(void);

#endif
