#!/usr/bin/env bash
# qsinflux against an HTTP double: the request shapes of api = v1, v2 and v3 (paths, query,
# credentials, gzip), and the answers: 400 partial writes dead-letter only the rejected points,
# 413 splits, 415 turns gzip off, 429 pauses, 5xx and refused connections are retried, 401 is
# said and keeps the events; config errors exit 2.
. "$(dirname "$0")/lib.sh"

# events FROM TO [WORD]: numbered task_failed events (exec_id N, time N µs); WORD in the
# message of every 10th
events() {
	/usr/bin/python3 - "$@" <<'PY'
import sys
a, b = int(sys.argv[1]), int(sys.argv[2])
word = sys.argv[3] if len(sys.argv) > 3 else ""
for i in range(a, b + 1):
    msg = "failed %s" % (word if word and i % 10 == 0 else "x" * 40)
    sys.stdout.write("2026-11-20T23:%02d:%02d.%06dZ\ttask_failed\tsense1\tLAB\tsa\t\t\t\tReload %d\t%d\tERROR\t\t\t\t%s\t\n"
                     % (i // 60000000 % 60, i // 1000000 % 60, i % 1000000, i, i, msg))
PY
}
# start_double NAME: the double with $T/NAME.script, log and points; port in $PORT
start_double() {
	rm -f "$T/$1.port"
	: >"$T/$1.log"
	: >"$T/$1.points"
	touch "$T/$1.script"
	bg /usr/bin/python3 "$top/t/influxdouble.py" --port-file "$T/$1.port" --log "$T/$1.log" \
		--points "$T/$1.points" --script "$T/$1.script"
	DOUBLE_PID=$BG_PID
	wait_for 10 test -s "$T/$1.port" || { echo "Bail out! the double did not start"; exit 1; }
	PORT=$(cat "$T/$1.port")
}
# ids FILE: the distinct execution ids in the points file
ids() { grep -o 'execution_id="[0-9]*"' "$1" | tr -dc '0-9\n' | sort -un; }
reqs() { jq -r "$2" "$T/$1.log"; }

# --- api = v2: path, org and bucket URL-encoded, the token from a file, gzip
start_double v2
printf 's3cret-token\n' >"$T/token"
chmod 600 "$T/token"
printf '[qsinflux]\nurl = http://127.0.0.1:%s/\napi = v2\norg = my org\nbucket = qs/b\ntoken_file = %s\nbatch_wait = 0.1\n' \
	"$PORT" "$T/token" >"$T/v2.ini"
events 1 300 | qsinflux -c "$T/v2.ini" 2>"$T/v2.err"
is "$?" 0 "v2: exit 0"
is "$(reqs v2 '.path' | sort -u)" "/api/v2/write?org=my%20org&bucket=qs%2Fb&precision=ns" "v2: path and query"
is "$(reqs v2 '.headers.authorization' | sort -u)" "Token s3cret-token" "v2: Authorization: Token from token_file"
is "$(reqs v2 '.gzip' | sort -u)" "true" "v2: the body gzipped"
is "$(reqs v2 '.headers["content-type"]' | sort -u)" "text/plain; charset=utf-8" "v2: content type"
is "$(ids "$T/v2.points" | wc -l)" 300 "v2: all 300 points"
like "$(grep -m1 . "$T/v2.points")" '^reload_task_failed,host=sense1,user=LAB\\sa,task_name=Reload\\ 1,log_level=ERROR execution_id="1",log_message="failed x+" 1795215600000001[0-9]{3}$' "v2: the point"
stop_pid "$DOUBLE_PID"

# --- api = v3: /api/v3/write_lp, Bearer from the environment, Butler SOS's v3 field names
start_double v3
printf '[qsinflux]\nurl = http://127.0.0.1:%s/influx\napi = v3\ndb = qs\ngzip = no\nbatch_wait = 0.1\n' "$PORT" >"$T/v3.ini"
{ events 1 2; event_line 2026-11-20T23:52:15.123456Z session_start host=s1 user_dir=LAB user_id=alice app_id=a1; } |
	QSINFLUX_TOKEN=env-token qsinflux -c "$T/v3.ini" 2>"$T/v3.err"
is "$?" 0 "v3: exit 0"
is "$(reqs v3 '.path' | sort -u)" "/influx/api/v3/write_lp?db=qs&precision=nanosecond" "v3: path (under the url's own) and query"
is "$(reqs v3 '.headers.authorization' | sort -u)" "Bearer env-token" "v3: Authorization: Bearer from QSINFLUX_TOKEN"
is "$(reqs v3 '.gzip' | sort -u)" "false" "v3: gzip = no"
like "$(grep user_events "$T/v3.points")" ' userFull_field="LAB\\\\alice",userId_field="alice",appId_field="a1" ' \
	"v3: a field never shares a tag's name (Butler SOS's _field names)"
stop_pid "$DOUBLE_PID"

# --- api = v1: basic auth, db and rp
start_double v1
printf '[qsinflux]\nurl = http://127.0.0.1:%s\ndb = qs\nrp = two weeks\nusername = writer\npassword_file = %s\nbatch_wait = 0.1\n' \
	"$PORT" "$T/token" >"$T/v1.ini"
events 1 3 | qsinflux -c "$T/v1.ini" 2>"$T/v1.err"
is "$(reqs v1 '.path' | sort -u)" "/write?db=qs&rp=two%20weeks&precision=ns" "v1: path and query"
is "$(reqs v1 '.headers.authorization' | sort -u)" "Basic $(printf 'writer:s3cret-token' | base64)" "v1: basic auth"
is "$(reqs v1 '.gzip' | sort -u)" "false" "v1: a small body not gzipped"
stop_pid "$DOUBLE_PID"

# --- 400 partial writes: the rejected points dead-lettered with the reason, the rest written
start_double rej
echo 'reject REJECTME' >"$T/rej.script"
printf '[qsinflux]\nurl = http://127.0.0.1:%s\ndb = qs\nbatch_wait = 0.1\ndead_letter = %s\n' "$PORT" "$T/rej.dead" >"$T/rej.ini"
events 1 1000 REJECTME | qsinflux -c "$T/rej.ini" 2>"$T/rej.err"
is "$?" 0 "400: exit 0"
ids "$T/rej.points" >"$T/got"
seq 1 1000 | grep -v '0$' >"$T/want"
is_file "$T/got" "$T/want" "400: every point but the 100 rejected written"
is "$(grep -c '^# ' "$T/rej.dead")" 100 "400: the 100 rejected dead-lettered"
like "$(grep -m1 '^# ' "$T/rej.dead")" "qsinflux: HTTP 400 .*partial write: unable to parse .*REJECTME" "400: with the server's reason"
is "$(grep -v '^# ' "$T/rej.dead" | cut -f10 | sort -n | tr '\n' ' ')" "$(seq 10 10 1000 | tr '\n' ' ')" "400: the dead letters are the rejected events"
like "$(cat "$T/rej.err")" "dead=100 .*splits=" "400: counted"
stop_pid "$DOUBLE_PID"

# --- 413: split until the server takes it; nothing dead
start_double big
echo 'max_lines 30' >"$T/big.script"
printf '[qsinflux]\nurl = http://127.0.0.1:%s\ndb = qs\nbatch = 200\nbatch_wait = 0.1\ndead_letter = %s\n' "$PORT" "$T/big.dead" >"$T/big.ini"
events 1 1000 | qsinflux -c "$T/big.ini" 2>"$T/big.err"
is "$?" 0 "413: exit 0"
is "$(ids "$T/big.points" | wc -l)" 1000 "413: all 1000 written"
is "$(lines_in "$T/big.dead")" 0 "413: nothing dead-lettered"
is "$(reqs big 'select(.status == 204) | .lines' | sort -n | tail -1)" 25 "413: batches of 200 split to 25"
stop_pid "$DOUBLE_PID"

# --- 415: gzip refused, sent again without it, said once
start_double nogz
echo 'no_gzip' >"$T/nogz.script"
printf '[qsinflux]\nurl = http://127.0.0.1:%s\ndb = qs\nbatch = 100\nbatch_wait = 0.1\n' "$PORT" >"$T/nogz.ini"
events 1 500 | qsinflux -c "$T/nogz.ini" 2>"$T/nogz.err"
is "$(ids "$T/nogz.points" | wc -l)" 500 "415: all written"
is "$(grep -c 'does not take gzip' "$T/nogz.err")" 1 "415: said once"
is "$(reqs nogz 'select(.gzip) | .status' | sort | uniq -c | awk '{print $1}')" 1 "415: one gzip body only"
# gzip = yes against a server without it: a configuration to fix, events kept, nothing dead
printf '[qsinflux]\nurl = http://127.0.0.1:%s\ndb = qs\ngzip = yes\nbatch_wait = 0.1\ndrain_seconds = 2\ndead_letter = %s\n' \
	"$PORT" "$T/gzy.dead" >"$T/gzy.ini"
events 1 100 | qsinflux -c "$T/gzy.ini" 2>"$T/gzy.err"
like "$(cat "$T/gzy.err")" "does not take gzip \(HTTP 415\): set gzip = auto or no" "415 with gzip = yes: said"
is "$(lines_in "$T/gzy.dead")" 0 "415 with gzip = yes: nothing dead-lettered"
stop_pid "$DOUBLE_PID"

# --- 429 with Retry-After pauses; 500 is retried with backoff
start_double busy
echo 'answers 429:2 500' >"$T/busy.script"
printf '[qsinflux]\nurl = http://127.0.0.1:%s\ndb = qs\nbatch_wait = 0.1\n' "$PORT" >"$T/busy.ini"
t0=$(now_ms)
events 1 50 | qsinflux -c "$T/busy.ini" 2>"$T/busy.err"
t1=$(now_ms)
is "$(ids "$T/busy.points" | wc -l)" 50 "429, 500: all written in the end"
ok "429: Retry-After 2 s honoured ($((t1 - t0)) ms)" test $((t1 - t0)) -ge 2000
like "$(cat "$T/busy.err")" "HTTP 429.*pausing 2 s" "429: said"
like "$(cat "$T/busy.err")" "HTTP 500.*retrying with backoff" "500: said"
stop_pid "$DOUBLE_PID"

# --- 401: said clearly, events kept in the spool; the next run with the right token delivers
start_double auth
echo 'token right' >"$T/auth.script"
printf '[qsinflux]\nurl = http://127.0.0.1:%s\napi = v2\nbucket = b\ntoken = wrong\nbatch_wait = 0.1\nspool = %s\ndrain_seconds = 2\n' \
	"$PORT" "$T/spool" >"$T/auth.ini"
events 1 100 | qsinflux -c "$T/auth.ini" 2>"$T/auth.err"
like "$(cat "$T/auth.err")" "refused the credentials \(HTTP 401 .*check username and password, or token" "401: a clear message"
is "$(grep -c 'refused the credentials' "$T/auth.err")" 1 "401: said once"
like "$(cat "$T/auth.err")" "100 events kept in spool" "401: the events kept"
is "$(lines_in "$T/auth.points")" 0 "401: nothing written"
sed 's/^token = wrong/token = right/' "$T/auth.ini" >"$T/auth2.ini"
qsinflux -c "$T/auth2.ini" </dev/null 2>"$T/auth2.err"
is "$?" 0 "right token, from the spool: exit 0"
is "$(ids "$T/auth.points" | wc -l)" 100 "right token: the spooled events written"
ok "the token never printed" not grep -q 'wrong\|right' "$T/auth.err" "$T/auth2.err"
stop_pid "$DOUBLE_PID"

# --- nothing listening: retried with backoff, kept in the spool at SIGTERM
port=$(free_port)
mkfifo "$T/in"
exec 3<>"$T/in"
bg qsinflux -h "http://127.0.0.1:$port" -d qs -S "$T/spool2" "$T/in" 2>"$T/down.err" 3>&-
qs=$BG_PID
events 1 20 >&3
wait_for 10 grep -q 'retrying with backoff' "$T/down.err"
kill -TERM "$qs"
wait "$qs"
is "$?" 0 "refused connections, SIGTERM: exit 0"
exec 3>&-
like "$(cat "$T/down.err")" "http://127.0.0.1:$port/\.\.\.: .*retrying with backoff" "refused connections: said, the URL redacted"
like "$(cat "$T/down.err")" "20 events kept in spool" "refused connections: kept"

# --- a server that never answers: the writes in flight wait without spinning the CPU
port=$(free_port)
bg /usr/bin/python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); time.sleep(60)' "$port"
silent=$BG_PID
wait_for 5 tcp_open "$port"
mkfifo "$T/in3"
exec 3<>"$T/in3"
bg qsinflux -h "http://127.0.0.1:$port" -d qs "$T/in3" 2>"$T/silent.err" 3>&-
qs=$BG_PID
events 1 20000 >&3
sleep 3
ticks=$(awk '{ print $14 + $15 }' "/proc/$qs/stat")
ok "a silent server, every slot busy: qsinflux idles ($ticks ticks in 3 s)" test "$ticks" -lt 60
stop_pid "$qs"
exec 3>&-
stop_pid "$silent"

# --- configuration errors: exit 2, with the file and line
conf_err() {
	local desc=$1 expect=$2
	shift 2
	printf '[qsinflux]\n' >"$T/bad.ini"
	printf '%s\n' "$@" >>"$T/bad.ini"
	qsinflux -c "$T/bad.ini" </dev/null 2>"$T/bad.err"
	is "$?" 2 "config: $desc: exit 2"
	like "$(cat "$T/bad.err")" "$expect" "config: $desc: said"
}
conf_err "no url" "no url" "db = x"
conf_err "v2 without bucket" "needs a bucket" "url = http://localhost:8086" "api = v2"
conf_err "v1 with a token" "token is for api = v2 and v3" "url = http://localhost:8086" "db = x" "token = t"
conf_err "unknown key" "bad.ini:3: unknown key" "url = http://localhost:8086" "dbname = x"
conf_err "tag without =" "bad.ini:2: .*not KEY=VALUE" "tag = env"
conf_err "tag of InfluxDB's own" "bad.ini:2: .*InfluxDB's own" "tag = _env=x"
conf_err "tag time" "bad.ini:2: .*time is not a key" "tag = time=x"
conf_err "empty tag value" "bad.ini:2: .*empty value" "tag = env="
conf_err "unknown event" "bad.ini:2: .*unknown event" "measurement.sessions = x"
conf_err "measurement #" "bad.ini:2: .*may not start with #" "measurement.log = #x"
conf_err "not a url" "bad.ini:2: " "url = ftp://x"
conf_err "bad api" "bad.ini:2: .*not v1, v2 or v3" "api = v4"
conf_err "batch 0" "bad.ini:2: .*not a number" "batch = 0"
conf_err "password twice" "bad.ini:3: .*given twice" "password = a" "password_file = $T/token"
qsinflux -n -t </dev/null 2>/dev/null
is "$?" 2 "-n with -t: exit 2"
like "$(qsinflux --help)" "qsinflux\(1\)" "--help names the man page"

done_testing
