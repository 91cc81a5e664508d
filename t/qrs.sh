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
