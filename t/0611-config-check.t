#!/usr/bin/env bash
# No silent misconfiguration: a section no stage has, or a key its tool does not know, is an
# error naming file and line (exit 2) before anything runs, for scripts/qspipe too, in the
# sections of disabled stages as well; each tool's check mode (QSPIPE_CONF_CHECK, conf.h).
. "$(dirname "$0")/lib.sh"
qspipe=$top/scripts/qspipe
tools="udpcat qsparse qsroute qsslack qsmqtt"
for tool in $tools; do
	if [ ! -x "$top/$tool" ]; then
		skip "config check: ./$tool is not built"
		done_testing
	fi
done

# check FILE: runs qspipe -n on it; status in $status, stderr in $T/err, stdout in $T/out
check() {
	status=0
	"$qspipe" -n -c "$1" >"$T/out" 2>"$T/err" || status=$?
}

# A key every tool knows: the good file passes, and -n names what runs.
cat >"$T/good.ini" <<'EOF2'
[udpcat]
ports = 9997
[qsparse]
quiet = no
[qsroute]
exclude_user = INTERNAL\sa_*
[qsslack]
enable = no
rate = 1
[qsmqtt]
host = 127.0.0.1
EOF2
check "$T/good.ini"
is "$status" 0 "a config of known sections and keys: qspipe -n exits 0"
is "$(grep '^# off: ' "$T/out" | grep -vc '^# off: qs\(enrich\|teams\|mail\|http\|influx\) (no ')" 1 "... one stage off (but those without a destination)"
like "$(grep '^# off: qsslack' "$T/out")" "^# off: qsslack \(\[qsslack\] enable = no\)$" "... qsslack, saying why"

# The issue's typo: [qsslack] webhok = ... left Slack off with no word.
printf '[udpcat]\nports = 9997\n\n[qsslack]\nwebhok = https://hooks.slack.com/services/T/B/X\n' >"$T/typo.ini"
check "$T/typo.ini"
is "$status" 2 "[qsslack] webhok (a typo): exit 2"
is "$(cat "$T/err")" "qsslack: $T/typo.ini:5: unknown key 'webhok' in [qsslack]" "... naming file, line and key"
is "$(cat "$T/out")" "" "... and no plan"

printf '[qslack]\nwebhook = https://hooks.slack.com/services/T/B/X\n' >"$T/section.ini"
check "$T/section.ini"
is "$status" 2 "a section no stage has ([qslack]): exit 2"
like "$(cat "$T/err")" "^qspipe: $T/section.ini:1: unknown section \[qslack\] \(the sections are udpcat qsparse qsroute qsenrich qsslack qsteams qsmail qshttp qsmqtt qsinflux\)$" \
	"... naming file, line and the sections there are"

printf '[qsmqtt]\nenable = no\nhots = broker\n' >"$T/disabled.ini"
check "$T/disabled.ini"
is "$status" 2 "an unknown key in the section of a disabled stage: exit 2"
like "$(cat "$T/err")" "^qsmqtt: $T/disabled.ini:3: unknown key 'hots' in \[qsmqtt\]$" "... named by its tool"

printf 'ports = 9997\n[udpcat]\n' >"$T/outside.ini"
check "$T/outside.ini"
is "$status" 2 "a key before any section: exit 2"
like "$(cat "$T/err")" "^qspipe: $T/outside.ini:1: key outside any \[section\]$" "... naming file and line"

# Every tool's section is checked, each by its tool.
for tool in $tools; do
	printf '[%s]\nno_such_key = 1\n' "$tool" >"$T/$tool.ini"
	check "$T/$tool.ini"
	is "$status:$(cat "$T/err")" "2:$tool: $T/$tool.ini:2: unknown key 'no_such_key' in [$tool]" \
		"[$tool] no_such_key: exit 2, named by $tool"
done

# A bad value is caught too, where the tool checks it as it reads the key.
printf '[qsroute]\nenable = no\ndedup_seconds = soon\n' >"$T/value.ini"
check "$T/value.ini"
is "$status" 2 "a bad value in a disabled stage's section: exit 2"
like "$(cat "$T/err")" "^qsroute: $T/value.ini:3: dedup_seconds: " "... naming file, line and key"

# -x (one s6-rc longrun per stage) checks the whole file as well: a disabled stage's cat
# would hide the typo.
printf '[qsroute]\nenable = no\nexclud_user = x\n' >"$T/x.ini"
status=0
echo line | "$qspipe" -c "$T/x.ini" -x qsroute >/dev/null 2>"$T/err" || status=$?
is "$status" 2 "-x of a disabled stage with a typo in its section: exit 2"

# Running: the error comes before any stage starts, so nothing binds the port.
uport=$(free_port udp)
printf '[udpcat]\nports = %s\nlisten = 127.0.0.1\n[qsmqtt]\nenable = no\n[qsslack]\nwebhok = x\n' "$uport" >"$T/run.ini"
status=0
timeout 20 "$qspipe" -c "$T/run.ini" </dev/null >/dev/null 2>"$T/err" || status=$?
is "$status" 2 "running with a typo: exit 2 at once"
ok "... udpcat never started" not grep -q '^udpcat:' "$T/err"

# The tools' own check mode: 0 for a good section, 2 for a bad one, without running.
for tool in $tools; do
	status=0
	QSPIPE_CONF_CHECK=1 timeout 10 "$top/$tool" -c "$T/good.ini" </dev/null >"$T/out" 2>"$T/err" || status=$?
	is "$status:$(cat "$T/out" "$T/err")" "0:" "QSPIPE_CONF_CHECK=1 $tool -c good.ini: exit 0, silent"
done
status=0
QSPIPE_CONF_CHECK=1 timeout 10 "$top/qsmqtt" -c "$T/disabled.ini" </dev/null 2>/dev/null || status=$?
is "$status" 2 "QSPIPE_CONF_CHECK=1 qsmqtt on a bad section: exit 2"

done_testing
