#!/usr/bin/env bash
# qsparse: every sample datagram of etc/samples, framed on its port and bare, gives exactly the
# expected 16 columns and attributes.
. "$(dirname "$0")/lib.sh"

TIME=2026-11-20T23:52:15.123456Z
SRC=10.1.2.3:5000

# frame PORT: the raw sample payloads on stdin as udpcat lines (escaped, framed).
frame() { sed 's/\\/\\\\/g' | awk -v p="$1" -v t="$TIME" -v s="$SRC" '{ printf "%s\t%s\t%s\t%s\n", t, s, p, $0 }'; }
# expected: '|'-separated columns on stdin as TSV (no sample field holds a '|').
expected() { tr '|' '\t'; }

ok "samples are there" test -s "$top/etc/samples/user-events.txt" -a -s "$top/etc/samples/task-events.txt" -a -s "$top/etc/samples/log-events.txt"

expected >"$T/user.exp" <<'X'
2026-11-20T23:52:15.123456Z|session_start|sense1.lab.example|LAB|alice||||||||AppAccess|/hub|Start session for user LAB\\alice|10.1.2.3:5000
2026-11-20T23:52:15.123456Z|connection_open|sense1.lab.example|LAB|alice|6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34|||||||AppAccess|/app/6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34?reloaduri=https://sense1.lab.example/sense/app/6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34|connection Opened for session 4f1d2c3b. UserAgent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0|10.1.2.3:5000
2026-11-20T23:52:15.123456Z|connection_close|sense2.lab.example|LAB|alice|6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34|||||||AppAccess|/app/6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34|connection Closed for session 4f1d2c3b|10.1.2.3:5000
2026-11-20T23:52:15.123456Z|session_stop|sense2.lab.example|LAB|alice||||||||AppAccess|/hub|Stop session for user LAB\\alice|10.1.2.3:5000
2026-11-20T23:52:15.123456Z|session_start|sense3.corp.example|CORP|Bob.Smith||||||||AppAccess|/hub|Start session for user CORP\\Bob.Smith|10.1.2.3:5000
2026-11-20T23:52:15.123456Z|session_start|sense1.lab.example|LAB|carol|||||||||||10.1.2.3:5000
X
expected >"$T/task.exp" <<'X'
2026-11-20T23:52:15.123456Z|task_failed|sense1.lab.example|LAB|svc_qlik|6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34|Sales dashboard|1b0e6f52-3c1d-4a8e-9f27-5d4c3b2a1908|Reload Sales dashboard|9e8d7c6b-5a49-4838-a727-161504f3e2d1|ERROR||||Max retries reached. Task failed: Reload Sales dashboard; see script log|10.1.2.3:5000
2026-11-20T23:52:15.123456Z|task_aborted|sense1.lab.example|LAB|erik|7d4a3c2f-9e5b-4a8f-8c32-1d6e8f0b2a45|Finance (prod)|2a1f7e63-4d2e-4b9f-8a38-6e5d4c3b2a19|Reload Finance|0f1e2d3c-4b5a-4968-8776-655443322110|WARN||||Execution State Change to Aborting|10.1.2.3:5000
2026-11-20T23:52:15.123456Z|task_succeeded|sense1.lab.example|INTERNAL|sa_scheduler|8e5b4d3a-0f6c-4b9a-9d43-2e7f9a1c3b56|HR|3c2a8f74-5e3f-4ca0-9b49-7f6e5d4c3b2a|Reload HR|1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d|INFO||||Execution State Change to FinishedSuccess|10.1.2.3:5000
2026-11-20T23:52:15.123456Z|task_failed|sense2.lab.example|LAB|svc_qlik|8a6c4e2f-1d3b-4a5c-9e7f-b1d3f5a7c9e1|Budget 2027|2f4e6a8c-0b1d-4e3f-a5b7-c9d1e3f5a7b9|Reload Budget|4c2e0a8f-6d4b-4c2a-8e6f-0d2b4f6a8c0e|ERROR||||Max retries reached; task halted|10.1.2.3:5000
2026-11-20T23:52:15.123456Z|task_failed|sense1.lab.example||svc_qlik||Sales dashboard||Reload Sales dashboard|||||||10.1.2.3:5000
X
expected >"$T/log.exp" <<'X'
2026-11-20T23:52:15.123456Z|log|sense1.lab.example|LAB|mallory||||||WARN|Audit.Proxy|AppAccess|/hub|Authentication failed for user LAB\\mallory|10.1.2.3:5000|service=proxy|log_time=20261120T234501.123+0100|service_user=INTERNAL\\sa_proxy|command=Login|result=Failed
2026-11-20T23:52:15.123456Z|log|sense1.lab.example|LAB|svc_qlik|6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34|Sales dashboard|1b0e6f52-3c1d-4a8e-9f27-5d4c3b2a1908|Reload Sales dashboard|9e8d7c6b-5a49-4838-a727-161504f3e2d1|ERROR|System.Scheduler.Scheduler.Master.Task.TaskSession|||Message from ReloadProvider: Reload failed in Engine. Check engine or script logs.|10.1.2.3:5000|service=scheduler|log_time=20261120T234502.456+0100|service_user=INTERNAL\\sa_scheduler
2026-11-20T23:52:15.123456Z|log|sense1.lab.example|LAB|mallory||||||WARN|System.Repository.Repository.Core.Licensing|||License check failed for user LAB\\mallory: no allocation|10.1.2.3:5000|service=repository|log_time=20261120T234503.010+0100|service_user=INTERNAL\\sa_repository|command=Allocate|result=403
2026-11-20T23:52:15.123456Z|log|sense1.lab.example|LAB|alice|6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34|||||ERROR|System.Engine.Engine|||Reload of app failed: Table 'Orders' not found|10.1.2.3:5000|service=engine|log_time=20261120T234504.250+0100|service_user=INTERNAL\\sa_engine|proxy_session_id=7d3e9c2a-1b4f-4e6a-8c5d-2f1e0a9b8c7d|session_id=c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f|engine_time=2026-11-20T23:45:04.250+01:00|process_id=5872|exe_version=14.78.2|server_started=2026-11-19T06:00:12.000+01:00|entry_type=Reload
2026-11-20T23:52:15.123456Z|qix_perf|sense1.lab.example|LAB|alice|6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34|||||INFO|QixPerformance.Engine.Engine||||10.1.2.3:5000|service=engine|log_time=20261120T234505.500+0100|service_user=INTERNAL\\sa_engine|proxy_session_id=7d3e9c2a-1b4f-4e6a-8c5d-2f1e0a9b8c7d|session_id=c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f|engine_time=2026-11-20T23:45:05.500+01:00|request_id=41|method=GenericObject::GetHyperCubeData|handle=12|object_id=pQxZk|object_type=table|process_ms=84.2|work_ms=80.9|lock_ms=0.4|validate_ms=1.1|traverse_ms=2.3|net_ram=524288|peak_ram=1048576
X

