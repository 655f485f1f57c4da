#!/usr/bin/env bash
# streamscore-report end to end: a small generated workload (300 customers, 3 stores, 30
# products, 120 days) goes through streamscore-features, -scorer, -forecaster and -drift on the
# local stack; streamscore-report writes the HTML page, which headless Chromium renders:
#  - the DOM (--dump-dom) has the five sections, each with an <svg> holding data marks, and no
#    "no data" in any of them; the page has no <script> and no external resource;
#  - the page is well-formed XML once the doctype is dropped (python3 xml.dom.minidom);
#  - the screenshot is a 1400x4000 PNG over 50 KB that is not blank (many distinct colours).
# A report on an empty stack (no model) still succeeds and says "no data" in every section.
# Chromium is a Debian package (scripts/setup installs it): missing, the test fails, unless
# SS_ALLOW_SKIP_CHROMIUM=1.
. "$(dirname "$0")/lib.sh"

B=$SS_BIN
D=$SS_TEST_DIR
PY=/usr/bin/python3
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
    [ "${SS_ALLOW_SKIP_CHROMIUM:-0}" = 1 ] && ss_skip "chromium not installed (SS_ALLOW_SKIP_CHROMIUM=1)"
    ss_fail "chromium not installed: apt-get install chromium (scripts/setup installs it)"
fi
for x in streamscore-report streamscore-features streamscore-scorer streamscore-forecaster \
    streamscore-drift streamscore-gen streamscore-train streamscore-replay; do
    [ -x "$B/$x" ] || ss_fail "missing $B/$x (build first)"
done

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# metric_sum PORT REGEX: the sum of the samples whose name (with labels) matches REGEX.
metric_sum() {
    curl -s "http://127.0.0.1:$1/metrics" | awk -v re="$2" '$1 ~ re { s += $2 } END { print s + 0 }'
}
# metric_ge PORT REGEX N: succeeds once metric_sum PORT REGEX >= N.
metric_ge() { [ "$(metric_sum "$1" "$2")" -ge "$3" ]; }

# chromium_run OUT ARGS...: headless Chromium with a private profile, killed if it hangs.
chromium_run() {
    local out=$1
    shift
    mkdir -p "$D/chromium"
    timeout -k 5 $((60 * SS_TIMEOUT_MULT)) "$CHROMIUM" --headless --no-sandbox --disable-gpu \
        --disable-dev-shm-usage --no-first-run --disable-extensions --hide-scrollbars \
        --user-data-dir="$D/chromium" "$@" >"$out" 2>>"$D/chromium.log"
}

ss_start_stack
C=$SS_STACK_CONF

# The workload and its churn model (trained in the background while step 1 runs).
"$B/streamscore-gen" --seed 5 --customers 300 --stores 3 --products 30 --groups 3 --days 120 \
    --out "$D/gen.csv" 2>"$D/gen.log" || ss_fail "gen failed"
ss_bg train "$B/streamscore-train" --format native --out "$D/model" --version it-report \
    --min.history.days 30 --horizon.days 30 --step.days 15 --xgb.rounds 60 "$D/gen.csv"
TRAIN_PID=$SS_LAST_PID

# 1. A report of an empty stack: every section says "no data", nothing crashes.
"$B/streamscore-report" -c "$C" --out "$D/empty.html" --read.timeout.ms 5000 \
    >"$D/report-empty.out" 2>"$D/report-empty.log" || ss_fail "report on an empty stack failed"
n=$(grep -o 'class="nodata"' "$D/empty.html" | wc -l)
[ "$n" -ge 5 ] || ss_fail "empty report has $n 'no data' charts, expected at least 5"
$PY - "$D/empty.html" <<'EOF' || ss_fail "the empty report is not 'no data' everywhere"
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
for sec in ["throughput", "churn-risk", "importance", "forecasts", "psi"]:
    m = re.search(r'<section id="%s".*?</section>' % sec, text, re.S)
    assert m, "no section " + sec
    assert 'class="nodata"' in m.group(0), "section %s has no 'no data'" % sec
    assert 'class="mark' not in m.group(0), "section %s has data marks" % sec
