#!/bin/bash
# scripts/qspipe and qsenrich: the stage runs after qsroute when [qsenrich] has a qrs (and is
# not disabled); -x qsenrich without one passes events through.
. "$(dirname "$0")/lib.sh"
fake=$T/fakebin
mkdir -p "$fake"
for tool in udpcat qsparse qsroute qsenrich qsslack qsmqtt; do
	printf '#!/bin/sh\nexec cat\n' >"$fake/$tool"
	chmod +x "$fake/$tool"
done
cp "$top/scripts/qspipe" "$fake/qspipe"
plan() { "$fake/qspipe" -n "$@" 2>"$T/plan.err" | grep -v '^# off: ' | sed "s|$fake/||; s| -c [^ ]*||" | tr '\n' ' '; }

printf '[qsenrich]\nqrs = https://sense1.example.com:4242\n' >"$T/a.ini"
is "$(plan -c "$T/a.ini")" "udpcat 9997 9998 9996 qsparse qsroute qsenrich qsmqtt " "with qrs: qsenrich after qsroute"
printf '[qsslack]\nwebhook = https://hooks.example/x\n[qsenrich]\nqrs = https://sense1.example.com:4242\n' >"$T/s.ini"
is "$(plan -c "$T/s.ini")" "udpcat 9997 9998 9996 qsparse qsroute qsenrich qsslack -t qsmqtt " "before the sinks"
printf '[qsenrich]\nhead_lines = 3\n' >"$T/b.ini"
is "$(plan -c "$T/b.ini")" "udpcat 9997 9998 9996 qsparse qsroute qsmqtt " "without qrs: not run"
printf '[qsenrich]\nenable = no\nqrs = https://sense1.example.com:4242\n' >"$T/c.ini"
is "$(plan -c "$T/c.ini")" "udpcat 9997 9998 9996 qsparse qsroute qsmqtt " "enable = no: not run"
is "$(echo event | "$fake/qspipe" -c "$T/b.ini" -x qsenrich)" event "-x qsenrich without qrs: passes through"
printf '[qsenrich]\nqrs = https://sense1.example.com:4242\n' >"$T/d.ini"
printf '#!/bin/sh\necho "qsenrich $*"\n' >"$fake/qsenrich"
like "$("$fake/qspipe" -c "$T/d.ini" -x qsenrich </dev/null)" "^qsenrich -c $T/d.ini\$" "-x qsenrich runs it with the config"
done_testing
