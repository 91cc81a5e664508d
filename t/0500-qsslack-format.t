#!/bin/bash
# qsslack -n: the message bodies, escaping, templates, limits and config errors.
. "$(dirname "$0")/lib.sh"
all_events qsslack	# these tests use every kind of event

guid_task=1b0e6f52-3c1d-4a8e-9f27-5d4c3b2a1908
guid_app=6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34

# ev EVENT [COLUMN=VALUE]...: one event line; values are written as given (already escaped).
ev() {
	local -A col=([time]=2026-11-20T23:52:15.123456Z [event]=$1 [host]=sense1 [user_dir]=LAB
		[user_id]=alice [app_id]=$guid_app [app_name]=Sales [task_id]=$guid_task
		[task_name]='Reload Sales' [exec_id]=e1 [level]=ERROR [logger]=Audit.Proxy
		[origin]=AppAccess [context]=/hub [message]='Something happened' [source]=10.0.0.1:5000)
	shift
	local kv
	for kv in "$@"; do col[${kv%%=*}]=${kv#*=}; done
	local name out=
	for name in time event host user_dir user_id app_id app_name task_id task_name exec_id \
		level logger origin context message source; do
		out+=${col[$name]}$'\t'
	done
	printf '%s\n' "${out%$'\t'}"
}

# check FILE PYTHON: runs PYTHON with `bodies` (the JSON body of each line of FILE, or the
# test fails on the first invalid one) and `sections(b)`, `texts(b)`; it must print "ok".
check() {
	python3 - "$1" "$2" <<'PY'
import json, sys
bodies = []
for n, line in enumerate(open(sys.argv[1], "rb"), 1):
    b = json.loads(line)
    assert isinstance(b["text"], str) and b["text"], "line %d: no text" % n
    assert isinstance(b["blocks"], list) and 1 <= len(b["blocks"]) <= 50, "line %d: blocks" % n
    for blk in b["blocks"]:
        if blk["type"] == "section":
            assert blk["text"]["type"] == "mrkdwn" and 0 < len(blk["text"]["text"]) <= 3000
        else:
            assert blk["type"] == "context" and 1 <= len(blk["elements"]) <= 10
    bodies.append(b)
def sections(b):
    return [blk["text"]["text"] for blk in b["blocks"] if blk["type"] == "section"]
def context(b):
    return " ".join(e["text"] for blk in b["blocks"] if blk["type"] == "context" for e in blk["elements"])
exec(sys.argv[2])
print("ok")
PY
}

kinds="session_start session_stop connection_open connection_close task_failed task_aborted task_succeeded task_distributed log unknown"
for k in $kinds; do ev "$k"; done >"$T/kinds.tsv"
qsslack -n <"$T/kinds.tsv" >"$T/kinds.json" 2>"$T/err"
is "$?" 0 "-n exits 0"
is "$(lines_in "$T/kinds.json")" 10 "one body per event kind"
is "$(check "$T/kinds.json" '
assert [sections(b)[0].split()[0] for b in bodies] == [":large_green_circle:", ":white_circle:",
    ":electric_plug:", ":heavy_minus_sign:", ":x:", ":warning:", ":white_check_mark:",
    ":outbox_tray:", ":rotating_light:", ":grey_question:"], [s for b in bodies for s in sections(b)]
assert sections(bodies[0])[0] == ":large_green_circle: `LAB\\alice` started a session on `sense1`"
assert bodies[4]["text"] == sections(bodies[4])[0]
assert "Task `Reload Sales` failed on `sense1`" in bodies[4]["text"]
assert "```Something happened```" in bodies[4]["text"]
assert "<!date^1795218735^" in context(bodies[0]) and "|2026-11-20 23:52:15 UTC>" in context(bodies[0])
')" ok "every kind: valid JSON, Block Kit section and context, text fallback, default wording"
is "$(grep -v '^qsslack: exit: ' "$T/err")" "" "nothing on stderr but the counter line at exit"

# Links only with the URLs configured, and an id only when it is a GUID.
printf '[qsslack]\nqmc_url = https://sense.example/qmc/\nhub_url = https://sense.example/sense\n' >"$T/links.ini"
{ ev task_failed; ev task_failed 'task_id=x|<!channel>' 'app_id=../evil'; } >"$T/links.tsv"
qsslack 2>>"$T/exit.err" -n -c "$T/links.ini" <"$T/links.tsv" >"$T/links.json"
is "$(check "$T/links.json" '
c = context(bodies[0])
assert "<https://sense.example/qmc/reloadtask/edit/'$guid_task'|Open task in QMC>" in c, c
assert "<https://sense.example/sense/app/'$guid_app'|Open app in hub>" in c, c
assert "http" not in context(bodies[1]) and "channel" not in context(bodies[1])
')" ok "QMC and hub links, only for GUIDs"
qsslack 2>>"$T/exit.err" -n <"$T/links.tsv" >"$T/nolinks.json"
is "$(check "$T/nolinks.json" 'assert "http" not in context(bodies[0])')" ok "no links without qmc_url and hub_url"

# Hostile values: mentions, links, entities, quotes, backslashes (escaped \\ in TSV), control
# bytes, invalid UTF-8, broadcasts, backticks.
bad='<!channel> <@U123> <https://evil.example|click> &amp; "q" \\ \x01\x7f'$'\xff\xfe'' @here @Everyone `tick`'
ev task_failed "user_id=$bad" "app_name=$bad" "task_name=$bad" "message=$bad" "host=$bad" >"$T/bad.tsv"
ev session_start "user_id=$bad" >>"$T/bad.tsv"
qsslack 2>>"$T/exit.err" -n <"$T/bad.tsv" >"$T/bad.json"
is "$(check "$T/bad.json" '
import re
for b in bodies:
    for t in sections(b) + [b["text"]]:
        assert "<" not in t and ">" not in t, t
        assert not re.search(r"&(?!amp;|lt;|gt;)", t), t
        assert "&lt;!channel&gt;" in t and "&lt;@U123&gt;" in t and "&amp;amp;" in t
        assert "@\u2060here" in t and "@\u2060Everyone" in t and "@here" not in t
        assert "\ufffd" in t and "\x01" not in t and "\x7f" not in t
        assert "\"q\" \\" in t
        assert t.count("`") % 2 == 0 and "\u02cbtick\u02cb" in t
')" ok "hostile values arrive escaped in valid JSON"

# Formatting markers in values: broken outside code spans, as they are inside.
printf '[qsslack]\ntemplate.log = {message} `{message}`\n' >"$T/fmt.ini"
ev log 'message=*bold* _it_ ~s~' | qsslack 2>>"$T/exit.err" -n -c "$T/fmt.ini" >"$T/fmt.json"
is "$(check "$T/fmt.json" '
t = sections(bodies[0])[0]
assert t == "\u200b*bold\u200b* \u200b_it\u200b_ \u200b~s\u200b~ `*bold* _it_ ~s~`", repr(t)
')" ok "formatting markers neutralized outside code spans only"

# Empty values: an empty code span shows as `-`, an empty message block goes.
ev task_failed task_name= message= | qsslack 2>>"$T/exit.err" -n >"$T/empty.json"
is "$(check "$T/empty.json" '
t = sections(bodies[0])[0]
assert t.startswith(":x: Task `-` failed on `sense1`") and "``" not in t, t
')" ok "empty values"

# Limits: 3,000 characters a section, 40,000 the text; cuts keep entities, UTF-8 and code
# spans whole.
long_amp=$(head -c 50000 /dev/zero | tr '\0' '&')
long_emoji=$(python3 -c 'print("\U0001F600" * 30000 + "é" * 30000)')
{ ev task_failed "message=$long_amp"; ev log "message=$long_emoji"; } >"$T/long.tsv"
qsslack 2>>"$T/exit.err" -n <"$T/long.tsv" >"$T/long.json"
is "$(check "$T/long.json" '
import re
for b in bodies:
    s = sections(b)[0]
    units = lambda x: len(x.encode("utf-16-le")) // 2
    assert units(s) <= 3000 and units(s) > 2900, units(s)
    assert units(b["text"]) <= 40000 and units(b["text"]) > 39900, units(b["text"])
    for t in (s, b["text"]):
        assert t.endswith("\u2026```"), t[-20:]
        assert not re.search(r"&(?!amp;|lt;|gt;)", t)
')" ok "long messages cut to 3,000 and 40,000 characters, ellipsis, code block closed"

# Templates from config, with a continuation line and {{ }} and \n.
cat >"$T/tmpl.ini" <<'EOF'
[qsslack]
template.session_start = Hi *{user_id}* on {host}
	{{braces}}\nsecond line
username = Sense bot
icon_emoji = :robot_face:
channel = #qlik
EOF
ev session_start 'user_id=a_b' | qsslack 2>>"$T/exit.err" -n -c "$T/tmpl.ini" >"$T/tmpl.json"
is "$(check "$T/tmpl.json" '
b = bodies[0]
assert sections(b)[0] == "Hi *a\u200b_b* on sense1 {braces}\nsecond line", repr(sections(b)[0])
assert b["username"] == "Sense bot" and b["icon_emoji"] == ":robot_face:" and b["channel"] == "#qlik"
')" ok "template from config; username, icon_emoji, channel"

# -e selects events; bad lines are reported and skipped.
{ ev session_start; ev task_failed; printf 'not an event\n'; ev bogus_event; echo '#comment'; } >"$T/mixed.tsv"
qsslack -n -e task_failed <"$T/mixed.tsv" >"$T/mixed.json" 2>"$T/err"
is "$?" 0 "bad lines are not fatal"
is "$(lines_in "$T/mixed.json")" 1 "-e task_failed: one body"
like "$(cat "$T/err")" 'line 3: .*not an event' "bad line reported with its number"

# Config errors: exit 2 with a clear line.
conf_err() {
	printf '[qsslack]\n%s\n' "$1" >"$T/e.ini"
	qsslack -n -c "$T/e.ini" </dev/null >/dev/null 2>"$T/e.err"
	is "$?" 2 "$2: exit 2"
	like "$(cat "$T/e.err")" "$3" "$2: message"
}
conf_err 'template.task_failed = {task} failed' "unknown template field" 'e.ini:2: template.task_failed: unknown field \{task\}'
conf_err 'template.task_failed = {task_name failed' "unclosed brace" 'template.task_failed: unclosed \{'
conf_err 'template.task_exploded = x' "template for an unknown event" 'e.ini:2: template.task_exploded: unknown event name'
conf_err "$(printf 'template.log = a\ntemplate.log = b')" "a template given twice" 'e.ini:3: template.log: given twice'
conf_err "$(printf 'template.log = {host} and\n  {message failed')" "unclosed brace on a continuation line" \
	'e.ini:2: template.log: unclosed \{'
conf_err "$(printf 'webhook.log = https://hooks.example/1\nwebhook.log = https://hooks.example/2')" \
	"a webhook.EVENT given twice" 'e.ini:3: webhook.log: given twice'
conf_err "$(printf 'webhook = https://hooks.example/1\nwebhook_file = /dev/null')" \
	"webhook and webhook_file together" 'e.ini:3: webhook_file: given twice'
conf_err 'webhook_file = /nonexistent/hook' "unreadable webhook_file" 'webhook_file: cannot read /nonexistent/hook: No such file'
conf_err 'webhook = ftp://hooks.example/SECRET1' "bad webhook" 'webhook: not an http'
if grep -q SECRET1 "$T/e.err"; then fail "a bad webhook is not shown"; else pass "a bad webhook is not shown"; fi
conf_err 'rate = 0' "zero rate" 'rate: not a number'
conf_err 'qmc_url = https://x/<!channel>' "link base with <" 'qmc_url: URL holds'
conf_err 'colour = red' "unknown key" "unknown key 'colour'"

# A missing webhook is an error unless -n; the environment gives one.
qsslack </dev/null 2>"$T/e.err"
is "$?" 2 "no webhook: exit 2"
like "$(cat "$T/e.err")" 'no webhook for session_start events' "no webhook: message"
QSSLACK_WEBHOOK=nonsense qsslack </dev/null 2>"$T/e.err"
is "$?" 2 "bad QSSLACK_WEBHOOK: exit 2"
qsslack -n -t </dev/null 2>/dev/null
is "$?" 2 "-n with -t: exit 2"
qsslack -x </dev/null 2>/dev/null
is "$?" 2 "unknown flag: exit 2"

# {user}: DIR\id, or the id alone when the event has no user directory
event_line 2026-11-20T23:52:15.123456Z session_start host=sense1 user_id=alice >"$T/nodir.tsv"
event_line 2026-11-20T23:52:15.123456Z session_start host=sense1 user_dir=LAB user_id=alice >>"$T/nodir.tsv"
qsslack 2>>"$T/exit.err" -n <"$T/nodir.tsv" | python3 -c 'import json, sys; [print(json.loads(l)["text"]) for l in sys.stdin]' >"$T/nodir.txt"
is "$(cat "$T/nodir.txt")" ":large_green_circle: \`alice\` started a session on \`sense1\`
:large_green_circle: \`LAB\\alice\` started a session on \`sense1\`" "{user} leaves out an empty directory and its backslash"

# A CR between letters never joins them into a broadcast (found by fuzz/fuzz-slack.c): it is a
# line break, as CRLF is.
event_line 2026-11-20T23:52:15.123456Z session_start host=sense1 user_id='x\r@he\rre' message='@chan\r\nnel' >"$T/cr.tsv"
qsslack 2>>"$T/exit.err" -n <"$T/cr.tsv" >"$T/cr.json"
ok "no @here or @channel made of CR-separated parts" not grep -qiE '@(here|channel)' "$T/cr.json"

# -n runs on the sink runtime, as a real run reads: `-` is standard input, a file that cannot
# be read is reported and skipped (exit 1), a bad line names its file, no spool is touched.
qsslack -n - <"$T/kinds.tsv" >"$T/dash.json" 2>"$T/err"
is "$?" 0 "-n -: exit 0"
is_file "$T/dash.json" "$T/kinds.json" "-n -: standard input"
qsslack -n "$T/missing.tsv" "$T/kinds.tsv" >"$T/two.json" 2>"$T/err"
is "$?" 1 "-n with a missing file: exit 1"
is_file "$T/two.json" "$T/kinds.json" "-n with a missing file: the next file is still read"
like "$(cat "$T/err")" '^qsslack: .*/missing\.tsv: No such file or directory$' "-n: the missing file reported"
qsslack -n "$T/mixed.tsv" >/dev/null 2>"$T/err"
like "$(cat "$T/err")" '^qsslack: .*/mixed\.tsv: line 3: not 16 columns: not an event$' \
	"-n: a bad line's message names its file"
qsslack 2>>"$T/exit.err" -n -S "$T/spool" <"$T/kinds.tsv" >/dev/null
ok "-n -S: no spool created" test ! -e "$T/spool"

# -n prints each event as it comes and stops on SIGTERM while its input is still open.
mkfifo "$T/fifo"
stage dry "$T/fifo" "$T/dry.json" qsslack -n
exec 3>"$T/fifo"
ev log >&3
wait_for 5 test -s "$T/dry.json"
is "$(lines_in "$T/dry.json")" 1 "-n: an event printed at once, the input still open"
kill -TERM "$dry_pid"
if wait_for 5 gone "$dry_pid"; then
	pass "-n: SIGTERM stops it within 5 s"
	wait "$dry_pid"
	is "$?" 0 "-n: SIGTERM: exit 0"
else
	fail "-n: SIGTERM stops it within 5 s"
fi
exec 3>&-

done_testing
