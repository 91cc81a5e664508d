#!/bin/bash
# qsslack against t/slackd.py (a webhook double on 127.0.0.1): per-event webhooks, digests,
# pacing, 429, 5xx, permanent errors, timeouts, the spool, and the URL kept secret.
. "$(dirname "$0")/lib.sh"
all_events qsslack	# these tests use every kind of event

# Every webhook path holds SECRET: it must never reach stderr.
: >"$T/script"
bg python3 "$top/t/slackd.py" --log "$T/slack.log" --port-file "$T/port" --script "$T/script" >/dev/null
wait_for 10 test -s "$T/port" || { echo "Bail out! slackd did not start"; exit 1; }
url="http://127.0.0.1:$(cat "$T/port")"

# ev EVENT [USER]: one event line.
n_ev=0
ev() {
	n_ev=$((n_ev + 1))
	printf '2026-11-20T23:52:15.000000Z\t%s\tsense1\tLAB\t%s\t\t\t\tReload %d\t\tINFO\t\t\t\tmsg %d\t\n' \
		"$1" "${2:-alice}" "$n_ev" "$n_ev"
}

# posts PATH: "POSTS EVENTS" answered 200 at PATH (a digest counts its events).
posts() {
	python3 - "$T/slack.log" "$1" <<'PY'
import json, re, sys
posts = events = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["path"] != sys.argv[2] or not r["answer"].startswith("200"):
        continue
    body = json.loads(r["body"])
    m = re.match(r"(\d+) Qlik Sense events", body["text"])
    posts += 1
    events += int(m.group(1)) if m else 1
print(posts, events)
PY
}
# times PATH: arrival times of every post to PATH, one a line.
times() {
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["path"] == sys.argv[2]:
        print("%.6f" % r["time"])' "$T/slack.log" "$1"
}
# min_gap PATH: the smallest time between two posts to PATH.
min_gap() {
	times "$1" | awk 'NR > 1 { d = $1 - prev; if (min == "" || d < min) min = d } { prev = $1 } END { printf "%.3f\n", min }'
}
mkconf() { local f=$1; shift; { echo '[qsslack]'; printf '%s\n' "$@"; } >"$T/$f.ini"; }

# Per-event webhooks, and -t passing every line through.
mkconf a "webhook = $url/a/SECRET-main" "webhook.task_failed = $url/a/SECRET-alerts" "rate = 20"
{ ev session_start; ev task_failed; ev session_stop; ev task_failed; ev connection_open; } >"$T/a.tsv"
qsslack -t -c "$T/a.ini" <"$T/a.tsv" >"$T/a.out" 2>"$T/a.err"
is "$?" 0 "per-event webhooks: exit 0"
is "$(posts /a/SECRET-alerts | cut -d' ' -f2)" 2 "task failures went to their webhook"
is "$(posts /a/SECRET-main | cut -d' ' -f2)" 3 "the others to the default one"
is_file "$T/a.out" "$T/a.tsv" "-t passes every line through"
ok "the alerts got only task_failed" python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["path"] == "/a/SECRET-alerts":
        assert ":x: Task" in r["body"] and "session" not in r["body"], r["body"]
        assert r["headers"]["Content-Type"].startswith("application/json")' "$T/slack.log"

# A burst of 1,000 events: digests of 20, never two posts closer than 1/rate.
for i in $(seq 1000); do ev session_start "user$i"; done >"$T/b.tsv"
mkconf b "webhook = $url/b/SECRET" "rate = 10"
start=$(date +%s%N)
qsslack -c "$T/b.ini" <"$T/b.tsv" 2>"$T/b.err"
is "$?" 0 "burst: exit 0"
elapsed=$((($(date +%s%N) - start) / 1000000))
is "$(posts /b/SECRET)" "50 1000" "1,000 events in 50 digests"
ok "never two posts within 0.1 s (rate 10): $(min_gap /b/SECRET) s" \
	awk -v g="$(min_gap /b/SECRET)" 'BEGIN { exit !(g >= 0.1) }'
ok "delivered in ${elapsed} ms (under 7 s)" test "$elapsed" -lt 7000
ok "every digest is valid Block Kit within Slack's limits" python3 -c '
import json, sys
users = set()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["path"] != "/b/SECRET":
        continue
    b = json.loads(r["body"])
    assert r["body_utf8"] and len(b["text"]) <= 40000 and len(b["blocks"]) <= 50
    assert b["blocks"][0]["text"]["text"] == "*20 Qlik Sense events*", b["blocks"][0]
    for blk in b["blocks"]:
        if blk["type"] == "section":
            assert 0 < len(blk["text"]["text"]) <= 3000
    users.update(w.strip("`").split("\\")[1] for w in b["text"].split() if w.startswith("`LAB"))