for kind in user:9997 task:9998 log:9996; do
	name=${kind%%:*} port=${kind#*:}
	frame "$port" <"$top/etc/samples/$name-events.txt" >"$T/$name.in"
	qsparse <"$T/$name.in" >"$T/$name.out" 2>"$T/$name.err"
	is "$?" 0 "$name samples: exit 0"
	is_file "$T/$name.out" "$T/$name.exp" "$name samples framed on $port: exact columns"
	is "$(wc -l <"$T/$name.out")" "$(wc -l <"$top/etc/samples/$name-events.txt")" "$name samples: one event per datagram"
	like "$(cat "$T/$name.err")" "^qsparse: [0-9]+ lines, [0-9]+ events .*, 0 rejected$" "$name samples: nothing rejected"

	# Bare (udpcat -r): the same columns, but the time qsparse read it and no source.
	before=$(date -u +%Y-%m-%dT%H:%M:%S)
	sed 's/\\/\\\\/g' "$top/etc/samples/$name-events.txt" | qsparse >"$T/$name.bare" 2>/dev/null
	after=$(date -u +%Y-%m-%dT%H:%M:%S)
	cut -f2-15 "$T/$name.exp" >"$T/$name.mid.exp"
	cut -f2-15 "$T/$name.bare" >"$T/$name.mid"
	is_file "$T/$name.mid" "$T/$name.mid.exp" "$name samples bare: columns 2-15 as framed"
	is "$(cut -f16 "$T/$name.bare" | sort -u)" "" "$name samples bare: empty source"
	is "$(cut -f1 "$T/$name.bare" | grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$')" 0 \
		"$name samples bare: time is RFC 3339 UTC with microseconds"
	first=$(cut -f1 "$T/$name.bare" | head -1)
	ok "$name samples bare: time is when it was read ($before <= $first <= $after)" \
		test ! "${first%.*}" \< "$before" -a ! "${first%.*}" \> "$after"
done

# The legacy lines' port decides: on 9998 the user sample is a task failure, on 9997 the task
# sample an unknown command.
tail -1 "$top/etc/samples/user-events.txt" | frame 9998 | qsparse >"$T/o" 2>/dev/null
is "$(cut -f2,3,5,7,9 "$T/o")" "task_failed	sense1.lab.example	carol	LAB	Start session" "legacy user sample on 9998: a task failure"
tail -1 "$top/etc/samples/task-events.txt" | frame 9997 | qsparse >"$T/o" 2>"$T/e"
is "$(cat "$T/o")" "" "legacy task sample on 9997: no event"
like "$(head -1 "$T/e")" "^qsparse: line 1: unknown command: sense1\.lab\.example;Reload Sales dashboard;Sales dashboard;svc_qlik$" "legacy task sample on 9997: unknown command"

# All samples at once, from named files: the same events, counters over all of them.
for kind in user:9997 task:9998 log:9996; do cp "$T/${kind%%:*}.in" "$T/${kind%%:*}.txt"; done
qsparse "$T/user.txt" "$T/task.txt" "$T/log.txt" >"$T/all.out" 2>"$T/all.err"
cat "$T/user.exp" "$T/task.exp" "$T/log.exp" >"$T/all.exp"
is_file "$T/all.out" "$T/all.exp" "named files: all samples in order"
is "$(cat "$T/all.err")" "qsparse: 16 lines, 16 events (session_start 3, session_stop 1, connection_open 1, connection_close 1, task_failed 3, task_aborted 1, task_succeeded 1, log 4, qix_perf 1), 0 rejected" "named files: exit summary counts events per name"

done_testing
