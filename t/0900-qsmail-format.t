#!/bin/bash
# qsmail -n: the messages as built, parsed with Python's email package: each event kind,
# header injection through every column, 8-bit and invalid UTF-8, HTML escaping, a 1 MB message,
# enrichment attributes, templates from files, recipients (to, to.EVENT, routes, to_owner,
# to_property, skip_property) and config errors.
. "$(dirname "$0")/lib.sh"
. "$top/t/mail.sh"

conf() {
	{
		echo "[qsmail]"
		echo "from = qspipe@example.com"
		echo "to = admin@example.com"
		printf '%s\n' "$@"
	} >"$T/q.ini"
}
# dry EVENTS-FILE [ARGS]: the messages for the events, one JSON each, in $T/m.json.
dry() {
	local in=$1
	shift
	qsmail -n -c "$T/q.ini" "$@" "$in" >"$T/m.mbox" 2>"$T/m.err"
	mails --mbox "$T/m.mbox" >"$T/m.json"
}
q() { jq -r "$@" "$T/m.json"; }
# well_formed: every message parsed without defects, 7-bit, CRLF only, lines of at most 78
# bytes, multipart/alternative with text and HTML, one Subject, From and To, a valid Date.
well_formed() {
	[ -s "$T/m.json" ] && jq -e -s 'all(.[]; .defects == [] and .eight_bit == false and
		.bare == false and .max_line <= 78 and
		.parts == ["multipart/alternative", "text/plain", "text/html"] and
		([.headers[] | select(. == "Subject" or . == "From" or . == "To")] | length) == 3 and
		.date_ok)' "$T/m.json" >/dev/null
}

# ---- each event kind ----
conf "qmc_url = https://sense.example/qmc/" "hub_url = https://sense.example/sense"
: >"$T/all.tsv"
for k in session_start session_stop connection_open connection_close task_failed task_aborted \
	task_succeeded task_distributed log qix_perf unknown; do
	mev "$k" logger=System.Scheduler >>"$T/all.tsv"
done
dry "$T/all.tsv" -e session_start,session_stop,connection_open,connection_close,task_failed,task_aborted,task_succeeded,task_distributed,log,qix_perf,unknown
is "$(q -s length)" 11 "a message for each of the 11 event kinds"
ok "every message well formed" well_formed
is "$(q '.subject' | head -8 | tr '\n' '|')" \
	"Session started: LAB\\alice on sense1|Session ended: LAB\\alice on sense1|Connection opened: LAB\\alice on sense1|Connection closed: LAB\\alice on sense1|Reload failed: Reload Sales (Sales) on sense1|Reload aborted: Reload Sales (Sales) on sense1|Reload succeeded: Reload Sales (Sales) on sense1|Task distributed: Reload Sales (Sales) on sense1|" \
	"subjects say what happened where"
is "$(q '.subject' | tail -3 | tr '\n' '|')" \
	"Qlik Sense: ERROR from System.Scheduler on sense1|QIX performance: ERROR from System.Scheduler on sense1|Unrecognized message: 10.0.0.1:5000|" \
	"log, qix_perf and unknown subjects"
failed=$(jq -s '.[4]' "$T/m.json")
like "$(jq -r .text <<<"$failed")" "Task: +Reload Sales" "text body: the task"
like "$(jq -r .text <<<"$failed")" "User: +LAB.alice" "text body: the user"
like "$(jq -r .text <<<"$failed")" "Execution id: +9e8d7c6b-5a49-4838-a727-161504f3e2d1" "text body: the execution id"
like "$(jq -r .text <<<"$failed")" "https://sense.example/qmc/reloadtask/edit/$GUID_T" "text body: a QMC link (trailing / of qmc_url dropped)"
like "$(jq -r .html <<<"$failed")" "<a href=\"https://sense.example/sense/app/$GUID_A\">" "HTML body: a hub link"
like "$(jq -r .html <<<"$failed")" "<pre[^>]*>Max retries reached</pre>" "HTML body: the message preformatted"
is "$(jq -r .exec_ids[0] <<<"$failed")" 9e8d7c6b-5a49-4838-a727-161504f3e2d1 "X-Qspipe-Exec-Id"
is "$(jq -r .in_reply_to <<<"$failed")" "<qspipe-task.$GUID_T@example.com>" "threaded per task: In-Reply-To"
is "$(jq -r .references <<<"$failed")" "<qspipe-task.$GUID_T@example.com>" "threaded per task: References"
like "$(jq -r .message_id <<<"$failed")" '^<qsmail\.[^@]+@example\.com>$' "Message-ID in the sender's domain"
mev task_failed task_id=not-a-guid >"$T/ng.tsv"
dry "$T/ng.tsv"
is "$(q .in_reply_to)" null "no threading headers for a task id that is not a GUID"
ok "no QMC link for a task id that is not a GUID" not grep -q 'reloadtask/edit' "$T/m.mbox"