assert users == {"user%d" % i for i in range(1, 1001)}, len(users)' "$T/slack.log"

# 429 with Retry-After 2: nothing before 2 s have passed, then all delivered.
echo "/c/SECRET 429:2 200" >"$T/script"
mkconf c "webhook = $url/c/SECRET" "rate = 10"
{ ev task_failed; ev task_failed; ev task_failed; } >"$T/c.tsv"
qsslack -c "$T/c.ini" <"$T/c.tsv" 2>"$T/c.err"
is "$?" 0 "429: exit 0"
is "$(posts /c/SECRET | cut -d' ' -f2)" 3 "429: all delivered after the pause"
ok "429: next post 2 s later ($(min_gap /c/SECRET) s)" awk -v g="$(min_gap /c/SECRET)" 'BEGIN { exit !(g >= 2) }'
like "$(cat "$T/c.err")" 'HTTP 429.*pausing it 2 s' "429 reported"

# 500 twice, then 200: delivered.
echo "/d/SECRET 500 500 200" >"$T/script"
mkconf d "webhook = $url/d/SECRET"
{ ev log; ev log; } >"$T/d.tsv"
qsslack -c "$T/d.ini" <"$T/d.tsv" 2>"$T/d.err"
is "$?" 0 "500 then 200: exit 0"
is "$(posts /d/SECRET)" "1 2" "500 then 200: delivered"
is "$(times /d/SECRET | wc -l)" 3 "three tries"
like "$(cat "$T/d.err")" 'HTTP 500 internal_error: retrying' "500 reported"

# 404 channel_not_found: dead-lettered, never retried, reported once; the other webhook goes on.
echo "/e/SECRET-gone 404:channel_not_found" >"$T/script"
mkconf e "webhook = $url/e/SECRET-ok" "webhook.task_failed = $url/e/SECRET-gone" "rate = 20" \
	"dead_letter = $T/e.dead"
{ for i in $(seq 25); do ev task_failed; done; ev session_start; ev session_stop; } >"$T/e.tsv"
qsslack -c "$T/e.ini" <"$T/e.tsv" 2>"$T/e.err"
is "$?" 0 "404: exit 0"
is "$(times /e/SECRET-gone | wc -l)" 2 "404: two posts (20 + 5), none retried"
is "$(grep -vc '^#' "$T/e.dead")" 25 "404: every refused event dead-lettered"
is "$(grep -c '^#.*HTTP 404 channel_not_found' "$T/e.dead")" 25 "404: with Slack's reason"
is "$(posts /e/SECRET-ok)" "1 2" "404: the other webhook still delivered"
is "$(grep -c 'channel_not_found' "$T/e.err")" 1 "404: reported once"

# A hang past the timeout: timed out, retried.
echo "/f/SECRET hang:4 200" >"$T/script"
mkconf f "webhook = $url/f/SECRET" "timeout = 1"
ev task_aborted >"$T/f.tsv"
qsslack -c "$T/f.ini" <"$T/f.tsv" 2>"$T/f.err"
is "$?" 0 "hang: exit 0"
is "$(posts /f/SECRET)" "1 1" "hang: delivered on the retry"
is "$(times /f/SECRET | wc -l)" 2 "hang: two tries"
like "$(cat "$T/f.err")" 'Timeout was reached: retrying' "hang: timeout reported"

# A spool keeps what a failing Slack did not take; the next run delivers it.
echo "/g/SECRET 500" >"$T/script"
mkconf g "webhook = $url/g/SECRET" "drain_seconds = 1.5"
for i in $(seq 10); do ev connection_close; done >"$T/g.tsv"
qsslack -S "$T/spool" -c "$T/g.ini" <"$T/g.tsv" 2>"$T/g.err"
like "$(cat "$T/g.err")" '10 events kept in spool' "500 with a spool: events kept"
is "$(posts /g/SECRET)" "0 0" "nothing delivered yet"
echo "/g/SECRET 200" >"$T/script"
qsslack -S "$T/spool" -c "$T/g.ini" </dev/null 2>>"$T/g.err"
is "$?" 0 "restart: exit 0"
is "$(posts /g/SECRET | cut -d' ' -f2)" 10 "restart: all 10 delivered, nothing lost"

# Nothing answers: curl's error, never the URL.
closed=$(free_port)
mkconf z "drain_seconds = 1"
ev log | qsslack -c "$T/z.ini" -w "http://127.0.0.1:$closed/z/SECRET" 2>"$T/z.err"
is "$?" 1 "no answer, no spool: exit 1 (lost)"
like "$(cat "$T/z.err")" "127.0.0.1:$closed/\.\.\.: Couldn't connect to server" "connection refused reported with the host only"

