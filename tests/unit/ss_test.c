#include "ss_test.h"

#include <stdlib.h>
#include <sys/stat.h>

const char *ss_test_source_dir(void) { return SS_SOURCE_DIR; }

const char *ss_test_shared_dir(void) {
    const char *d = getenv("SS_SHARED_DIR");
    if (!d || !*d)
        d = SS_SOURCE_DIR "/../shared";
    struct stat st;
    return stat(d, &st) == 0 && S_ISDIR(st.st_mode) ? d : NULL;
}