EOF
ss_log "empty report: $n 'no data' charts"

# 2. The workload through features, scorer, forecaster and drift.
wait "$TRAIN_PID" || ss_fail "train failed"
FP=$(free_port)
SP=$(free_port)
CP=$(free_port)
DP=$(free_port)
FAST=(-X fetch.wait.max.ms=10 --session.timeout.ms 6000)
ss_bg features "$B/streamscore-features" -c "$C" "${FAST[@]}" --metrics.port "$FP"
ss_bg scorer "$B/streamscore-scorer" -c "$C" "${FAST[@]}" --metrics.port "$SP" --model.path "$D/model"
ss_bg forecaster "$B/streamscore-forecaster" -c "$C" --metrics.port "$CP" --poll.interval.ms 200
ss_bg drift "$B/streamscore-drift" -c "$C" "${FAST[@]}" --metrics.port "$DP" --model.path "$D/model" \
    --window.lateness.ms $((3 * 86400000)) --min.samples 30
"$B/streamscore-replay" -c "$C" --format native "$D/gen.csv" >"$D/replay.out" 2>"$D/replay.log" ||
    ss_fail "replay failed"
N=$(awk '/^events/ { print $2 }' "$D/replay.out")
[ "${N:-0}" -gt 0 ] || ss_fail "no event count from the replay: $(cat "$D/replay.out")"
ss_log "replayed $N transactions"

ss_wait_for 60 metric_ge "$FP" '^streamscore_features_(orders_applied|orders_duplicate|dead_letters)_total$' "$N" ||
    ss_fail "features processed $(metric_sum "$FP" '^streamscore_features_orders_applied_total$') of $N"
CF=$(metric_sum "$FP" '^streamscore_features_events_produced_total$')
[ "$CF" -gt 0 ] || ss_fail "features produced no customer-features events"
ss_wait_for 60 metric_ge "$SP" '^streamscore_churn_events_total[{]result="scored"[}]$' "$CF" ||
    ss_fail "scorer scored $(metric_sum "$SP" '^streamscore_churn_events_total[{]result="scored"[}]$') of $CF events"
