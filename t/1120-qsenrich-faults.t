#!/bin/bash
# qsenrich when the QRS misbehaves: 500 then 200, 500 throughout, a hang, malformed JSON, a
# wrong client certificate, the QRS down, 403 for the user, and back again; an execution not
# yet the event's (stale, not found, still running) matched within wait_seconds. Every event
# is passed on, in time, with enrich_error saying what is missing; trouble is said once.
. "$(dirname "$0")/lib.sh"
. "$top/t/qrs.sh"

# run NAME [EVENTS...]: qsenrich -c NAME.ini with events from stdin, output NAME.out/.err, the
# time it took in $elapsed (ms).
run() {
	local name=$1 start
	start=$(now_ms)
	qsenrich -c "$T/$name.ini" >"$T/$name.out" 2>"$T/$name.err"
	elapsed=$(($(now_ms) - start))
}
ev() { task_event 2026-11-20T23:41:08.000000Z "$@"; }

# 500 twice, then the answer: retried, complete.
start_qrsd r
echo "reloadtask 500 500 200" >"$T/r.script"
qrs_conf "$T/r.ini" "wait_seconds = 5"
run r < <(ev)
is "$(requests r reloadtask)" 3 "the task asked three times"
is "$(attr "$T/r.out" 1 enrich_error)" "<absent>" "complete after the 500s"
is "$(attr "$T/r.out" 1 task_tags)" "Nightly
Finance" "with the task's facts"

# 500 throughout for the app: passed at wait_seconds with the rest.
start_qrsd a
echo "app 500" >"$T/a.script"
qrs_conf "$T/a.ini" "wait_seconds = 2"
run a < <(ev)
like "$(attr "$T/a.out" 1 enrich_error)" "^app: HTTP 500 \([0-9]+ tries\)$" "enrich_error: the app's 500"
is "$(attr "$T/a.out" 1 exec_status) $(attr "$T/a.out" 1 script_log_rows)" "FinishedFail 10" "the rest learned"
is "$(attr "$T/a.out" 1 app_owner)" "<absent>" "nothing from the app"
ok "passed near wait_seconds (${elapsed} ms)" test "$elapsed" -ge 1500 -a "$elapsed" -lt 4000

# A hang: the event does not wait for it past wait_seconds.
start_qrsd h
echo "reloadtask hang:30" >"$T/h.script"
qrs_conf "$T/h.ini" "wait_seconds = 2"
run h < <(ev)
is "$(attr "$T/h.out" 1 enrich_error)" "task: no answer in wait_seconds (2 s)" "enrich_error names the hanging request"
is "$(attr "$T/h.out" 1 exec_status)" FinishedFail "the execution from its own request"
ok "passed at wait_seconds (${elapsed} ms), not after the hang" test "$elapsed" -ge 1800 -a "$elapsed" -lt 4000
like "$(cat "$T/h.err")" "QRS https://localhost:[0-9]+/\.\.\.: no answer in wait_seconds" "said on stderr"

# Malformed JSON.
start_qrsd m
printf 'reloadtask bad\nuser bad\n' >"$T/m.script"
qrs_conf "$T/m.ini" "wait_seconds = 3"
run m < <(ev)
like "$(attr "$T/m.out" 1 enrich_error)" "^task: malformed JSON from the QRS \([a-z ]+ at byte [0-9]+\); app owner: malformed JSON from the QRS \([a-z ]+ at byte [0-9]+\)$" \
	"enrich_error: the malformed answers, by request"
is "$(attr "$T/m.out" 1 app_owner) $(attr "$T/m.out" 1 app_owner_email)" 'LAB\maria <absent>' "what the good answers said is kept"
ok "at once, no retries of a malformed answer (${elapsed} ms; retries: 2.75 s)" test "$elapsed" -lt 2500

# A wrong client certificate (another CA): refused; said once for three events.
start_qrsd w
qrs_conf "$T/w.ini" "wait_seconds = 2"
sed -i "s|^cert = .*|cert = $T/certs/other.pem|; s|^key = .*|key = $T/certs/other_key.pem|" "$T/w.ini"
run w < <({ ev; ev event=task_aborted; ev exec_id=0f1e2d3c-4b5a-4968-8776-655443322110; })
is "$(lines_in "$T/w.out")" 3 "every event passed on"
is "$(cut -f1-16 "$T/w.out" | sort)" "$({ ev; ev event=task_aborted; ev exec_id=0f1e2d3c-4b5a-4968-8776-655443322110; } | sort)" "unchanged but for attributes"
ok "each with enrich_error" test "$(grep -c 'enrich_error=task: no answer' "$T/w.out")" -eq 3
is "$(grep -c 'QRS https' "$T/w.err")" 1 "said once on stderr"
ok "the double refused the certificate in the handshake" grep -q '"kind": "tls"' "$T/w.log"
is "$(requests w reloadtask)" 0 "no request got through"

# The QRS down (nothing listening): said once, events pass.
port=$(free_port)
QRS_URL_SAVED=$QRS_URL
QRS_URL="https://localhost:$port"
qrs_conf "$T/down.ini" "wait_seconds = 1"
QRS_URL=$QRS_URL_SAVED
run down < <({ ev; ev; })
is "$(grep -c 'enrich_error=task: no answer: ' "$T/down.out")" 2 "both events passed with why"
like "$(cat "$T/down.err")" "QRS https://localhost:$port/\.\.\.: Couldn't connect to server; events pass on with enrich_error until it answers \(said once\)" \
	"a clear message"
is "$(grep -c 'QRS https' "$T/down.err")" 1 "once"