# ---- default events ----
conf
dry "$T/all.tsv"
is "$(q .subject | cut -d: -f1 | tr '\n' ' ')" "Reload failed Reload aborted " "by default only task_failed and task_aborted"

# ---- header injection through every column ----
inj='x\r\nBcc: evil@attacker.example\r\nSubject: forged\r\n\r\n--=_qspipe_x\r\n.\r\nFrom: evil@attacker.example\nTo: evil2@attacker.example\rCc: evil3@attacker.example'
: >"$T/inj.tsv"
for col in host user_dir user_id app_id app_name task_id task_name exec_id level logger origin \
	context message source; do
	mev task_failed "$col=$inj" >>"$T/inj.tsv"
done
mev task_failed "task_name=$inj" "app_name=$inj" "host=$inj" "exec_id=$inj" "message=$inj" \
	"+app_owner=$inj" "+script_log_tail=$inj" "+custom=$inj" >>"$T/inj.tsv"
conf "qmc_url = https://sense.example/qmc" "hub_url = https://sense.example/sense"
dry "$T/inj.tsv"
is "$(q -s length)" 15 "a message for every injection attempt"
ok "every one well formed" well_formed
ok "no Bcc, Cc or second Subject/From/To header in any" jq -e -s 'all(.[]; (.headers | index("Bcc")) == null and
	(.headers | index("Cc")) == null and ([.headers[] | select(. == "Subject")] | length) == 1 and
	([.headers[] | select(. == "From")] | length) == 1 and ([.headers[] | select(. == "To")] | length) == 1)' "$T/m.json"
is "$(q .to | sort -u)" "admin@example.com" "To: only the configured recipient in all"
is "$(q .from | sort -u)" "qspipe@example.com" "From: only the configured sender in all"
is "$(q '.parts | length' | sort -u)" 3 "no part forged by a boundary in a value"
like "$(q -s '.[6].subject')" "^Reload failed: x Bcc: evil@attacker.example Subject: forged" \
	"the injected text stays in the subject, flattened"
headers() { awk '/^From qsmail/ { h = 1; next } /^\r?$/ { h = 0 } h' "$T/m.mbox"; }
ok "nothing of it in a header of its own" not grep -qa '^Bcc:\|^Cc:\|^Subject: forged' <(headers)
like "$(q -s '.[14].text')" "Bcc: evil@attacker.example" "a value's line breaks stay in the text body"
ok "no line of the output starts with a dot (SMTP end of data)" not grep -qa '^\.' "$T/m.mbox"

# ---- 8-bit, invalid UTF-8, HTML escaping ----
mev task_failed 'task_name=Åre ärlig 日本 \xff\xfe end' 'app_name=Vente été' \
	'message=<script>alert("x")</script> & ok \x01' >"$T/u8.tsv"
conf
dry "$T/u8.tsv"
ok "8-bit and invalid UTF-8: well formed, 7-bit on the wire" well_formed
is "$(q .subject)" "Reload failed: Åre ärlig 日本 �� end (Vente été) on sense1" \
	"subject: UTF-8 as encoded words, invalid bytes as U+FFFD"
like "$(q .text)" "Task: +Åre ärlig 日本 �� end" "text body in UTF-8"
like "$(q .html)" '&lt;script&gt;alert\(&quot;x&quot;\)&lt;/script&gt; &amp; ok �' "HTML body escaped, control byte replaced"
ok "no raw <script> in the HTML" not jq -e '.html | contains("<script>")' "$T/m.json"
ok "the encoded subject is RFC 2047 in the raw message" grep -q '^Subject: =?UTF-8?B?' "$T/m.mbox"