# Retry-After above an hour is cut to an hour (not taken for nonsense and made 30 s).
# drain_seconds ends the run: an hour is not waited for.
echo "/h/SECRET 429:7200 200" >"$T/script"
mkconf h "webhook = $url/h/SECRET" "drain_seconds = 0.5"
ev task_failed >"$T/h.tsv"
qsslack -c "$T/h.ini" <"$T/h.tsv" 2>"$T/h.err"
is "$?" 1 "Retry-After 7200: exit 1 (undelivered when drain_seconds ran out)"
like "$(cat "$T/h.err")" 'HTTP 429 rate_limited: pausing it 3600 s$' "Retry-After 7200: paused 3600 s"
is "$(times /h/SECRET | wc -l)" 1 "Retry-After 7200: not retried within drain_seconds"

# A 429 without Retry-After, with an HTTP date or with junk: paused 30 s.
cat >"$T/script" <<'EOF2'
/i/SECRET-bare 429
/i/SECRET-date 429:Wed,\x2021\x20Oct\x202015\x2007:28:00\x20GMT
/i/SECRET-junk 429:12abc
EOF2
mkconf i "webhook = $url/i/SECRET-bare" "webhook.log = $url/i/SECRET-date" \
	"webhook.task_failed = $url/i/SECRET-junk" "drain_seconds = 0.5"
{ ev session_start; ev log; ev task_failed; } >"$T/i.tsv"
qsslack -c "$T/i.ini" <"$T/i.tsv" 2>"$T/i.err"
is "$(for p in bare date junk; do times "/i/SECRET-$p" | wc -l; done | tr '\n' ' ')" "1 1 1 " \
	"429 bare, HTTP date, junk: one try each"
is "$(grep -c 'HTTP 429 rate_limited: pausing it 30 s$' "$T/i.err")" 3 \
	"429 bare, HTTP date, junk: each paused 30 s"

# An error answer's body is cut and escaped: the reason stays one clean line.
long=$(printf 'x%.0s' $(seq 200))
cat >"$T/script" <<EOF2
/j/SECRET-long 400:$long
/j/SECRET-bin 400:a\\x00b\\nc\\x1b[2Jd\\xff\\r\\x7f
EOF2
mkconf j "webhook = $url/j/SECRET-long" "webhook.log = $url/j/SECRET-bin" "dead_letter = $T/j.dead"
{ ev session_start; ev log; } >"$T/j.tsv"
qsslack -c "$T/j.ini" <"$T/j.tsv" 2>"$T/j.err"
is "$?" 0 "400 with a long or binary body: exit 0 (dead-lettered)"
like "$(cat "$T/j.err")" ": HTTP 400 x{80}\.\.\.: dead-lettering" "a long body is cut after 80 bytes"
ok "a binary body is escaped" grep -qF 'HTTP 400 a\x00b\nc\x1b[2Jd' "$T/j.err"
is "$(grep -c 'HTTP 400' "$T/j.err")" 2 "one line per refusal"
ok "no control byte on stderr or in the dead-letter file's reasons" python3 -c '
import sys
for name in sys.argv[1:]:
    for line in open(name, "rb"):
        if name.endswith(".err") or line.startswith(b"#"):
            assert not any(b < 0x20 or b == 0x7f for b in line.rstrip(b"\n")), line' "$T/j.err" "$T/j.dead"
is "$(grep -c '^#.*HTTP 400' "$T/j.dead")/$(lines_in "$T/j.dead")" 2/4 "dead-letter file: a reason line per event"

# Plain http is warned about unless the host is the loopback itself, not a name starting so.
for host in localhost.evil.example 127.attacker.example; do
	qsslack -w "http://$host/SECRET" </dev/null 2>"$T/w.err"
	like "$(cat "$T/w.err")" "webhook $host/\.\.\. is plain http" "plain http to $host: warned"
done
for host in localhost:1 LOCALHOST 127.0.0.1:1 127.1 '[::1]:1'; do
	qsslack -w "http://$host/SECRET" </dev/null 2>"$T/w.err"
	is "$(grep -v '^qsslack: exit: ' "$T/w.err")" "" "plain http to $host: no warning"
done
qsslack -w "https://hooks.example/SECRET" </dev/null 2>"$T/w.err"
is "$(grep -v '^qsslack: exit: ' "$T/w.err")" "" "https: no warning"

ok "the webhook URLs never appear on stderr" sh -c "! grep -l SECRET $T/*.err"

done_testing
