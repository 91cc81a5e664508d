#!/bin/bash
# qsmail against a real SMTP server (t/smtpd.py, aiosmtpd on 127.0.0.1): each event kind,
# recipients and routes, one connection reused, digests, the rate, 4xx and 5xx per recipient
# and per message, 421, the server down then up (with and without a restart and a spool),
# SIGTERM with mail queued, -t. Every message received is parsed with Python's email package.
. "$(dirname "$0")/lib.sh"
. "$top/t/mail.sh"

start_smtpd --script "$T/script"
SMTP_PORT_FIXED=$SMTP_PORT	# restarts keep the port qsmail is configured with
: >"$T/script"

conf() {
	{
		echo "[qsmail]"
		echo "smtp = smtp://127.0.0.1:$SMTP_PORT"
		echo "tls = none"
		echo "from = qspipe@example.com"
		echo "to = admin@example.com"
		echo "dead_letter = $T/dead"
		echo "backoff_max = 2"
		printf '%s\n' "$@"
	} >"$T/q.ini"
}
# reset: a fresh mailbox, script and dead-letter file.
jqe() { jq -e "$@" >/dev/null; }
reset() {
	rm -f "$SMTP_DIR"/*.eml "$T/dead"
	: >"$SMTP_DIR/log"
	: >"$T/script"
}
# feed: qsmail reading the FIFO $T/in (held open on fd 3), PID in $QPID, stderr in $T/err.
feed() {
	rm -f "$T/in"
	mkfifo "$T/in"
	exec 3<>"$T/in"	# read-write: opening it does not wait for the other end
	# (a background command's stdin is /dev/null unless its own redirection says otherwise)
	bg sh -c 'f=$1; shift; exec qsmail "$@" <"$f"' sh "$T/in" -c "$T/q.ini" "$@" \
		>"$T/out" 2>"$T/err" 3>&-
	QPID=$BG_PID
}
# events_in: the events the received mails carry (a digest counts its own).
events_in() { all_mail | jq -s '[.[] | .exec_ids | length] | add // 0'; }
dead_lines() { if [ -f "$T/dead" ]; then grep -vc '^#' "$T/dead" || true; else echo 0; fi; }

# ---- each event kind, to its own address; one connection for all ----
reset
kinds="session_start session_stop connection_open connection_close task_failed task_aborted
task_succeeded task_distributed log qix_perf unknown"
lines=()
for k in $kinds; do lines+=("to.$k = $k@example.com"); done
conf "digest_seconds = 0" "${lines[@]}"
: >"$T/all.tsv"
for k in $kinds; do mev "$k" "exec_id=id-$k" >>"$T/all.tsv"; done
qsmail -c "$T/q.ini" -e "$(echo $kinds | tr ' ' ,)" "$T/all.tsv" 2>"$T/err"
is $? 0 "every kind: exit 0 once all is sent"
is "$(received)" 11 "11 mails received"
all_mail >"$T/m.json"
ok "each one parses without defects, 7-bit, short lines" jqe -s 'length == 11 and all(.[]; .defects == [] and
	.eight_bit == false and .bare == false and .max_line <= 78)' "$T/m.json"
ok "each kind went to its to.EVENT address only" jqe -s 'all(.[]; .to == (.exec_ids[0] | ltrimstr("id-")) + "@example.com")' "$T/m.json"
is "$(smtp_log | jq -r 'select(.event == "message") | .rcpt[0]' | sort | tr '\n' ' ')" \
	"$(for k in $kinds; do echo "$k@example.com"; done | sort | tr '\n' ' ')" "envelope recipients as the To: headers"
is "$(smtp_log | jq -r 'select(.event == "message") | .conn' | sort -u | wc -l)" 1 "all 11 over one connection"
is "$(smtp_log | jq -r 'select(.event == "message") | .from' | sort -u)" qspipe@example.com "envelope sender"
ok "no warning for plain SMTP to the loopback" not grep -q unencrypted "$T/err"

# ---- routes and digests ----
reset
conf "digest_seconds = 2" "route = task=Fin* finance@example.com" "route = host=sense2 ops@example.com"
feed
t0=$(now_ms)
for i in 1 2 3 4 5; do mev task_failed "exec_id=s$i" "task_name=Sales $i" >&3; done
mev task_failed exec_id=f1 task_name=Finance >&3
mev task_aborted exec_id=o1 host=sense2 >&3
wait_for 10 test "$(received)" -ge 3
sleep 0.5
all_mail >"$T/m.json"
is "$(received)" 3 "7 events for 3 recipient sets: 3 mails"
ok "not before the digest window ended" test $(($(now_ms) - t0)) -ge 1900
is "$(jq -r 'select(.exec_ids | length == 5) | .subject' "$T/m.json")" \
	"5 Qlik Sense alerts: Reload failed: Sales 1 (Sales) on sense1, and 4 more" "a digest of 5, counted in the subject"
like "$(jq -r 'select(.exec_ids | length == 5) | .text' "$T/m.json")" "==== 5 of 5: Reload failed: Sales 5" "the digest lists every event"
is "$(jq -r 'select(.exec_ids == ["f1"]) | .to' "$T/m.json")" "admin@example.com, finance@example.com" "route by task"
is "$(jq -r 'select(.exec_ids == ["o1"]) | .to' "$T/m.json")" "admin@example.com, ops@example.com" "route by host"
exec 3>&-
wait "$QPID"
is $? 0 "exit 0 at the end of input"

# ---- the rate: past it, events wait (nothing dropped) ----
reset
conf "digest_seconds = 0" "rate = 2"
feed -S "$T/spool"
for i in 1 2 3 4 5 6; do mev task_failed "exec_id=r$i" >&3; sleep 0.3; done
wait_for 5 test "$(received)" -ge 2
sleep 1
is "$(received)" 2 "rate = 2: two mails in the first minute"
# (events that came while a mail was going joined the next one: the two mails hold 2 to 6)
held=$((6 - $(events_in)))
kill -USR1 "$QPID"
wait_for 5 grep -q "held=$held" "$T/err"
like "$(cat "$T/err")" "held=$held " "the $held others are held"
ok "some are held" test "$held" -gt 0
stop_pid "$QPID"
like "$(cat "$T/err")" "$held events kept in spool" "SIGTERM: what the rate holds goes to the spool"
conf "digest_seconds = 0" "rate = 2"
qsmail -c "$T/q.ini" -S "$T/spool" </dev/null 2>"$T/err2"
is "$(received)" 3 "the next run sends them, as one digest"
is "$(events_in)" 6 "all 6 events delivered, none dropped"

# ---- a recipient refused for good (550), one deferred (451) ----
reset
conf "digest_seconds = 0" "to = admin@example.com bad@example.com later@example.com"
cat >"$T/script" <<'EOF'
rcpt:bad@example.com 550:5.1.1\x20no\x20such\x20user
rcpt:later@example.com 451:4.2.0\x20try\x20later ok
EOF
mev task_failed exec_id=p1 >"$T/p.tsv"
qsmail -c "$T/q.ini" "$T/p.tsv" 2>"$T/err"
is "$(received)" 2 "two deliveries: the first to admin, the retry to later"
is "$(smtp_log | jq -c 'select(.event == "message") | .rcpt' | tr '\n' ' ')" \
	'["admin@example.com"] ["later@example.com"] ' "the retry goes to the deferred recipient alone"
all_mail >"$T/m.json"
is "$(jq -r .message_id "$T/m.json" | sort -u | wc -l)" 1 "the same message both times"
is "$(dead_lines)" 1 "one dead letter: bad's copy"
like "$(grep '^#' "$T/dead")" "to bad@example.com: 550 5.1.1 no such user" "with the server's reply"
like "$(cat "$T/err")" "refused recipient bad@example.com for good: 550 5.1.1 no such user" "said on stderr"

# ---- the message refused (554 after DATA): dead-lettered once ----
reset
conf "digest_seconds = 1"
echo 'body 554:5.6.0\x20content\x20rejected' >"$T/script"
{ mev task_failed exec_id=d1; mev task_failed exec_id=d2; } >"$T/d.tsv"
qsmail -c "$T/q.ini" "$T/d.tsv" 2>"$T/err"
is "$(received)" 0 "nothing accepted"
is "$(dead_lines)" 2 "each event of the refused digest dead-lettered once"
like "$(grep '^#' "$T/dead" | head -1)" "554 5.6.0 content rejected" "with the reply"
is "$(grep -c 'refused a mail of 2 events for good' "$T/err")" 1 "reported once on stderr"

# ---- 421 on MAIL and 451 after DATA: retried until accepted ----
reset
conf "digest_seconds = 0"
printf 'mail 421:4.3.2\\x20shutting\\x20down ok\nbody 451:4.3.0\\x20busy ok\n' >"$T/script"
mev task_failed exec_id=t1 >"$T/t.tsv"
qsmail -c "$T/q.ini" "$T/t.tsv" 2>"$T/err"
is "$(received)" 1 "421 then 451: delivered once in the end"
is "$(dead_lines)" 0 "nothing dead-lettered"
like "$(cat "$T/err")" "retrying in" "the retries are said"

# ---- the server down, then up: retried with backoff, nothing lost ----
reset
stop_pid "$SMTP_PID"
conf "digest_seconds = 0"
feed
for i in 1 2 3; do mev task_failed "exec_id=u$i" >&3; done
sleep 2
start_smtpd --script "$T/script"
wait_for 15 test "$(events_in)" -ge 3
is "$(events_in)" 3 "server up again: all 3 events delivered"
like "$(cat "$T/err")" "Couldn't connect to server.*retrying" "the failures were said"
exec 3>&-
wait "$QPID"

# ---- down, SIGTERM with mail queued, a spool, up, next run: nothing lost ----
reset
stop_pid "$SMTP_PID"
conf "digest_seconds = 0"
feed -S "$T/spool2"
for i in 1 2 3 4; do mev task_failed "exec_id=v$i" >&3; done
sleep 1.5
stop_pid "$QPID"
like "$(cat "$T/err")" "4 events kept in spool" "SIGTERM while the server is down: kept in the spool"
start_smtpd --script "$T/script"
qsmail -c "$T/q.ini" -S "$T/spool2" </dev/null 2>"$T/err"
is "$(events_in)" 4 "the next run delivers all 4"

# ---- SIGTERM with a digest gathering: it goes at once ----
reset
conf "digest_seconds = 60"
feed
for i in 1 2 3; do mev task_failed "exec_id=w$i" >&3; done
sleep 0.5
is "$(received)" 0 "a 60 s digest is gathering"
t0=$(now_ms)
kill -TERM "$QPID"
wait "$QPID"
is $? 0 "SIGTERM: exit 0"
is "$(events_in)" 3 "the gathered digest was sent before exit"
ok "promptly ($(($(now_ms) - t0)) ms)" test $(($(now_ms) - t0)) -lt 4000

# ---- -t passes every line through at once ----
reset
conf "digest_seconds = 60"
feed -t
mev task_failed exec_id=x1 >&3
mev session_start exec_id=x2 >&3
wait_for 5 test "$(lines_in "$T/out")" -ge 2
is "$(lines_in "$T/out")" 2 "-t: both lines passed through before any mail"
exec 3>&-
wait "$QPID"
is "$(events_in)" 1 "then the task_failed mail went at the end of input"

done_testing