# Forecasts: each of the 3 stores has its latest closed day done.
fc_done() {
    curl -s "http://127.0.0.1:$CP/metrics" | awk '
        /^streamscore_forecast_last_closed_day\{/ { split($1, a, "\""); closed[a[2]] = $2 }
        /^streamscore_forecast_last_done_day\{/ { split($1, a, "\""); done[a[2]] = $2 }
        END {
            n = 0
            for (s in closed) { n++; if (done[s] != closed[s]) exit 1 }
            exit n == 3 ? 0 : 1
        }'
}
ss_wait_for 60 fc_done || ss_fail "forecaster did not finish: $(curl -s "http://127.0.0.1:$CP/metrics" | grep last_)"
ss_wait_for 30 metric_ge "$DP" '^streamscore_drift_events_total[{]source="features"[}]$' "$CF" ||
    ss_fail "drift saw $(metric_sum "$DP" '^streamscore_drift_events_total[{]source="features"[}]$') of $CF events"
ss_log "pipeline done: $CF customer-features events"

# 3. The report.
"$B/streamscore-report" -c "$C" --model "$D/model" --out "$D/report.html" --top 3 \
    >"$D/report.out" 2>"$D/report.log" || ss_fail "report failed"
cat "$D/report.out" >&2
grep -qi '<script' "$D/report.html" && ss_fail "the page has a script"
grep -qiE '(src|href)="(https?:|//)' "$D/report.html" && ss_fail "the page loads an external resource"
# Well-formed markup (as XML once the doctype is dropped).
$PY - "$D/report.html" <<'EOF' || ss_fail "the page is not well-formed"
import sys, xml.dom.minidom
text = open(sys.argv[1], encoding="utf-8").read()
assert text.startswith("<!DOCTYPE html>"), text[:40]
xml.dom.minidom.parseString(text[len("<!DOCTYPE html>"):])
EOF

# 4. Chromium: the rendered DOM and a screenshot.
chromium_run "$D/dom.html" --dump-dom "file://$D/report.html" || ss_fail "chromium --dump-dom failed"
$PY - "$D/dom.html" <<'EOF' || ss_fail "the rendered DOM lacks data"
import sys
from html.parser import HTMLParser

SECTIONS = ["throughput", "churn-risk", "importance", "forecasts", "psi"]

class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sec = None
        self.stats = {s: {"svg": 0, "marks": 0, "nodata": 0} for s in SECTIONS}
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and a.get("id") in self.stats:
            self.sec = a["id"]
        if self.sec is None:
            return
        cls = (a.get("class") or "").split()
        if tag == "svg":
            self.stats[self.sec]["svg"] += 1
        if tag in ("path", "rect", "circle") and "mark" in cls:
            self.stats[self.sec]["marks"] += 1
        if "nodata" in cls:
            self.stats[self.sec]["nodata"] += 1
    def handle_endtag(self, tag):
        if tag == "section":
            self.sec = None

p = P()
dom = open(sys.argv[1], encoding="utf-8").read()
p.feed(dom)
bad = []
for s, st in p.stats.items():
    print(f"section {s}: {st}", file=sys.stderr)
    if st["svg"] == 0 or st["marks"] == 0 or st["nodata"] != 0:
        bad.append(s)
if "no data" in dom:
    bad.append("'no data' text in the page")
if bad:
    sys.exit(f"sections without data: {bad}")
EOF
chromium_run "$D/shot.out" --screenshot="$D/report.png" --window-size=1400,4000 "file://$D/report.html" ||
    ss_fail "chromium --screenshot failed"
[ -s "$D/report.png" ] || ss_fail "no screenshot"
$PY - "$D/report.png" <<'EOF' || ss_fail "the screenshot is blank or malformed"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
assert (w, h) == (1400, 4000), (w, h)
assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
idat, pos = b"", 8
while pos < len(data):
    n, typ = struct.unpack(">I4s", data[pos:pos + 8])
    if typ == b"IDAT":
        idat += data[pos + 8:pos + 8 + n]
    pos += 12 + n
raw = zlib.decompress(idat)
bpp = 3 if ctype == 2 else 4
stride = w * bpp + 1
assert len(raw) == stride * h, (len(raw), stride * h)
colours = set()
prev = bytearray(stride - 1)
for y in range(h):  # undo the PNG filters, sample every 7th pixel of every 7th row
    f, line = raw[y * stride], bytearray(raw[y * stride + 1:(y + 1) * stride])
    if f == 1:
        for i in range(bpp, len(line)):
            line[i] = (line[i] + line[i - bpp]) & 255
    elif f == 2:
        for i in range(len(line)):
            line[i] = (line[i] + prev[i]) & 255
    elif f == 3:
        for i in range(len(line)):
            a = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + (a + prev[i]) // 2) & 255
    elif f == 4:
        for i in range(len(line)):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    else:
        assert f == 0, "bad filter %d" % f
    prev = line
    if y % 7 == 0:
        for x in range(0, w, 7):
            colours.add(bytes(line[x * bpp:x * bpp + 3]))
print(f"screenshot {w}x{h}, {len(data)} bytes, {len(colours)} sampled colours", file=sys.stderr)
assert len(data) > 50000, "screenshot too small: %d bytes" % len(data)
assert len(colours) > 50, "too few colours (%d): blank page?" % len(colours)
EOF
if [ -n "${SS_REPORT_KEEP:-}" ]; then cp "$D/report.html" "$D/report.png" "$SS_REPORT_KEEP"/; fi
ss_log "report ok: $(wc -c <"$D/report.html") bytes, screenshot $(wc -c <"$D/report.png") bytes"
echo "PASS"
