#!/bin/bash
# qsteams against t/slackd.py (a webhook double on 127.0.0.1): 202 Accepted, digests paced 1
# post per 2 s, 429 with and without Retry-After, 503 with Retry-After, 500, 400, 413, a hang,
# an answer cut off, the spool, and the URL kept secret.
. "$(dirname "$0")/lib.sh"

: >"$T/script"
bg /usr/bin/python3 "$top/t/slackd.py" --log "$T/hook.log" --port-file "$T/port" --script "$T/script" >/dev/null
wait_for 10 test -s "$T/port" || { echo "Bail out! slackd did not start"; exit 1; }
url="http://127.0.0.1:$(cat "$T/port")"

n_ev=0
ev() {
	n_ev=$((n_ev + 1))
	printf '2026-11-20T23:52:%02d.000000Z\t%s\tsense1\tLAB\talice\t\tApp %d\t\tReload %d\te%d\tERROR\t\t\t\t%s\t\n' \
		$((n_ev % 60)) "${1:-task_failed}" "$n_ev" "$n_ev" "$n_ev" "${2:-msg $n_ev}"
}
# tries PATH: posts that reached PATH. events PATH: the events in the posts answered 2xx.
tries() { /usr/bin/python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["path"] == sys.argv[2]))' "$T/hook.log" "$1"; }
events() { /usr/bin/python3 - "$T/hook.log" "$1" <<'PY'
import json, re, sys
tasks = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["path"] != sys.argv[2] or not r["answer"][:1] == "2":
        continue
    card = json.loads(r["body"])["attachments"][0]["content"]
    for e in card["body"]:
        for x in [e] + e.get("items", []):
            if x.get("weight") == "Bolder" and "Reload task" in x.get("text", ""):
                tasks.append(x["text"].split(": ", 1)[1])
print(len(tasks), len(set(tasks)))
PY
}
min_gap() { /usr/bin/python3 -c '
import json, sys
t = [json.loads(l)["time"] for l in open(sys.argv[1]) if json.loads(l)["path"] == sys.argv[2]]
print("%.3f" % min(b - a for a, b in zip(t, t[1:])))' "$T/hook.log" "$1"; }
mkconf() { local f=$1; shift; { echo '[qsteams]'; printf '%s\n' "$@"; } >"$T/$f.ini"; }

# 202 Accepted (what Workflows answers): delivered; -t passes every line through at once.
echo "/a/wf/SECRET 202" >"$T/script"
mkconf a "webhook = $url/a/wf/SECRET"
{ ev; ev task_aborted; ev session_start; } >"$T/a.tsv"
qsteams -t -c "$T/a.ini" <"$T/a.tsv" >"$T/a.out" 2>"$T/a.err"
is "$?" 0 "202: exit 0"
is_file "$T/a.out" "$T/a.tsv" "-t passes every line through"
is "$(events /a/wf/SECRET)" "2 2" "202: both task results delivered (session_start is not a default event)"
is "$(t/cardcheck.py adaptive --log "$T/hook.log" /a/wf/SECRET)" "$(tries /a/wf/SECRET)" "the posted cards are valid"
ok "JSON content type and the tool's User-Agent" /usr/bin/python3 -c '
import json, sys
for l in open(sys.argv[1]):
    h = json.loads(l)["headers"]
    assert h["Content-Type"].startswith("application/json") and h["User-Agent"].startswith("qsteams/"), h' "$T/hook.log"

# A burst: digests of at most 20 in one card, 1 post per 2 s by default; nothing lost.
for i in $(seq 45); do ev; done >"$T/b.tsv"
mkconf b "webhook = $url/b/wf/SECRET"
qsteams -c "$T/b.ini" <"$T/b.tsv" 2>"$T/b.err"
is "$?" 0 "burst: exit 0"
is "$(events /b/wf/SECRET)" "45 45" "burst: all 45 delivered once each"
is "$(tries /b/wf/SECRET)" 3 "burst: in 3 digest cards"
ok "burst: posts 2 s apart ($(min_gap /b/wf/SECRET) s)" awk -v g="$(min_gap /b/wf/SECRET)" 'BEGIN { exit !(g >= 1.95) }'
is "$(t/cardcheck.py adaptive --log "$T/hook.log" /b/wf/SECRET)" 3 "burst: the digest cards are valid"

# A digest of big events stays under 28 KB and says how many did not fit.
big=$(head -c 6000 /dev/zero | tr '\0' 'y')
for i in $(seq 20); do
	printf '2026-11-20T23:52:15.000000Z\ttask_failed\t%s\tLAB\t%s\t\t%s\t\tReload %d %s\te\tERROR\t\t\t\t%s\t\n' \
		"$big" "$big" "$big" "$i" "$big" "$big"
done >"$T/c.tsv"
mkconf c "webhook = $url/c/wf/SECRET" "rate = 20"
qsteams -c "$T/c.ini" <"$T/c.tsv" 2>"$T/c.err"
is "$(t/cardcheck.py adaptive --log "$T/hook.log" /c/wf/SECRET)" 1 "big digest: one valid card under 28 KB"
ok "big digest: [+N more events]" grep -q '\[+[0-9]* more events\]' "$T/hook.log"

# 429 with Retry-After 2: the webhook waits 2 s; 429 without: 30 s (drain_seconds ends it).
echo "/d/wf/SECRET 429:2 202" >"$T/script"
mkconf d "webhook = $url/d/wf/SECRET" "rate = 20"
ev >"$T/d.tsv"
qsteams -c "$T/d.ini" <"$T/d.tsv" 2>"$T/d.err"
is "$(events /d/wf/SECRET)" "1 1" "429 Retry-After 2: delivered"
ok "429 Retry-After 2: retried after 2 s ($(min_gap /d/wf/SECRET) s)" awk -v g="$(min_gap /d/wf/SECRET)" 'BEGIN { exit !(g >= 2) }'
like "$(cat "$T/d.err")" "webhook http://127.0.0.1:[0-9]+/d/\.\.\.: HTTP 429 rate_limited: pausing it 2 s" "429 reported, the URL redacted"
echo "/e/wf/SECRET 429" >"$T/script"
mkconf e "webhook = $url/e/wf/SECRET" "drain_seconds = 0.5"
ev | qsteams -c "$T/e.ini" 2>"$T/e.err"
is "$?" 1 "429 without Retry-After: undelivered when drain_seconds ran out (exit 1)"
like "$(cat "$T/e.err")" 'HTTP 429 rate_limited: pausing it 30 s' "429 without Retry-After: paused 30 s"

# 503 with Retry-After 1: paused 1 s; 500 and 503 without: backed off; both then delivered.
echo "/f/wf/SECRET 503/1 500 503 202" >"$T/script"
mkconf f "webhook = $url/f/wf/SECRET" "rate = 20"
ev >"$T/f.tsv"
qsteams -c "$T/f.ini" <"$T/f.tsv" 2>"$T/f.err"
is "$?" 0 "503/500: exit 0"
is "$(tries /f/wf/SECRET)/$(events /f/wf/SECRET)" "4/1 1" "503 Retry-After, 500, 503: delivered on the 4th try"
like "$(cat "$T/f.err")" 'HTTP 503 service_unavailable: pausing it 1 s' "503 with Retry-After: paused"
like "$(cat "$T/f.err")" 'HTTP 500 internal_error: retrying with backoff' "500: backed off"

# 400 and 413: dead-lettered with the status and the answer, never retried, said once.
cat >"$T/script" <<'EOF'
/g/wf/SECRET-400 400:Bad\x20Request:\x20card\x20invalid
/g/wf/SECRET-413 413
EOF
mkconf g "webhook = $url/g/wf/SECRET-400" "webhook.task_aborted = $url/g/wf/SECRET-413" "rate = 20" \
	"dead_letter = $T/g.dead"
{ ev; ev; ev task_aborted; } >"$T/g.tsv"
qsteams -c "$T/g.ini" <"$T/g.tsv" 2>"$T/g.err"
is "$?" 0 "400/413: exit 0 (dead-lettered)"
is "$(tries /g/wf/SECRET-400) $(tries /g/wf/SECRET-413)" "1 1" "400/413: one post each, never retried"
is "$(grep -c '^# .*HTTP 400 Bad Request: card invalid' "$T/g.dead")" 2 "400: both events dead-lettered with the answer"
is "$(grep -c '^# .*HTTP 413 payload_too_large' "$T/g.dead")" 1 "413: dead-lettered with the status"
is "$(grep -c 'HTTP 400' "$T/g.err")" 1 "400: said once"

# A legacy connector answers 200 "1" when it takes a card, and 200 with the real status in the
# body when Teams refused it: 413 is dead-lettered, 429 pauses, 500 is retried.
fail='Webhook\x20message\x20delivery\x20failed\x20with\x20error:\x20Microsoft\x20Teams\x20endpoint\x20returned\x20HTTP\x20error'
cat >"$T/script" <<EOF
/k/webhookb2/SECRET-ok 200:1
/k/webhookb2/SECRET-413 200:$fail\x20413\x20with\x20ContextId\x20tcid=1
/k/webhookb2/SECRET-429 200:$fail\x20429\x20with\x20ContextId\x20tcid=2
/k/webhookb2/SECRET-500 200:$fail\x20500\x20with\x20ContextId\x20tcid=3 200:1
EOF
mkconf k "format = messagecard" "webhook = $url/k/webhookb2/SECRET-ok" "webhook.task_aborted = $url/k/webhookb2/SECRET-413" \
	"webhook.log = $url/k/webhookb2/SECRET-429" "webhook.task_succeeded = $url/k/webhookb2/SECRET-500" \
	"events = task_failed task_aborted log task_succeeded" "rate = 20" "drain_seconds = 4" "dead_letter = $T/k.dead"
{ ev; ev task_aborted; ev log; ev task_succeeded; } >"$T/k.tsv"
qsteams -c "$T/k.ini" <"$T/k.tsv" 2>"$T/k.err"
is "$(tries /k/webhookb2/SECRET-ok) $(tries /k/webhookb2/SECRET-413) $(tries /k/webhookb2/SECRET-429) $(tries /k/webhookb2/SECRET-500)" \
	"1 1 1 2" "legacy connector: 200 \"1\" taken; a refusal inside a 200 judged by its status"
is "$(grep -c '^# .*HTTP 413 Webhook message delivery failed' "$T/k.dead")" 1 "legacy connector: an embedded 413 is dead-lettered"
like "$(cat "$T/k.err")" 'HTTP 429 Webhook message delivery failed.*pausing it 30 s' "legacy connector: an embedded 429 pauses 30 s"
like "$(cat "$T/k.err")" 'HTTP 500 Webhook message delivery failed.*retrying with backoff' "legacy connector: an embedded 500 is retried"
is "$(t/cardcheck.py messagecard --log "$T/hook.log" /k/webhookb2/SECRET-ok)" 1 "legacy connector: a valid MessageCard"

# A hang past the timeout, then an answer cut off mid-way: both retried, then delivered.
echo "/h/wf/SECRET hang:3 close 202" >"$T/script"
mkconf h "webhook = $url/h/wf/SECRET" "timeout = 1" "rate = 20"
ev >"$T/h.tsv"
qsteams -c "$T/h.ini" <"$T/h.tsv" 2>"$T/h.err"
is "$?" 0 "hang and cut-off answer: exit 0"
is "$(tries /h/wf/SECRET)/$(events /h/wf/SECRET)" "3/1 1" "hang, cut-off answer, then delivered"
like "$(cat "$T/h.err")" 'Timeout was reached: retrying' "hang: timeout reported"
like "$(cat "$T/h.err")" 'Transferred a partial file: retrying' "cut-off answer: reported"

# The webhook from a file or the environment; a spool keeps what a failing webhook did not take.
printf '%s\n' "$url/i/wf/SECRET" >"$T/hook"
chmod 600 "$T/hook"
echo "/i/wf/SECRET 500" >"$T/script"
mkconf i "webhook_file = $T/hook" "drain_seconds = 1"
{ ev; ev; } >"$T/i.tsv"
qsteams -S "$T/spool" -c "$T/i.ini" <"$T/i.tsv" 2>"$T/i.err"
like "$(cat "$T/i.err")" '2 events kept in spool' "500 with a spool: kept"
echo "/i/wf/SECRET 202" >"$T/script"
QSTEAMS_WEBHOOK=$url/i/wf/SECRET qsteams -S "$T/spool" -c /dev/null </dev/null 2>>"$T/i.err"
is "$?" 0 "restart with QSTEAMS_WEBHOOK: exit 0"
is "$(events /i/wf/SECRET)" "2 2" "restart: both delivered from the spool"

closed=$(free_port)
ev | qsteams -c /dev/null -w "http://127.0.0.1:$closed/z/wf/SECRET" -S "$T/zspool" 2>"$T/z.err"
like "$(cat "$T/z.err")" "webhook http://127.0.0.1:$closed/z/\.\.\.: Couldn't connect to server" "refused: host and first level only"

ok "the webhook URLs never appear on stderr" not grep -l SECRET "$T"/*.err

done_testing
