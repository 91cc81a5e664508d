#!/usr/bin/env bash
# qsmqtt with a broker that wants a password, and over TLS with a CA made here.
. "$(dirname "$0")/lib.sh"

event() {
	printf '2026-11-20T23:52:15.123456Z\ttask_failed\tsense1\tLAB\talice\t\t\t\t\t%s\tERROR\t\t\t\tm\t\n' "$1"
}

subscribe() { mqtt_subscribe "$T/sub.out" 'qliksense/#' '%t %p' "$@"; }


# --- username and password
mosquitto_passwd -c -b "$T/passwd" qsuser 's3cret pass' 2>/dev/null
chmod 600 "$T/passwd"
start_mosquitto "allow_anonymous false
password_file $T/passwd"
creds=(-h 127.0.0.1 -p "$MQTT_PORT" -u qsuser -P 's3cret pass')
subscribe "${creds[@]}"

event 1 | QSMQTT_PASSWORD='s3cret pass' qsmqtt -h 127.0.0.1 -p "$MQTT_PORT" -u qsuser 2>"$T/err"
is "$?" 0 "password from QSMQTT_PASSWORD: exit 0"
wait_for 10 grep -q '"exec_id":"1"' "$T/sub.out"
is "$(grep -c '"exec_id":"1"' "$T/sub.out")" 2 "delivered with the right password"

printf 's3cret pass\n' >"$T/pw"
chmod 600 "$T/pw"
printf '[qsmqtt]\nhost = 127.0.0.1\nport = %s\nusername = qsuser\npassword_file = %s\n' "$MQTT_PORT" "$T/pw" >"$T/pw.ini"
event 2 | qsmqtt -c "$T/pw.ini"
wait_for 10 grep -q '"exec_id":"2"' "$T/sub.out"
is "$(grep -c '"exec_id":"2"' "$T/sub.out")" 2 "password_file works"

# A wrong password is reported once (not once per retry), is not fatal, and the events wait.
printf '[qsmqtt]\nhost = 127.0.0.1\nport = %s\nusername = qsuser\npassword = wrong-pw\ndrain_seconds = 3.5\n' "$MQTT_PORT" >"$T/bad.ini"
event 3 | qsmqtt -c "$T/bad.ini" 2>"$T/err"
is "$?" 1 "events undeliverable at the end of input without a spool: exit 1"
is "$(grep -c 'refused the connection' "$T/err")" 1 "refusal reported once over several attempts"
like "$(cat "$T/err")" "^qsmqtt: broker 127.0.0.1:$MQTT_PORT refused the connection: .*not authori[sz]ed" "refusal names broker and reason"
like "$(cat "$T/err")" "1 events not delivered" "lost events counted"
ok "the password is never printed" sh -c "! grep -q wrong-pw '$T/err'"
stop_pid "$SUB_PID"
stop_pid "$MQTT_PID"

# --- TLS: a CA, a server certificate for 127.0.0.1 and localhost
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=qspipe-test-ca \
	-keyout "$T/ca.key" -out "$T/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout "$T/server.key" \
	-out "$T/server.csr" 2>/dev/null
printf 'subjectAltName = IP:127.0.0.1, DNS:localhost\n' >"$T/san.ext"
openssl x509 -req -in "$T/server.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
	-days 2 -extfile "$T/san.ext" -out "$T/server.pem" 2>/dev/null
# another CA that did not sign it
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca \
	-keyout "$T/other.key" -out "$T/other.pem" 2>/dev/null
start_mosquitto "allow_anonymous true
cafile $T/ca.pem
certfile $T/server.pem
keyfile $T/server.key"
subscribe -h 127.0.0.1 -p "$MQTT_PORT" --cafile "$T/ca.pem"

printf '[qsmqtt]\nhost = 127.0.0.1\nport = %s\ntls = yes\ncafile = %s\n' "$MQTT_PORT" "$T/ca.pem" >"$T/tls.ini"
event 4 | qsmqtt -c "$T/tls.ini" 2>"$T/err"
is "$?" 0 "TLS: exit 0"
wait_for 10 grep -q '"exec_id":"4"' "$T/sub.out"
is "$(grep -c '"exec_id":"4"' "$T/sub.out")" 2 "delivered over TLS, server name 127.0.0.1 checked against the SAN"

# The name is checked: the certificate holds no 127.0.0.2 (the broker listens on 127.0.0.1 only,
# so connect by a name the cert lacks through a host alias is not possible here; use another CA
# and, separately, a certificate without the right name).
printf '[qsmqtt]\nhost = 127.0.0.1\nport = %s\ntls = yes\ncafile = %s\ndrain_seconds = 1.5\n' "$MQTT_PORT" "$T/other.pem" >"$T/other.ini"
event 5 | qsmqtt -c "$T/other.ini" 2>"$T/err"
is "$?" 1 "TLS with the wrong CA: not delivered"
like "$(cat "$T/err")" "127.0.0.1:$MQTT_PORT: .*(certificate|TLS)" "TLS failure reported with host:port"
stop_pid "$SUB_PID"
stop_pid "$MQTT_PID"

openssl req -newkey rsa:2048 -nodes -subj /CN=elsewhere.example -keyout "$T/wrong.key" \
	-out "$T/wrong.csr" 2>/dev/null
printf 'subjectAltName = DNS:elsewhere.example\n' >"$T/wrong.ext"
openssl x509 -req -in "$T/wrong.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
	-days 2 -extfile "$T/wrong.ext" -out "$T/wrong.pem" 2>/dev/null
start_mosquitto "allow_anonymous true
cafile $T/ca.pem
certfile $T/wrong.pem
keyfile $T/wrong.key"
printf '[qsmqtt]\nhost = 127.0.0.1\nport = %s\ntls = yes\ncafile = %s\ndrain_seconds = 1.5\n' "$MQTT_PORT" "$T/ca.pem" >"$T/name.ini"
event 6 | qsmqtt -c "$T/name.ini" 2>"$T/err"
is "$?" 1 "TLS with a certificate for another name: not delivered"
like "$(cat "$T/err")" "127.0.0.1:$MQTT_PORT" "name mismatch reported with host:port"

done_testing
