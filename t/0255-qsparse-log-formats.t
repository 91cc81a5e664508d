#!/usr/bin/env bash
# qsparse: the repository, engine and qix-perf log formats, attributes of every log format
# (in their order, only non-empty, numeric ones only when decimal), Butler's 10-field task
# failures, and what each does with ';' in messages, exceptions and wrong field counts.
. "$(dirname "$0")/lib.sh"

TIME=2026-11-20T23:52:15.123456Z
SRC=10.1.2.3:5000
# parse PAYLOAD [PORT]: the payload (raw; backslashes escaped here) framed on PORT (9996) through
# qsparse; prints columns 2-15 and the attributes '|'-separated, or the diagnostic.
parse() {
	printf '%s\t%s\t%s\t%s\n' "$TIME" "$SRC" "${2:-9996}" "${1//\\/\\\\}" | qsparse >"$T/o" 2>"$T/e"
	if [ -s "$T/o" ]; then cut -f2-15,17- "$T/o" | tr '\t' '|'; else head -1 "$T/e"; fi
}
# rejected PAYLOAD REASON: the diagnostic for it (its first 80 bytes, escaped)
rejected() { local p=${1//\\/\\\\}; printf 'qsparse: line 1: %s: %s' "$2" "${p:0:80}"; }
GUID1=6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34
GUID2=1b0e6f52-3c1d-4a8e-9f27-5d4c3b2a1908
HEAD='20261120T234503.010+0100;2026-11-20 23:45:03,010'

# ---- repository: as the proxy's, service=repository ----
is "$(parse "/qseow-repository/;52;$HEAD;WARN;sense1;System.Repository.Core;INTERNAL\\sa_repository;No licence; user LAB\\bob;;LAB;bob;Allocate;403;AppAccess;/app/$GUID1")" \
	"log|sense1|LAB|bob|$GUID1|||||WARN|System.Repository.Core|AppAccess|/app/$GUID1|No licence; user LAB\\\\bob|service=repository|log_time=20261120T234503.010+0100|service_user=INTERNAL\\\\sa_repository|command=Allocate|result=403" \
	"repository: columns, app id from the context, ';' kept in the message, attributes in order"
is "$(parse "/QSEOW-Repository/;52;$HEAD;ERROR;sense1;System.Repository;;Failed;System.Exception: boom;;;;;;")" \
	"log|sense1||||||||ERROR|System.Repository|||Failed\\nSystem.Exception: boom|service=repository|log_time=20261120T234503.010+0100" \
	"repository: prefix case-insensitive, exception after a line break, empty attributes left out"
is "$(parse "/qseow-repository/;52;$HEAD;WARN;sense1;L;U;a;b;c;EX;D;u;C;R;O;X")" \
	"log|sense1|D|u||||||WARN|L|O|X|a;b;c\\nEX|service=repository|log_time=20261120T234503.010+0100|service_user=U|command=C|result=R" \
	"repository: two surplus ';' joined back into the message"
is "$(parse "/qseow-repository/;52;$HEAD;WARN;sense1;L;U;m;EX;D;u;C;R;O")" \
	"$(rejected "/qseow-repository/;52;$HEAD;WARN;sense1;L;U;m;EX;D;u;C;R;O" "too few fields")" \
	"repository: 15 fields: too few"
is "$(parse "/qseow-proxy/;17;$HEAD;WARN;sense1;Audit.Proxy;INTERNAL\\sa_proxy;Login failed;;LAB;mallory;Login;Failed;AppAccess;/hub")" \
	"log|sense1|LAB|mallory||||||WARN|Audit.Proxy|AppAccess|/hub|Login failed|service=proxy|log_time=20261120T234503.010+0100|service_user=INTERNAL\\\\sa_proxy|command=Login|result=Failed" \
	"proxy log: service, log time, service user, command and result"
is "$(parse "/qseow-scheduler/;18;$HEAD;ERROR;sense1;System.Scheduler;INTERNAL\\sa_scheduler;Reload failed;;;;LAB\\svc;Reload X;X;$GUID2;$GUID1;e1")" \
	"log|sense1|LAB|svc|$GUID1|X|$GUID2|Reload X|e1|ERROR|System.Scheduler|||Reload failed|service=scheduler|log_time=20261120T234503.010+0100|service_user=INTERNAL\\\\sa_scheduler" \
	"scheduler log: USER fills user_dir/user_id when empty; no command or result"
is "$(parse "  /qseow-proxy/ ;17; $HEAD ;WARN;sense1;L; svc ; m ;;;;  ;  ;;")" \
	"log|sense1||||||||WARN|L||| m |service=proxy|log_time=20261120T234503.010+0100|service_user=svc" \
	"blanks trimmed from attributes (not from the message); blank ones left out"

# ---- engine: no EXCEPTION field; MESSAGE then PROXYSESSIONID ----
ENG="/qseow-engine/;207;$HEAD;ERROR;sense1;System.Engine.Engine;INTERNAL\\sa_engine"
TAIL="psid;LAB;alice;2026-11-20T23:45:04.250+01:00;5872;14.78.2;2026-11-19T06:00:12.000+01:00;Reload;sid;$GUID1"
is "$(parse "$ENG;Table 'Orders' not found;$TAIL")" \
	"log|sense1|LAB|alice|$GUID1|||||ERROR|System.Engine.Engine|||Table 'Orders' not found|service=engine|log_time=20261120T234503.010+0100|service_user=INTERNAL\\\\sa_engine|proxy_session_id=psid|session_id=sid|engine_time=2026-11-20T23:45:04.250+01:00|process_id=5872|exe_version=14.78.2|server_started=2026-11-19T06:00:12.000+01:00|entry_type=Reload" \
	"engine: columns and every attribute, in order"
is "$(parse "$ENG;a;b; c ;$TAIL")" \
	"log|sense1|LAB|alice|$GUID1|||||ERROR|System.Engine.Engine|||a;b; c |service=engine|log_time=20261120T234503.010+0100|service_user=INTERNAL\\\\sa_engine|proxy_session_id=psid|session_id=sid|engine_time=2026-11-20T23:45:04.250+01:00|process_id=5872|exe_version=14.78.2|server_started=2026-11-19T06:00:12.000+01:00|entry_type=Reload" \
	"engine: ';' in the message, its blanks kept"
is "$(parse "$ENG;m;;;;;;;;;;")" \
	"log|sense1||||||||ERROR|System.Engine.Engine|||m|service=engine|log_time=20261120T234503.010+0100|service_user=INTERNAL\\\\sa_engine" \
	"engine: empty trailing fields: no attributes for them, no app id"
is "$(parse "$ENG;m;;;;;;;;;")" "$(rejected "$ENG;m;;;;;;;;;" "too few fields")" \
	"engine: 18 fields: too few"
# An engine pattern with an EXCEPTION field added (as in the proxy's) is one field too many:
# the surplus is joined into the message, so nothing is lost and PROXYSESSIONID stays in place.
is "$(parse "$ENG;m;EX;$TAIL" | cut -d'|' -f14,18)" "m;EX|proxy_session_id=psid" \
	"engine with an exception field: kept in the message, the rest in place"

# ---- qix-perf: exactly 26 fields, no message ----
QIX="/qseow-qix-perf/;9001;$HEAD;INFO;sense1;QixPerformance.Engine.Engine;INTERNAL\\sa_engine;psid;LAB;alice;2026-11-20T23:45:05.500+01:00;sid;$GUID1;41;GenericObject::GetHyperCubeData"
OBJ="12;pQxZk"
is "$(parse "$QIX;84.2;80.9;0.4;1.1;2.3;$OBJ;524288;1048576;table")" \
	"qix_perf|sense1|LAB|alice|$GUID1|||||INFO|QixPerformance.Engine.Engine||||service=engine|log_time=20261120T234503.010+0100|service_user=INTERNAL\\\\sa_engine|proxy_session_id=psid|session_id=sid|engine_time=2026-11-20T23:45:05.500+01:00|request_id=41|method=GenericObject::GetHyperCubeData|handle=12|object_id=pQxZk|object_type=table|process_ms=84.2|work_ms=80.9|lock_ms=0.4|validate_ms=1.1|traverse_ms=2.3|net_ram=524288|peak_ram=1048576" \
	"qix-perf: event qix_perf, empty message, every attribute in order"
is "$(parse "$QIX;;n/a;-1;+2;1.5e3;$OBJ; 7 ;.5;")" \
	"qix_perf|sense1|LAB|alice|$GUID1|||||INFO|QixPerformance.Engine.Engine||||service=engine|log_time=20261120T234503.010+0100|service_user=INTERNAL\\\\sa_engine|proxy_session_id=psid|session_id=sid|engine_time=2026-11-20T23:45:05.500+01:00|request_id=41|method=GenericObject::GetHyperCubeData|handle=12|object_id=pQxZk|lock_ms=-1|validate_ms=+2|net_ram=7" \
	"qix-perf: empty and non-decimal timings left out (n/a, 1.5e3, .5), signed and blank-padded ones kept"
is "$(parse "$QIX;1;2;3;4;5;$OBJ;6;7;table;extra")" "$(rejected "$QIX;1;2;3;4;5;$OBJ;6;7;table;e" "too many fields")" \
	"qix-perf: 27 fields: too many"
is "$(parse "$QIX;1;2;3;4;5;$OBJ;6;7")" "$(rejected "$QIX;1;2;3;4;5;$OBJ;6;7" "too few fields")" \
	"qix-perf: 25 fields: too few"
is "$(parse "$QIX;1;2;3;4;5;$OBJ;6;7;table" 9997 | cut -d'|' -f1)" "qix_perf" "qix-perf: any port"

# ---- Butler's 10-field task failure (no prefix), any port ----
B10="sense2;Reload Budget;Budget 2027;LAB\\svc_qlik;$GUID2;$GUID1;2026-11-20 23:46:10,100;ERROR;e42"
for port in 9998 9996 9997; do
	is "$(parse "$B10;Max retries reached; task halted" $port)" \
		"task_failed|sense2|LAB|svc_qlik|$GUID1|Budget 2027|$GUID2|Reload Budget|e42|ERROR||||Max retries reached; task halted" \
		"10-field task failure on $port: columns, ';' kept in the message"
done
is "$(parse "$B10;")" "task_failed|sense2|LAB|svc_qlik|$GUID1|Budget 2027|$GUID2|Reload Budget|e42|ERROR||||" \
	"10-field task failure with an empty message"
is "$(parse " sense2 ; T ; A ;svc; ${GUID2^^} ; $GUID1 ;d; ERROR ; e ;m" | cut -d'|' -f2-10)" \
	"sense2||svc|$GUID1|A|${GUID2^^}|T|e|ERROR" "10 fields: GUIDs in upper case and padded with blanks"
is "$(parse "sense2;T;A;svc;not-a-guid;$GUID1;d;ERROR;e;m" 9998)" \
	"$(rejected "sense2;T;A;svc;not-a-guid;$GUID1;d;ERROR;e;m" "too many fields")" \
	"10 fields without a task GUID: not Butler's format (the legacy one has 4 fields)"
is "$(parse "sense2;T;A;svc;$GUID2;;d;ERROR;e;m" 9998)" \
	"$(rejected "sense2;T;A;svc;$GUID2;;d;ERROR;e;m" "too many fields")" \
	"10 fields with an empty app GUID: not Butler's format"
is "$(parse "sense2;T;A;svc;$GUID2;$GUID1;d;ERROR;e" 9998)" \
	"$(rejected "sense2;T;A;svc;$GUID2;$GUID1;d;ERROR;e" "too many fields")" \
	"9 fields with GUIDs: too few for Butler's format, too many for the legacy one"
is "$(parse "sense1;Start session;LAB;carol" 9997)" "session_start|sense1|LAB|carol||||||||||" \
	"the 4-field legacy format still read"

# Attributes carry escapes: a control byte in an attribute value is escaped like any column's.
printf '%s\t%s\t9996\t%s\n' "$TIME" "$SRC" "/qseow-proxy/;1;t\\x01x;d;WARN;h;L;s\\tu;m;;;;c\\nd;r;;" | qsparse >"$T/o" 2>/dev/null
is "$(cut -f17- "$T/o")" "service=proxy	log_time=t\\x01x	service_user=s\\tu	command=c\\nd	result=r" \
	"escapes in attribute values as in columns"

# The counters name the new event.
printf '%s\t%s\t9996\t%s\n' "$TIME" "$SRC" "$QIX;1;2;3;4;5;$OBJ;6;7;t" "$TIME" "$SRC" "$ENG;m;$TAIL" |
	sed 's/\\/\\\\/g; s/\\\\t/\t/g' >"$T/in"
qsparse <"$T/in" >/dev/null 2>"$T/e"
is "$(cat "$T/e")" "qsparse: 2 lines, 2 events (log 1, qix_perf 1), 0 rejected" "counters: log and qix_perf"

done_testing