# ---- a 1 MB message is cut with a note ----
big=$(head -c 1000000 /dev/zero | tr '\0' 'a')
mev task_failed "message=$big" "task_name=$(head -c 5000 /dev/zero | tr '\0' 'T')" >"$T/big.tsv"
dry "$T/big.tsv"
ok "1 MB message: well formed" well_formed
like "$(q .text)" "cut: the first 65536 of 1000000 bytes shown" "the message is cut with a note"
is "$(q '.size < 400000')" true "the whole mail stays small ($(q .size) bytes)"
is "$(q '.subject | length < 260')" true "a 5000-byte task name makes a bounded subject"

# ---- enrichment attributes ----
mev task_failed '+exec_node=sense2' '+exec_status=FinishedFail' '+exec_duration_ms=3723000' \
	'+app_owner=LAB\\bob' '+app_owner_name=Bob Builder' '+app_owner_email=bob@example.com' \
	'+script_log_tail=12:00:01 Error: Field not found\r\n12:00:02 Execution failed' \
	'+task_tags=finance' >"$T/enr.tsv"
dry "$T/enr.tsv"
t=$(q .text)
like "$t" "Node: +sense2" "node shown"
like "$t" "Duration: +1 h 02 min 03 s" "duration shown"
like "$t" 'Owner: +Bob Builder \(LAB\\bob\) <bob@example.com>' "owner shown"
like "$t" "Script log \\(last lines\\):" "script log tail in its own block"
like "$t" "Field not found" "script log tail text"
like "$t" "task_tags: +finance" "other attributes listed by name"
like "$(q .html)" "<pre[^>]*>12:00:01 Error: Field not found" "script log tail preformatted in HTML"

# ---- templates from files ----
printf '[%s] {task_name} failed on {exec_node}\n' ALERT >"$T/subject.txt"
printf 'Task {task_name}\nNode {exec_node}\nMessage:\n{message}\n' >"$T/text.txt"
printf '<p>Task <b>{task_name}</b> on {exec_node}</p>\n' >"$T/html.txt"
printf 'Aborted: {task_name}\n' >"$T/subject-aborted.txt"
conf "subject_file = $T/subject.txt" "text_file = $T/text.txt" "html_file = $T/html.txt" \
	"subject_file.task_aborted = $T/subject-aborted.txt"
{ mev task_failed 'task_name=A<b>&\r\nBcc: x@y' +exec_node=n1; mev task_aborted; } >"$T/tp.tsv"
dry "$T/tp.tsv"
ok "templated messages well formed" well_formed
is "$(q -s '.[0].subject')" "[ALERT] A<b>& Bcc: x@y failed on n1" "subject template, attribute placeholder"
is "$(q -s '.[1].subject')" "Aborted: Reload Sales" "subject_file.EVENT over subject_file"
like "$(q -s '.[0].text')" "Node n1" "text template"
like "$(q -s '.[0].html')" "<p>Task <b>A&lt;b&gt;&amp;\$" "HTML template, values escaped"
conf "text_file = $T/text.txt"
dry "$T/tp.tsv"
like "$(q -s '.[0].html')" "<pre[^>]*>Task A&lt;b&gt;&amp;" "a text template alone gives the HTML part, preformatted"
printf '{nosuchfield_x} {tsk_name}\n' >"$T/bad.txt"
conf "subject_file = $T/bad.txt"
qsmail -n -c "$T/q.ini" </dev/null 2>"$T/err"
is $? 2 "a template with an unknown field: exit 2"
like "$(cat "$T/err")" "q.ini:4: .*bad.txt: unknown field" "named with file and line"

# ---- recipients ----
conf "route = task=*sales* sales@example.com sales2@example.com" "route = app=Fin?nce finance@example.com" \
	"route = host=SENSE[0-9] ops@example.com" "to.task_aborted = aborts@example.com"
{ mev task_failed; mev task_failed 'app_name=FINANCE' 'task_name=Other' host=other; mev task_aborted; } >"$T/r.tsv"
dry "$T/r.tsv"
is "$(q .to | tr '\n' '|')" \
	"admin@example.com, ops@example.com, sales2@example.com, sales@example.com|admin@example.com, finance@example.com|aborts@example.com, ops@example.com, sales2@example.com, sales@example.com|" \
	"routes by task, app and host (case-insensitive globs); to.EVENT over to"

