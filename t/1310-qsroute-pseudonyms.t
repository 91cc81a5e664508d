#!/usr/bin/env bash
# qsroute pseudonymize = NAMES: each named column or attribute leaves as the first 16 hex digits
# of HMAC-SHA256 under pseudonym_key_file's key (checked against openssl's own HMAC); the same
# value gives the same pseudonym, another key others; a DIR\id in the message goes too; rules
# still see the clear names; the key is never printed; every config mistake is exit 2.
. "$(dirname "$0")/lib.sh"

T0=2026-11-20T10:00:00.000000Z
# hmac KEY VALUE: what the pseudonym must be, by openssl(1), not by the code under test
hmac() { printf '%s' "$2" | openssl dgst -sha256 -hmac "$1" | sed 's/^.*= //' | cut -c1-16; }
conf() { printf '[qsroute]\npseudonymize = %s\npseudonym_key_file = %s\n' "$1" "$2" >"$T/q.ini"; }
key=k3y-$RANDOM-secret
printf '%s\n' "$key" >"$T/key"
chmod 600 "$T/key"

is "$(hmac key 'The quick brown fox jumps over the lazy dog')" f7bc83f430538424 "the reference HMAC is RFC 4231's"

# columns
conf "user_dir user_id" "$T/key"
{
	event_line $T0 session_start host=s1 user_dir=LAB user_id=alice 'message=Start session for user LAB\\alice'
	event_line $T0 session_stop host=s1 user_dir=LAB user_id=alice 'message=Stop session for user LAB\\alice, bye LAB\\alice'
	event_line $T0 session_start host=s1 user_dir=LAB user_id=bob 'message=Start session for user LAB\\bob'
	event_line $T0 session_start host=s1 user_id=carl 'message=no directory'
	event_line $T0 session_start host=s1 user_dir=LAB 'user_id=a\tb' 'message=escaped'
} >"$T/in"
qsroute -c "$T/q.ini" <"$T/in" >"$T/out" 2>"$T/err"
is "$?" 0 "exit 0"
pa=$(hmac "$key" alice) pb=$(hmac "$key" bob) plab=$(hmac "$key" LAB)
is "$(sed -n 1p "$T/out" | cut -f4,5)" "$plab	$pa" "user_dir and user_id are HMAC-SHA256 pseudonyms"
is "$(sed -n 2p "$T/out" | cut -f4,5)" "$plab	$pa" "the same user, the same pseudonym"
is "$(sed -n 3p "$T/out" | cut -f5)" "$pb" "another user, another pseudonym"
is "$(sed -n 1p "$T/out" | cut -f15)" "Start session for user $plab\\\\$pa" "DIR\\id in the message replaced"
is "$(sed -n 2p "$T/out" | cut -f15)" "Stop session for user $plab\\\\$pa, bye $plab\\\\$pa" "every DIR\\id in the message replaced"
is "$(sed -n 4p "$T/out" | cut -f4,5,15)" "	$(hmac "$key" carl)	no directory" "an empty column stays empty"
is "$(sed -n 5p "$T/out" | cut -f5)" "$(hmac "$key" "$(printf 'a\tb')")" "an escaped value: the pseudonym of the value itself"
is "$(cut -f1-3,6-14,16 "$T/out")" "$(cut -f1-3,6-14,16 "$T/in")" "the other columns unchanged"
ok "the key is never printed" not grep -q "$key" "$T/err" "$T/out"
like "$(tail -1 "$T/err")" "pseudonymized 5 events" "the counters say so"
qsroute <"$T/out" >/dev/null 2>"$T/err2"
like "$(cat "$T/err2")" "read 5, passed 5" "the lines are valid events"

# another key: other pseudonyms for everyone
printf 'other\n' >"$T/key2"
chmod 600 "$T/key2"
conf "user_id" "$T/key2"
is "$(qsroute -c "$T/q.ini" <"$T/in" 2>/dev/null | sed -n 1p | cut -f4,5,15)" \
	"LAB	$(hmac other alice)	Start session for user LAB\\\\alice" \
	"another key, another pseudonym; only user_id named: the message keeps DIR\\id"

# attributes, and rules on the clear names
conf "user_id service_user app_owner" "$T/key"
{
	printf '%s\tservice=proxy\tservice_user=INTERNAL\\\\sa_proxy\tlog_time=x\n' "$(event_line $T0 log host=s1 user_dir=LAB user_id=mallory message=m)"
	event_line $T0 session_start host=s1 user_dir=LAB user_id=bob message=m
	event_line $T0 session_start host=s1 user_dir=LAB user_id=dave message=m
} >"$T/in2"
printf 'exclude_user = LAB\\bob\n' >>"$T/q.ini"
qsroute -c "$T/q.ini" <"$T/in2" >"$T/out2" 2>"$T/err"
is "$(sed -n 1p "$T/out2" | cut -f17-)" "service=proxy	service_user=$(hmac "$key" 'INTERNAL\sa_proxy')	log_time=x" \
	"a named attribute pseudonymized, the others unchanged, in order"
is "$(cut -f5 "$T/out2" | paste -sd' ')" "$(hmac "$key" mallory) $(hmac "$key" dave)" "exclude_user still matches the clear name (bob dropped)"

# SIGHUP with a new key
mkfifo "$T/fifo"
exec 3<>"$T/fifo"
conf "user_id" "$T/key"
route_fifo() { exec qsroute -c "$T/q.ini" <"$T/fifo" >"$T/out3" 2>"$T/err3" 3>&-; }
bg route_fifo
pid=$BG_PID
event_line $T0 session_start user_dir=LAB user_id=erin message=m >&3
ok "before the reload: the first key" wait_for 5 grep -q "$(hmac "$key" erin)" "$T/out3"
conf "user_id" "$T/key2"
kill -HUP "$pid"
ok "SIGHUP reloads" wait_for 5 grep -q "reload: rules from" "$T/err3"
event_line $T0 session_start user_dir=LAB user_id=erin message=m >&3
ok "after the reload: the new key" wait_for 5 grep -q "$(hmac other erin)" "$T/out3"
exec 3>&-
stop_pid "$pid"

# mistakes
bad() {
	printf '[qsroute]\n%s\n' "$1" >"$T/bad.ini"
	qsroute -c "$T/bad.ini" </dev/null >/dev/null 2>"$T/bad.err"
	local st=$?
	is "$st" 2 "$2: exit 2"
	like "$(cat "$T/bad.err")" "$3" "$2: says why"
}
bad "pseudonymize = user_id" "no key file" "pseudonymize needs pseudonym_key_file"
bad "pseudonymize = time" "time" "'time' cannot be pseudonymized"
bad "pseudonymize = Bad-Name" "a bad name" "'Bad-Name': neither a column nor an attribute name"
bad $'pseudonymize = user_id\npseudonym_key_file = '"$T/none" "a missing key file" "pseudonym_key_file $T/none: No such file"
: >"$T/empty"
chmod 600 "$T/empty"
bad $'pseudonymize = user_id\npseudonym_key_file = '"$T/empty" "an empty key" "the key is empty"
chmod 644 "$T/key"
conf "user_id" "$T/key"
qsroute -c "$T/q.ini" <"$T/in" >/dev/null 2>"$T/err"
like "$(cat "$T/err")" "$T/key.*(read|readable)" "a key file others may read is warned about"
ok "and the key is not in the warning" not grep -q "$key" "$T/err"

done_testing
