# Helpers for qsmail's tests (t/09xx), sourced after lib.sh: events, the SMTP double, parsing.

PY3=/usr/bin/python3	# Debian's aiosmtpd is for this Python, whatever is first on PATH
GUID_T=1b0e6f52-3c1d-4a8e-9f27-5d4c3b2a1908
GUID_A=6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34

# mev EVENT [COLUMN=VALUE]... [+ATTR=VALUE]...: an event line with defaults for a task result
# (values are given escaped, as in an event line); +name=value adds an attribute.
mev() {
	local kind=$1 a cols=() attrs=
	shift
	for a; do
		case $a in
		+*) attrs+=$'\t'${a#+} ;;
		*) cols+=("$a") ;;
		esac
	done
	printf '%s%s\n' "$(event_line 2026-12-01T10:00:00.000000Z "$kind" host=sense1 user_dir=LAB \
		user_id=alice app_id=$GUID_A app_name=Sales task_id=$GUID_T task_name='Reload Sales' \
		exec_id=9e8d7c6b-5a49-4838-a727-161504f3e2d1 level=ERROR message='Max retries reached' \
		source=10.0.0.1:5000 "${cols[@]}")" "$attrs"
}

# mails FILE...: one JSON object per message (t/mailcheck.py); dry run output with --mbox.
mails() { "$PY3" "$top/t/mailcheck.py" "$@"; }

# start_smtpd [ARGS]: the aiosmtpd double on a free port: $SMTP_PORT, $SMTP_DIR, $SMTP_PID.
start_smtpd() {
	SMTP_PORT=${SMTP_PORT_FIXED:-$(free_port)}
	SMTP_DIR=${SMTP_DIR:-$T/smtpd}
	mkdir -p "$SMTP_DIR"
	rm -f "$SMTP_DIR/ready"
	# 3>&-: a test may hold a FIFO open on fd 3, whose reader must see its end
	bg "$PY3" "$top/t/smtpd.py" --port "$SMTP_PORT" --dir "$SMTP_DIR" "$@" 2>>"$T/smtpd.err" 3>&-
	SMTP_PID=$BG_PID
	wait_for 15 test -s "$SMTP_DIR/ready" || { echo "Bail out! smtpd did not start"; cat "$T/smtpd.err" >&2; exit 1; }
}

# received: how many messages the double accepted.
received() { ls "$SMTP_DIR" 2>/dev/null | grep -c '\.eml$'; }

# all_mail: every received message, parsed, in order.
all_mail() {
	local f files=()
	for f in $(ls "$SMTP_DIR" | grep '\.eml$' | sort -n); do files+=("$SMTP_DIR/$f"); done
	[ ${#files[@]} -eq 0 ] || mails "${files[@]}"
}

# smtp_log: the double's log (connections and messages), one JSON a line.
smtp_log() { cat "$SMTP_DIR/log" 2>/dev/null; }
