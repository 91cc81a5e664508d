#!/usr/bin/env bash
# etc/s6-rc (source definitions of a pipeline of longruns), etc/systemd/qspipe.service and
# etc/sv/qspipe: consistent with each other and with scripts/qspipe.
. "$(dirname "$0")/lib.sh"
rc=$top/etc/s6-rc
order="udpcat qsparse qsroute qsenrich qsslack qsteams qsmail qshttp qsmqtt qsinflux"

# the chain: each producer-for names the next stage, whose consumer-for names it back
prev=""
for stage in $order; do
	d=$rc/qspipe-$stage
	is "$(cat "$d/type")" longrun "s6-rc qspipe-$stage: a longrun"
	ok "qspipe-$stage/run: executable, valid sh" sh -n "$d/run"
	test -x "$d/run" || fail "qspipe-$stage/run is not executable"
	like "$(cat "$d/run")" "qspipe -c [^ ]+ -x $stage( |\$)" "qspipe-$stage/run: runs its stage through qspipe -x"
	if [ -n "$prev" ]; then
		is "$(cat "$d/consumer-for")" "qspipe-$prev" "qspipe-$stage consumes qspipe-$prev"
		is "$(cat "$rc/qspipe-$prev/producer-for")" "qspipe-$stage" "qspipe-$prev produces for qspipe-$stage"
	fi
	prev=$stage
done
ok "udpcat: no consumer-for (it reads the network)" test ! -e "$rc/qspipe-udpcat/consumer-for"
ok "qsinflux: the last consumer, no producer-for" test ! -e "$rc/qspipe-qsinflux/producer-for"
is "$(cat "$rc/qspipe-qsinflux/pipeline-name")" qspipe "the pipeline bundle is named on the last consumer"
is "$(find "$rc" -name pipeline-name | wc -l | tr -d ' ')" 1 "... and only there"
is "$(cat "$rc/qspipe-udpcat/notification-fd")" 3 "udpcat: notification-fd 3"
like "$(cat "$rc/qspipe-udpcat/run")" "-x udpcat -- -N 3\$" "... and udpcat -N 3 writes readiness to it"
is "$(cat "$rc/qspipe-state/type")" oneshot "qspipe-state: a oneshot"
is "$(find "$rc" -path '*/dependencies.d/qspipe-state' | wc -l | tr -d ' ')" "$(echo $order | wc -w | tr -d ' ')" "every stage depends on qspipe-state"

# the runit service
ok "etc/sv/qspipe/run: valid sh" sh -n "$top/etc/sv/qspipe/run"
ok "etc/sv/qspipe/log/run: valid sh" sh -n "$top/etc/sv/qspipe/log/run"
like "$(cat "$top/etc/sv/qspipe/run")" '^exec 2>&1$' "runit run: stderr to the log service"
like "$(cat "$top/etc/sv/qspipe/log/run")" 'exec svlogd -tt ' "runit log/run: svlogd -tt"

# systemd
unit=$top/etc/systemd/qspipe.service
for want in Type=simple Restart=always DynamicUser=yes StateDirectory=qspipe NoNewPrivileges=yes \
	ProtectSystem=strict KillMode=mixed; do
	ok "qspipe.service: $want" grep -qx "$want" "$unit"
done
if command -v systemd-analyze >/dev/null; then
	sed "s|/usr/local/bin/qspipe|$top/scripts/qspipe|" "$unit" >"$T/qspipe.service"
	cp "$top/etc/systemd/qspipe.socket" "$T/"	# which it requires
	ok "systemd-analyze verify accepts the unit" systemd-analyze verify "$T/qspipe.service"
else
	skip "systemd-analyze is not installed"
fi
done_testing