# 403 (the user is not allowed), then the QRS accepting again: said once, and that it is over.
start_qrsd f --user "UserDirectory=LAB; UserId=other"
qrs_conf "$T/f.ini" "wait_seconds = 3"
mkfifo "$T/f.in"
stage ef "$T/f.in" "$T/f.out" qsenrich -c "$T/f.ini"
exec 7>"$T/f.in"
ev >&7
more_lines() { [ "$(lines_in "$1")" -ge "$2" ]; }
wait_for 10 more_lines "$T/f.out" 1
like "$(attr "$T/f.out" 1 enrich_error)" "^task: HTTP 403.*app: HTTP 403" "403: enrich_error"
like "$(cat "$T/ef.err")" "HTTP 403: refused \(check qrs_user and the certificate\)" "said with a hint"
stop_pid "$QRS_PID"
start_qrsd f2
sed -i "s|^qrs = .*|qrs = $QRS_URL|" "$T/f.ini"
kill -HUP "$ef_pid" 2>/dev/null
pid=$(pgrep -P "$ef_pid" qsenrich || echo "$ef_pid")
kill -HUP "$pid"
wait_for 5 grep -q "reload:" "$T/ef.err"
ev exec_id=0f1e2d3c-4b5a-4968-8776-655443322110 >&7
wait_for 10 more_lines "$T/f.out" 2
is "$(attr "$T/f.out" 2 enrich_error)" "<absent>" "after a reload to a QRS that accepts: enriched"
like "$(cat "$T/ef.err")" "the QRS answers again" "and the trouble said over"
exec 7>&-
wait_for 10 gone "$ef_pid"

# The task's last execution is an older one at first (no exec_id in the event): asked again.
start_qrsd s
echo "reloadtask stale stale 200" >"$T/s.script"
qrs_conf "$T/s.ini" "wait_seconds = 5"
run s < <(ev exec_id=)
is "$(requests s reloadtask) $(requests s executionresult)" "3 0" "without exec_id: the task's last execution, asked until it is this one"
is "$(attr "$T/s.out" 1 exec_stop) $(attr "$T/s.out" 1 enrich_error)" "2026-11-20T23:41:07.101Z <absent>" "the right execution"
echo "reloadtask stale" >"$T/s.script"
qrs_conf "$T/s.ini" "wait_seconds = 1.5"
run s < <(ev exec_id=)
is "$(attr "$T/s.out" 1 enrich_error)" "execution: the task's last execution is not this event's" "never this one: said"
is "$(attr "$T/s.out" 1 exec_status)" "<absent>" "and no other execution's facts"
is "$(attr "$T/s.out" 1 task_tags | head -1)" "Nightly" "the task's own facts all the same"

# By exec_id: not found at first, then still running, then ended.
start_qrsd x
echo "executionresult empty running 200" >"$T/x.script"
echo "reloadtask stale" >>"$T/x.script"
qrs_conf "$T/x.ini" "wait_seconds = 5"
run x < <(ev)
is "$(requests x executionresult)" 3 "asked by executionID until ended"
is "$(attr "$T/x.out" 1 exec_status) $(attr "$T/x.out" 1 script_log_rows)" "FinishedFail 10" "then the log"
is "$(attr "$T/x.out" 1 enrich_error)" "<absent>" "complete"
echo "executionresult running" >"$T/x.script"
qrs_conf "$T/x.ini" "wait_seconds = 1.5"
run x < <(ev)
is "$(attr "$T/x.out" 1 enrich_error)" "execution: not ended (Started)" "still running at wait_seconds: said"
is "$(attr "$T/x.out" 1 exec_status)" "Started" "with its status as it was"
is "$(attr "$T/x.out" 1 script_log_rows)" "<absent>" "no log of an execution not ended"
# executionID not known to the QRS: the task's last execution, matched by its stop time.
echo "executionresult empty" >"$T/x.script"
run x < <(ev)
is "$(attr "$T/x.out" 1 exec_stop) $(attr "$T/x.out" 1 enrich_error)" "2026-11-20T23:41:07.101Z <absent>" "matched by time when the id is not found"

# A client key protected by a password (as a QMC export with one): key_password_file, or
# QSENRICH_KEY_PASSWORD; without it, a clear message. The password is never printed.
openssl pkey -in "$T/certs/client_key.pem" -aes256 -passout pass:Pa55-s3cret -out "$T/enc_key.pem" 2>/dev/null
echo Pa55-s3cret >"$T/keypass"
chmod 600 "$T/keypass"
start_qrsd k
qrs_conf "$T/k.ini" "key_password_file = $T/keypass" "wait_seconds = 2"
sed -i "s|^key = .*|key = $T/enc_key.pem|" "$T/k.ini"
run k < <(ev)
is "$(attr "$T/k.out" 1 exec_status) $(attr "$T/k.out" 1 enrich_error)" "FinishedFail <absent>" "key_password_file opens the key"
grep -v key_password "$T/k.ini" >"$T/k2.ini"
QSENRICH_KEY_PASSWORD=Pa55-s3cret qsenrich -c "$T/k2.ini" < <(ev) >"$T/k2.out" 2>"$T/k2.err"
is "$(attr "$T/k2.out" 1 enrich_error)" "<absent>" "QSENRICH_KEY_PASSWORD opens it"
cp "$T/k2.ini" "$T/k3.ini"
run k3 < <(ev)
like "$(attr "$T/k3.out" 1 enrich_error)" "^task: no answer: .*\(check cert, key and ca\)" "without the password: enrich_error says what to check"
ok "and stderr once" test "$(grep -c 'QRS https' "$T/k3.err")" -eq 1
ok "the password printed nowhere" not grep -rq Pa55-s3cret "$T/k.err" "$T/k2.err" "$T/k3.err" "$T/k.out" "$T/k2.out" "$T/k3.out"

done_testing
