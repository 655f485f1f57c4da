#!/usr/bin/env bash
# integration.style: every tracked C file is clang-formatted (.clang-format) and no C file calls
# a banned function (sprintf, strcpy, strcat, strtok, gmtime, localtime: unbounded or not
# thread-safe; use snprintf, ss_buf, gmtime_r).
. "$(dirname "$0")/lib.sh"
cd "$SS_SOURCE_DIR"
command -v clang-format >/dev/null || ss_fail "clang-format not installed (scripts/setup installs it)"
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find common services tools tests bench -name '*.[ch]')
bad=""
for f in $files; do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
done
[ -z "$bad" ] || ss_fail "not clang-formatted (run clang-format -i):$bad"
banned=$(grep -n -E '(^|[^_a-z])(sprintf|strcpy|strcat|strtok|gmtime|localtime)[[:space:]]*\(' $files | grep -v -E 'v?snprintf' || true)
[ -z "$banned" ] || ss_fail "banned calls:
$banned"
ss_log "$(echo $files | wc -w) files formatted, no banned calls"
