#!/bin/bash
# qsteams -n: Adaptive Card and MessageCard bodies, the escaping of everything an event holds,
# the size limit, enrichment attributes, buttons, default events and config errors.
. "$(dirname "$0")/lib.sh"

guid_task=1b0e6f52-3c1d-4a8e-9f27-5d4c3b2a1908
guid_app=6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34

# ev EVENT [COLUMN=VALUE]... [-- ATTRIBUTE=VALUE...]: one event line; values as given (escaped).
ev() {
	local -A col=([time]=2026-11-20T23:52:15.123456Z [event]=$1 [host]=sense1 [user_dir]=LAB
		[user_id]=alice [app_id]=$guid_app [app_name]=Sales [task_id]=$guid_task
		[task_name]='Reload Sales' [exec_id]=e1 [level]=ERROR [logger]=Audit.Proxy
		[origin]=AppAccess [context]=/hub [message]='Something happened' [source]=10.0.0.1:5000)
	shift
	local kv attrs=
	while [ $# -gt 0 ] && [ "$1" != -- ]; do col[${1%%=*}]=${1#*=}; shift; done
	[ $# -gt 0 ] && shift
	for kv in "$@"; do attrs+=$'\t'$kv; done
	local name out=
	for name in time event host user_dir user_id app_id app_name task_id task_name exec_id \
		level logger origin context message source; do
		out+=${col[$name]}$'\t'
	done
	printf '%s%s\n' "${out%$'\t'}" "$attrs"
}

# card FILE PYTHON: runs PYTHON with `cards` (each line's card content: the AdaptiveCard, or the
# MessageCard), `shown(x)` (every text in x, U+200B removed) and `facts(c)`; it must print ok.
card() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
cards = []
for line in open(sys.argv[1], "rb"):
    b = json.loads(line)
    cards.append(b["attachments"][0]["content"] if b.get("type") == "message" else b)
def strings(x):
    if isinstance(x, dict):
        for k, v in x.items():
            if k not in ("url", "uri", "type", "@type", "$schema", "@context"):
                yield from strings(v)
    elif isinstance(x, list):
        for v in x:
            yield from strings(v)
    elif isinstance(x, str):
        yield x
def shown(x):
    return "\n".join(strings(x)).replace("\u200b", "")
def facts(c):
    out = {}
    for e in c.get("body", []):
        for f in e.get("facts", []):
            out[f["title"]] = f["value"].replace("\u200b", "")
    for s in c.get("sections", []):
        for f in s.get("facts", []):
            out[f["name"]] = f["value"].replace("\u200b", "")
    return out
exec(sys.argv[2])
print("ok")
PY
}

printf '[qsteams]\nqmc_url = https://sense.example/qmc/\nhub_url = https://sense.example/hub\n' >"$T/links.ini"

# Default events: task_failed and task_aborted only.
kinds="session_start session_stop connection_open connection_close task_failed task_aborted task_succeeded task_distributed log qix_perf unknown"
for k in $kinds; do ev "$k"; done >"$T/kinds.tsv"
qsteams -n <"$T/kinds.tsv" >"$T/default.json" 2>"$T/err"
is "$?" 0 "-n: exit 0"
is "$(lines_in "$T/default.json")" 2 "default events: task_failed and task_aborted"
qsteams -n -e "$kinds" -c "$T/links.ini" <"$T/kinds.tsv" >"$T/kinds.json" 2>"$T/err"
is "$(lines_in "$T/kinds.json")" 11 "-e with every kind: one card per event kind"
is "$(t/cardcheck.py adaptive "$T/kinds.json")" 11 "every card is a valid Adaptive Card 1.4 with nothing to render"
is "$(card "$T/kinds.json" '
titles = [c["body"][0]["text"] for c in cards]
assert titles[4] == "\u274c Reload task failed: Reload Sales", titles[4]
assert titles[5].startswith("\u26a0\ufe0f Reload task aborted: Reload Sales"), titles[5]
assert titles[0] == "\U0001f7e2 Session started: LAB\\alice", titles[0]
assert all(c["body"][0]["weight"] == "Bolder" for c in cards)
assert cards[4]["body"][0]["color"] == "Attention"
f = facts(cards[4])
assert f == {"Host": "sense1", "App": "Sales", "Task": "Reload Sales", "User": "LAB\\alice",
             "Time": "2026-11-20 23:52:15 UTC"}, f
msg = [e for e in cards[4]["body"] if e.get("fontType") == "Monospace"]
assert len(msg) == 1 and msg[0]["text"] == "Something happened" and msg[0]["wrap"], msg
acts = cards[4]["actions"]
assert [a["url"] for a in acts] == ["https://sense.example/qmc/reloadtask/edit/'$guid_task'",
    "https://sense.example/hub/app/'$guid_app'"], acts
assert facts(cards[8])["Level"] == "ERROR" and facts(cards[8])["Logger"] == "Audit.Proxy"
')" ok "titles with icons, the FactSet, the message in monospace, QMC and hub buttons"

# An id that is not a GUID never goes into a link; no link bases, no buttons.
ev task_failed 'task_id=../../evil' 'app_id=x?y' | qsteams -n -c "$T/links.ini" >"$T/noguid.json"
is "$(card "$T/noguid.json" 'assert "actions" not in cards[0], cards[0]')" ok "ids that are not GUIDs: no buttons"
ev task_failed | qsteams -n >"$T/nolinks.json"
is "$(card "$T/nolinks.json" 'assert "actions" not in cards[0]')" ok "no qmc_url or hub_url: no buttons"

# Nothing in a value renders: links, autolinks, emphasis, mentions, tags, entities, lists.
evil='[click](https://evil) **bold** __u__ <at>bob</at> &lt;b&gt; &amp; www.evil.example mail@evil.example `x` <https://evil>'
ev task_failed "task_name=$evil" "app_name=$evil" "user_id=$evil" "host=$evil" \
	"message=$evil\\n- item\\n1. first\\n# heading\\n> quote\\n  * star" >"$T/evil.tsv"
qsteams -n -c "$T/links.ini" <"$T/evil.tsv" >"$T/evil.json"
is "$(t/cardcheck.py adaptive "$T/evil.json")" 1 "hostile values: nothing renders as Markdown or HTML"
is "$(card "$T/evil.json" '
t = shown(cards[0])
for s in ("[click](https:", "//evil)", "<at>bob</at>", "&lt;b&gt;", "www.evil.example", "- item", "1. first"):
    assert s in t, (s, t)
assert "\u2217\u2217bold\u2217\u2217" in t
')" ok "hostile values: still readable, every character shown"
printf '[qsteams]\nformat = messagecard\n' >"$T/mc.ini"
qsteams -n -c "$T/mc.ini" <"$T/evil.tsv" >"$T/evil-mc.json"
is "$(t/cardcheck.py messagecard "$T/evil-mc.json")" 1 "hostile values in a MessageCard: nothing renders"

# Bad UTF-8 and control bytes: valid JSON, replaced.
ev task_failed 'message=a\x00b\x1b[2J\xff\xfec\r\nd' 'task_name=\xc3\x28' | qsteams -n >"$T/bytes.json"
is "$(t/cardcheck.py adaptive "$T/bytes.json")" 1 "control bytes and bad UTF-8: a valid card"

# Bodies under 28 KB whatever the input: a 1 MiB message is cut, and says by how much.
big=$(head -c 150000 /dev/zero | tr '\0' 'x')
ev task_failed "message=$big" "task_name=$big" "host=$big" -- "script_log_tail=${big}END" \
	"exec_node=$big" "app_owner_name=$big" >"$T/big.tsv"
qsteams -n <"$T/big.tsv" >"$T/big.json"
is "$(t/cardcheck.py adaptive "$T/big.json")" 1 "a huge event: a valid card under 28 KB"
is "$(card "$T/big.json" '
t = shown(cards[0])
assert "[+" in t and "more bytes]" in t, t[-200:]
tail = [e["text"] for e in cards[0]["body"] if e.get("size") == "Small"][0]
assert tail.startswith("[+") and tail.endswith("xEND"), tail[:80]
')" ok "cut texts end with [+N more bytes]; the log tail keeps its end"
qsteams -n -c "$T/mc.ini" <"$T/big.tsv" >"$T/big-mc.json"
is "$(t/cardcheck.py messagecard "$T/big-mc.json")" 1 "a huge event: a valid MessageCard under 28 KB"

# Enrichment attributes: the script log's tail, duration, node, owner, status.
ev task_failed -- 'script_log_tail=12:00:01 Load\n12:00:02 Error: field not found' \
	exec_duration_ms=754321 exec_node=central.lab exec_status=FinishedFail \
	'app_owner_name=Ann Admin' app_owner_email=ann@lab.example >"$T/enriched.tsv"
qsteams -n <"$T/enriched.tsv" >"$T/enriched.json"
is "$(t/cardcheck.py adaptive "$T/enriched.json")" 1 "enriched: a valid card"
is "$(card "$T/enriched.json" '
f = facts(cards[0])
assert f["Duration"] == "12 min 34 s" and f["Node"] == "central.lab" and f["Status"] == "FinishedFail", f
assert f["Owner"] == "Ann Admin (ann@lab.example)", f
mono = [e["text"].replace("\u200b", "") for e in cards[0]["body"] if e.get("fontType") == "Monospace"]
assert mono[1] == "12:00:01 Load\n\n12:00:02 Error: field not found", mono
assert any(e.get("text") == "Script log (last lines)" for e in cards[0]["body"])
')" ok "enriched: the log tail in monospace, duration, node, status and owner"
qsteams -n -c "$T/mc.ini" <"$T/enriched.tsv" >"$T/enriched-mc.json"
is "$(card "$T/enriched-mc.json" '
c = cards[0]
assert c["sections"][1]["title"] == "Script log (last lines)", c["sections"]
assert facts(c)["Duration"] == "12 min 34 s"
')" ok "enriched MessageCard: the log tail in its own section"

# MessageCard for legacy connectors.
qsteams -n -e "$kinds" -c "$T/mc.ini" <"$T/kinds.tsv" >"$T/kinds-mc.json"
is "$(t/cardcheck.py messagecard "$T/kinds-mc.json")" 11 "format = messagecard: valid MessageCards"
is "$(card "$T/kinds-mc.json" '
c = cards[4]
assert c["summary"] == "\u274c Reload task failed: Reload Sales" and c["themeColor"] == "C4314B", c
assert facts(c)["Task"] == "Reload Sales" and c["sections"][0]["text"] == "Something happened"
')" ok "MessageCard: summary, theme colour, facts, text"

# -n and -t together; config errors exit 2 naming the line; secrets never shown.
qsteams -n -t </dev/null 2>"$T/err"
is "$?" 2 "-n with -t: exit 2"
conf_err() {
	printf '[qsteams]\n%s\n' "$1" >"$T/e.ini"
	qsteams -c "$T/e.ini" </dev/null >/dev/null 2>"$T/e.err"
	is "$?" 2 "$2: exit 2"
	like "$(cat "$T/e.err")" "$3" "$2: message"
}
conf_err 'format = html' "unknown format" 'e.ini:2: format: not adaptive or messagecard'
conf_err 'qmc_url = ftp://x' "bad qmc_url" 'e.ini:2: qmc_url: not an http'
conf_err 'colour = red' "unknown key" "e.ini:2: unknown key 'colour' in \\[qsteams\\]"
conf_err "$(printf 'webhook = https://x.example/SECRET1\nwebhook_file = %s/nothere' "$T")" \
	"webhook and webhook_file" 'e.ini:3: webhook_file: given twice'
conf_err 'webhook = ftp://x.example/SECRET1' "a webhook that is not http" 'webhook: not an http'
conf_err 'rate = 0' "rate 0" 'e.ini:2: rate: not a number'
printf '[qsteams]\nevents = session_start\n' >"$T/nohook.ini"
qsteams -c "$T/nohook.ini" </dev/null 2>"$T/nohook.err"
is "$?" 2 "no webhook: exit 2"
like "$(cat "$T/nohook.err")" 'no webhook for session_start events: set webhook or webhook_file in \[qsteams\], QSTEAMS_WEBHOOK or -w' \
	"no webhook: says where to set one"
ok "no secret on stderr" not grep -q SECRET "$T"/*.err

done_testing
