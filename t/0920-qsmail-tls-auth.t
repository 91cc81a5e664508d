#!/bin/bash
# qsmail with STARTTLS and AUTH against t/smtpd.py: a CA and a server certificate made by
# openssl here; the right CA and name accepted; a wrong CA, a wrong name and a server without
# STARTTLS refused; the password from the file, password_file and QSMAIL_PASSWORD; a wrong
# password refused and retried, the password never printed.
. "$(dirname "$0")/lib.sh"
. "$top/t/mail.sh"

command -v openssl >/dev/null || { echo "1..0 # skip openssl not installed"; exit 0; }
c=$T/certs
mkdir -p "$c"
ssl() { openssl "$@" 2>>"$T/openssl.log" >/dev/null; }
for ca in ca other; do
	ssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=qspipe test $ca" \
		-keyout "$c/$ca.key" -out "$c/$ca.pem"
done
ssl req -newkey rsa:2048 -nodes -subj "/CN=mail.test" -keyout "$c/server.key" -out "$c/server.csr"
printf 'subjectAltName=DNS:mail.test\n' >"$c/ext"
ssl x509 -req -in "$c/server.csr" -CA "$c/ca.pem" -CAkey "$c/ca.key" -CAcreateserial -days 2 \
	-extfile "$c/ext" -out "$c/server.pem"
[ -s "$c/server.pem" ] || { echo "Bail out! openssl failed"; cat "$T/openssl.log"; exit 1; }

PASSWORD='s3cret-PW-never-shown'
start_smtpd --tls "$c/server.pem" "$c/server.key" --auth qsuser "$PASSWORD"
SMTP_PORT_FIXED=$SMTP_PORT

conf() {
	{
		echo "[qsmail]"
		echo "smtp = smtp://127.0.0.1:$SMTP_PORT"
		echo "from = qspipe@example.com"
		echo "to = admin@example.com"
		echo "digest_seconds = 0"
		echo "backoff_max = 1"
		echo "drain_seconds = 3"
		printf '%s\n' "$@"
	} >"$T/q.ini"
}
mev task_failed exec_id=e1 >"$T/e.tsv"
run() { qsmail -c "$T/q.ini" "$@" "$T/e.tsv" 2>"$T/err"; }
secret_kept() { ! grep -rq "$PASSWORD" "$T/err"; }

# ---- STARTTLS, the CA, server_name, AUTH ----
conf "ca = $c/ca.pem" "server_name = mail.test" "username = qsuser" "password = $PASSWORD"
run
is $? 0 "STARTTLS with the right CA and name, AUTH: exit 0"
is "$(received)" 1 "the mail was accepted"
is "$(smtp_log | jq -r 'select(.event == "message") | "\(.tls) \(.login)"')" "true qsuser" \
	"over TLS, logged in"
ok "it parses" jq -e '.defects == []' <(all_mail)
ok "the password never printed" secret_kept

printf '%s\n' "$PASSWORD" >"$T/pw"
chmod 600 "$T/pw"
conf "ca = $c/ca.pem" "server_name = mail.test" "username = qsuser" "password_file = $T/pw"
run
is "$(received)" 2 "password_file"
conf "ca = $c/ca.pem" "server_name = mail.test" "username = qsuser" "password = wrong"
QSMAIL_PASSWORD=$PASSWORD run
is "$(received)" 3 "QSMAIL_PASSWORD over the file's"
conf "ca = $c/ca.pem" "server_name = mail.test" "username = qsuser" "password = x" "password_file = $T/pw"
run
is $? 2 "password and password_file both: exit 2"

# ---- refusals: nothing delivered, said why, the event kept ----
refused() {
	local desc=$1 want=$2
	shift 2
	conf "$@"
	local before
	before=$(received)
	run -S "$T/spool-$t_count"
	is "$(received)" "$before" "$desc: nothing delivered"
	like "$(cat "$T/err")" "$want" "$desc: said"
	like "$(cat "$T/err")" "1 events kept in spool" "$desc: the event kept in the spool"
	ok "$desc: the password never printed" secret_kept
}
refused "wrong CA" "not trusted or not for the server's name" \
	"ca = $c/other.pem" "server_name = mail.test" "username = qsuser" "password = $PASSWORD"
refused "wrong name" "not trusted or not for the server's name" \
	"ca = $c/ca.pem" "server_name = other.test" "username = qsuser" "password = $PASSWORD"
# (on a machine without the system's CA bundle, as a bare Debian root: none could be read)
refused "no CA given (the system's do not know it)" "not trusted|CA certificates could not be read" \
	"server_name = mail.test" "username = qsuser" "password = $PASSWORD"
refused "wrong password" "check username and password" \
	"ca = $c/ca.pem" "server_name = mail.test" "username = qsuser" "password = nope-$PASSWORD-nope"
ok "the wrong password not printed either" not grep -q "nope-" "$T/err"

# The spool of the wrong password, delivered once it is right.
n=$(ls -d "$T"/spool-* | tail -1)
conf "ca = $c/ca.pem" "server_name = mail.test" "username = qsuser" "password = $PASSWORD"
before=$(received)
qsmail -c "$T/q.ini" -S "$n" </dev/null 2>"$T/err"
is "$(received)" $((before + 1)) "fixed: the spooled event delivered"

# ---- a server without STARTTLS: refused unless tls = none ----
stop_pid "$SMTP_PID"
start_smtpd
conf
before=$(received)
run -S "$T/spool-plain"
is "$(received)" "$before" "no STARTTLS offered: nothing sent in clear"
like "$(cat "$T/err")" "no STARTTLS" "said"
conf "tls = none"
run
is "$(received)" $((before + 1)) "tls = none: sent"
conf "tls = none" "smtp = smtp://localhost:$SMTP_PORT" "username = u" "password = $PASSWORD"
sed -i '2d' "$T/q.ini"	# the first smtp line
ok "tls = none to the loopback: no warning" not grep -q unencrypted <(qsmail -n -c "$T/q.ini" </dev/null 2>&1; qsmail -c "$T/q.ini" </dev/null 2>&1)
conf "tls = none" "username = u" "password = $PASSWORD"
sed -i "2s|.*|smtp = smtp://mail.invalid:25|" "$T/q.ini"
qsmail -c "$T/q.ini" </dev/null 2>"$T/err"
like "$(cat "$T/err")" "tls = none: mail to smtp://mail.invalid:25 travels unencrypted, and so does the password" \
	"tls = none to another host: warned"
ok "the password never printed" secret_kept

done_testing
