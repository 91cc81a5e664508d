#!/usr/bin/env bash
# A file holding a secret (webhook_file, password_file) that others may read gets a warning
# naming the file, never the secret; one only its owner reads gets none.
. "$(dirname "$0")/lib.sh"
all_events qsslack	# these tests use every kind of event

event_line 2026-11-20T23:52:15.123456Z session_start host=sense1 user_dir=LAB user_id=alice >"$T/ev"
printf 'https://hooks.slack.com/services/T0/B0/SECRETWEBHOOK\n' >"$T/hook"
printf 'SECRETPASSWORD\n' >"$T/pass"
printf '[qsslack]\nwebhook_file = %s\n' "$T/hook" >"$T/slack.ini"
printf '[qsmqtt]\nusername = u\npassword_file = %s\ndrain_seconds = 0.2\n' "$T/pass" >"$T/mqtt.ini"
closed=$(free_port)

chmod 644 "$T/hook" "$T/pass"
qsslack -n -c "$T/slack.ini" <"$T/ev" >/dev/null 2>"$T/slack.err"
like "$(cat "$T/slack.err")" "qsslack: $T/hook holds a secret but others may read it" \
	"qsslack warns about a webhook_file others may read"
qsmqtt -c "$T/mqtt.ini" -h 127.0.0.1 -p "$closed" <"$T/ev" 2>"$T/mqtt.err"
like "$(cat "$T/mqtt.err")" "qsmqtt: $T/pass holds a secret but others may read it" \
	"qsmqtt warns about a password_file others may read"
ok "the secrets themselves are never printed" not grep -q SECRET "$T/slack.err" "$T/mqtt.err"

chmod 600 "$T/hook" "$T/pass"
qsslack -n -c "$T/slack.ini" <"$T/ev" >/dev/null 2>"$T/slack.err"
ok "no warning for a webhook_file only its owner reads" not grep -q "others may read" "$T/slack.err"
qsmqtt -c "$T/mqtt.ini" -h 127.0.0.1 -p "$closed" <"$T/ev" 2>"$T/mqtt.err"
ok "no warning for a password_file only its owner reads" not grep -q "others may read" "$T/mqtt.err"

done_testing