conf "to_owner = yes" "to_property = AlertEmail" "skip_property = DisableAlert=yes"
{
	mev task_failed '+app_owner_email=Bob@Example.com'
	mev task_failed '+task_props=Owner=x\nAlertEmail=a@example.com, b@example.com\nALERTEMAIL=c@example.com'
	mev task_failed '+task_props=DisableAlert=Yes' '+app_owner_email=bob@example.com'
	mev task_failed '+app_owner_email=evil@x.example\r\nBcc: y@z.example'
	mev task_failed '+app_owner_email=admin@example.com'
} >"$T/o.tsv"
dry "$T/o.tsv"
is "$(q .to | tr '\n' '|')" \
	"admin@example.com, Bob@Example.com|a@example.com, admin@example.com, b@example.com, c@example.com|admin@example.com|admin@example.com|" \
	"to_owner, to_property (every value, any case), skip_property, a bad owner address dropped, duplicates merged"
like "$(cat "$T/m.err")" "app_owner_email: not an address, skipped: evil@x.example.r.nBcc" "the bad address is said"

conf
sed -i '/^to = /d' "$T/q.ini"
echo "to_owner = yes" >>"$T/q.ini"
mev task_failed >"$T/none.tsv"
qsmail -n -c "$T/q.ini" "$T/none.tsv" >"$T/m.mbox" 2>"$T/err"
is "$(grep -c '^From qsmail' "$T/m.mbox")" 0 "an event with no recipient at all: no mail"
like "$(cat "$T/err")" "undeliverable: no recipient" "and it is said"

# ---- config errors ----
bad() {
	conf "$1"
	qsmail -n -c "$T/q.ini" </dev/null 2>"$T/err"
	local st=$?
	is "$st" 2 "config: $1: exit 2"
	like "$(cat "$T/err")" "q\\.ini:4: .*$2" "config: $1: named with file and line"
}
bad "colour = red" "unknown key"
bad "to = not-an-address" "not an address"
bad "to = a@b.example evil@x.example>" "not an address"
bad "route = user=alice a@b.example" "not task=GLOB"
bad "route = task=[z-a] a@b.example" "reversed range"
bad "route = task=x" "no address"
bad "tls = maybe" "not starttls or none"
bad "rate = 0" "not a number"
bad "digest_seconds = -1" "not seconds"
bad "skip_property = novalue" "not NAME=VALUE"
bad "qmc_url = javascript:alert(1)" "not an http"
bad "to.nosuch = a@b.example" "unknown event name"
printf '[qsmail]\nto = a@example.com\n' >"$T/q.ini"
qsmail -n -c "$T/q.ini" </dev/null 2>"$T/err"
is $? 2 "no from: exit 2"
printf '[qsmail]\nfrom = a@example.com\n' >"$T/q.ini"
qsmail -n -c "$T/q.ini" </dev/null 2>"$T/err"
is $? 2 "no recipient of any kind: exit 2"
like "$(cat "$T/err")" "no recipients for task_failed" "and it says so"
printf '[qsmail]\nfrom = a@example.com\nto = b@example.com\nsmtp = smtp://user:secret@127.0.0.1:1\n' >"$T/q.ini"
qsmail -c "$T/q.ini" </dev/null 2>"$T/err"
is $? 2 "user info in the smtp URL: exit 2"
ok "the password in it never printed" not grep -q secret "$T/err"
printf '[qsmail]\nfrom = a@example.com\nto = b@example.com\nsmtp = https://127.0.0.1:1\n' >"$T/q.ini"
qsmail -c "$T/q.ini" </dev/null 2>"$T/err"
is $? 2 "an http URL for smtp: exit 2"
printf '[qsmail]\nfrom = a@example.com\nto = b@example.com\nsmtp = smtps://127.0.0.1:1\ntls = none\n' >"$T/q.ini"
qsmail -c "$T/q.ini" </dev/null 2>"$T/err"
is $? 2 "smtps with tls = none: exit 2"
qsmail --help >"$T/help"
like "$(cat "$T/help")" "qsmail\\(1\\)" "--help names the man page"

done_testing
