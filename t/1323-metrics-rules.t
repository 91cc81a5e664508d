#!/usr/bin/env bash
# etc/prometheus/qspipe-rules.yml: promtool check rules, and promtool test rules showing each
# alert firing on the series it is for and staying quiet on healthy ones.
. "$(dirname "$0")/lib.sh"

rules=$top/etc/prometheus/qspipe-rules.yml
if ! command -v promtool >/dev/null; then
	skip "promtool not installed (scripts/deps installs prometheus)"
	done_testing
	exit 0
fi
out=$(promtool check rules "$rules" 2>&1)
is "$?" 0 "promtool check rules"
like "$out" "SUCCESS: 3 rules found" "three rules"

cp "$rules" "$T/rules.yml"
cat >"$T/test.yml" <<'YML'
rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # port 5000 drops at minute 10; port 5001 never
      - series: 'qspipe_udpcat_kernel_drops_total{instance="h:9100",job="node",port="5000"}'
        values: '0x9 0 40 40 40x20'
      - series: 'qspipe_udpcat_kernel_drops_total{instance="h:9100",job="node",port="5001"}'
        values: '0x30'
      # qsmqtt: events queued, last delivery at 0 s (never since); qsslack: delivering every
      # minute with events queued; qsteams: nothing delivered, nothing queued
      - series: 'qspipe_qsmqtt_last_delivery_timestamp_seconds{instance="h:9100",job="node"}'
        values: '0x30'
      - series: 'qspipe_qsmqtt_queued{instance="h:9100",job="node"}'
        values: '7x30'
      - series: 'qspipe_qsslack_last_delivery_timestamp_seconds{instance="h:9100",job="node"}'
        values: '0+60x30'
      - series: 'qspipe_qsslack_queued{instance="h:9100",job="node"}'
        values: '3x30'
      - series: 'qspipe_qsteams_last_delivery_timestamp_seconds{instance="h:9100",job="node"}'
        values: '0x30'
      - series: 'qspipe_qsteams_queued{instance="h:9100",job="node"}'
        values: '0x30'
    alert_rule_test:
      - eval_time: 11m
        alertname: QspipeKernelDrops
        exp_alerts:
          - exp_labels: {severity: warning, instance: "h:9100", job: node, port: "5000"}
            exp_annotations:
              summary: "udpcat on h:9100 port 5000: the kernel dropped 40 datagrams in 5 minutes"
      - eval_time: 25m
        alertname: QspipeKernelDrops
        exp_alerts: []
      - eval_time: 4m
        alertname: QspipeSinkNotDelivering
        exp_alerts: []
      - eval_time: 6m
        alertname: QspipeSinkNotDelivering
        exp_alerts:
          - exp_labels: {severity: critical, instance: "h:9100", job: node, tool: qsmqtt}
            exp_annotations:
              summary: "qsmqtt on h:9100 has events queued and has delivered none for 6m 0s"
  - interval: 1m
    input_series:
      # qsmqtt's spool grows by 1 MB a minute; qsslack's stays at 5 MB
      - series: 'qspipe_qsmqtt_spool_bytes{instance="h:9100",job="node"}'
        values: '0+1000000x90'
      - series: 'qspipe_qsslack_spool_bytes{instance="h:9100",job="node"}'
        values: '5000000x90'
    alert_rule_test:
      - eval_time: 40m
        alertname: QspipeSpoolGrowing
        exp_alerts: []
      - eval_time: 50m
        alertname: QspipeSpoolGrowing
        exp_alerts:
          - exp_labels: {severity: warning, instance: "h:9100", job: node, tool: qsmqtt}
            exp_annotations:
              summary: "qsmqtt on h:9100: the spool keeps growing (47.68MiB)"
YML
out=$(promtool test rules "$T/test.yml" 2>&1)
st=$?
is "$st" 0 "promtool test rules: each alert fires on its series, not on healthy ones"
[ "$st" = 0 ] || diag "$out"

# The rules hold the names the tools write: a sink's file has each series the rules read.
printf '2026-11-20T23:52:15.000000Z\ttask_failed\t\t\t\t\t\t\t\t\t\t\t\t\t\t\n' >"$T/one"
printf '[qsmqtt]\ndrain_seconds = 1\n' >"$T/m.ini"
qsmqtt -c "$T/m.ini" -h 127.0.0.1 -p "$(free_port)" -S "$T/spool" -M "$T/m.prom" "$T/one" 2>/dev/null </dev/null
for name in qspipe_qsmqtt_last_delivery_timestamp_seconds qspipe_qsmqtt_queued qspipe_qsmqtt_spool_bytes; do
	ok "qsmqtt writes $name" grep -q "^$name " "$T/m.prom"
done
udpport=$(free_port udp)
start_udpcat u -M "$T/u.prom" "$udpport"
kill -TERM "$UDPCAT_PID"
wait_for 5 gone "$UDPCAT_PID"
ok "udpcat writes qspipe_udpcat_kernel_drops_total" grep -q "^qspipe_udpcat_kernel_drops_total{port=\"$udpport\"} " "$T/u.prom"

done_testing
