# Helpers for the qsenrich tests (t/11xx), sourced after lib.sh: certificates made with openssl
# as the QMC exports them (root.pem, client.pem, client_key.pem) and the QRS double t/qrsd.py.

# make_certs DIR: a CA (root.pem), a server certificate for localhost and 127.0.0.1
# (server.pem, server_key.pem), a client certificate signed by the CA (client.pem,
# client_key.pem), and a client certificate from another CA (other.pem, other_key.pem).
make_certs() {
	local d=$1
	mkdir -p "$d"
	(
		cd "$d" || exit 1
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=QMI-root-CA" \
			-keyout root_key.pem -out root.pem
		openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
			-keyout server_key.pem -out server.csr
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
		openssl x509 -req -in server.csr -CA root.pem -CAkey root_key.pem -CAcreateserial \
			-days 2 -extfile server.ext -out server.pem
		openssl req -newkey rsa:2048 -nodes -subj "/CN=QlikClient" \
			-keyout client_key.pem -out client.csr
		printf 'extendedKeyUsage=clientAuth\n' >client.ext
		openssl x509 -req -in client.csr -CA root.pem -CAkey root_key.pem -CAcreateserial \
			-days 2 -extfile client.ext -out client.pem
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=QlikClient" \
			-keyout other_key.pem -out other.pem
		chmod 600 ./*_key.pem
	) >/dev/null 2>&1 || { echo "Bail out! openssl could not make the test certificates"; exit 1; }
}

# start_qrsd NAME [ARGS...]: the double with the certificates of $T/certs, its log in
# $T/NAME.log, script $T/NAME.script (created empty); URL in $QRS_URL, PID in $QRS_PID.
start_qrsd() {
	local name=$1
	shift
	[ -f "$T/certs/root.pem" ] || make_certs "$T/certs"
	: >"$T/$name.script"
	rm -f "$T/$name.port"
	bg /usr/bin/python3 "$top/t/qrsd.py" --cert "$T/certs/server.pem" --key "$T/certs/server_key.pem" \
		--ca "$T/certs/root.pem" --log "$T/$name.log" --script "$T/$name.script" \
		--port-file "$T/$name.port" "$@" >/dev/null 2>"$T/$name.qrsd.err"
	QRS_PID=$BG_PID
	wait_for 10 test -s "$T/$name.port" || { echo "Bail out! qrsd did not start"; cat "$T/$name.qrsd.err" >&2; exit 1; }
	QRS_URL="https://localhost:$(cat "$T/$name.port")"
}

# qrs_conf FILE [KEY = VALUE lines...]: a [qsenrich] section for the double and certificates.
qrs_conf() {
	local f=$1
	shift
	{
		echo "[qsenrich]"
		echo "qrs = $QRS_URL"
		echo "cert = $T/certs/client.pem"
		echo "key = $T/certs/client_key.pem"
		echo "ca = $T/certs/root.pem"
		printf '%s\n' "$@"
	} >"$f"
}

# requests NAME KIND: how many requests of KIND the double NAME logged.
requests() { grep -c "\"kind\": \"$2\"" "$T/$1.log" 2>/dev/null || true; }

# attr FILE N NAME: the value of attribute NAME on line N of FILE, decoded (escapes of
# qspipe-events(5)); "<absent>" when the line has no such attribute.
attr() {
	/usr/bin/python3 - "$@" <<'PY'
import re, sys
path, n, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = open(path, "rb").read().split(b"\n")
fields = lines[n - 1].split(b"\t")[16:] if n <= len(lines) else []
def dec(v):
    return re.sub(rb"\\(x[0-9a-f]{2}|.)", lambda m: {b"\\": b"\\", b"t": b"\t", b"n": b"\n", b"r": b"\r"}.get(
        m.group(1), bytes([int(m.group(1)[1:], 16)]) if m.group(1)[:1] == b"x" else b"?"), v)
for f in fields:
    k, _, v = f.partition(b"=")
    if k.decode() == name:
        sys.stdout.buffer.write(dec(v))
        break
else:
    print("<absent>", end="")
PY
}

# attr_names FILE N: the attribute names of line N, space-separated.
attr_names() { sed -n "${2}p" "$1" | cut -f17- | tr '\t' '\n' | sed 's/=.*//' | tr '\n' ' ' | sed 's/ $//'; }

# task_event TIME [COLUMN=VALUE]...: a task_failed event of the double's task, app and execution.
TASK_ID=1b0e6f52-3c1d-4a8e-9f27-5d4c3b2a1908
APP_ID=6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34
EXEC_ID=9e8d7c6b-5a49-4838-a727-161504f3e2d1
task_event() {
	local t=$1
	shift
	event_line "$t" task_failed host=sense1.lab.example user_dir=LAB user_id=svc_qlik \
		task_id=$TASK_ID app_id=$APP_ID task_name="Reload Sales dashboard" \
		app_name="Sales dashboard" exec_id=$EXEC_ID level=ERROR \
		message="Max retries reached" "$@"
}
