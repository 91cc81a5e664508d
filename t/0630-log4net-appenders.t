#!/usr/bin/env bash
# etc/log4net/*/LocalLogConfig.xml: well-formed, every appender wired to a logger and aimed at
# QSPIPE_HOST on the port of its kind, and every conversion pattern, filled in as log4net would,
# gives a payload qsparse turns into the expected event (qspipe-events(5)).
. "$(dirname "$0")/lib.sh"
proxy=$top/etc/log4net/proxy/LocalLogConfig.xml
scheduler=$top/etc/log4net/scheduler/LocalLogConfig.xml

for f in "$proxy" "$scheduler"; do
	ok "${f#"$top"/}: well-formed XML" python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$f"
	if command -v xmllint >/dev/null; then
		ok "${f#"$top"/}: xmllint agrees" xmllint --noout "$f"
	fi
done

# render.py FILE UDPCAT_DGRAM_PY: for every UdpAppender,
#     NAME<TAB>PORT<TAB>HOST<TAB>ENCODING<TAB>LOGGERS<TAB>PAYLOAD<TAB>closed|open (its filters)
# (PAYLOAD escaped as udpcat -r writes it, by t/udpcat-dgram.py's escape)
# with the pattern filled in from sample values; an unknown conversion is an error.
cat >"$T/render.py" <<'PY'
import re, runpy, sys, xml.etree.ElementTree as ET

escape = runpy.run_path(sys.argv[2])["escape"]	# a payload as a bare line, escaped

SAMPLE = {
    "hostname": "sense1.lab.example",
    "rownum": "17",
    "longIso8601date": "20261120T234501.123+0100",
    "date": "2026-11-20 23:45:01,123",
    "user": "INTERNAL\\sa_service",
    "encodedexception": "",
}
PROPS = {
    "UserDirectory": "LAB", "UserId": "alice", "Origin": "AppAccess", "Result": "Failed", "Command": "Login",
    "User": "LAB\\svc_qlik", "TaskName": "Reload Sales", "AppName": "Sales (prod)",
    "TaskId": "1b0e6f52-3c1d-4a8e-9f27-5d4c3b2a1908", "AppId": "6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34",
    "ExecutionId": "9e8d7c6b-5a49-4838-a727-161504f3e2d1",
    # the engine's
    "ProxySessionId": "7d3e9c2a-1b4f-4e6a-8c5d-2f1e0a9b8c7d", "ActiveUserDirectory": "LAB",
    "ActiveUserId": "alice", "EngineTimestamp": "2026-11-20T23:45:01.123+01:00", "ProcessId": "5872",
    "Exe Version": "14.78.2", "Server Started": "2026-11-19T06:00:12.000+01:00", "Entry Type": "Reload",
    "SessionId": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f", "DocId": "6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34",
    "RequestId": "41", "Method": "GenericObject::GetLayout", "ProcessTime": "84.2", "WorkTime": "80.9",
    "LockTime": "0.4", "ValidateTime": "1.1", "TraverseTime": "2.3", "Handle": "12", "ObjectId": "pQxZk",
    "NetRAM": "524288", "PeakRAM": "1048576", "ObjectType": "table",
}

def params(el):
    return {p.get("name").lower(): p.get("value") for p in el.findall("param")}

root = ET.parse(sys.argv[1]).getroot()
loggers = {}
for lg in root.findall("logger"):
    for ref in lg.findall("appender-ref"):
        loggers.setdefault(ref.get("ref"), []).append(lg.get("name"))

for ap in root.findall("appender"):
    if ap.get("type") != "log4net.Appender.UdpAppender":
        continue
    name = ap.get("name")
    p = params(ap)
    layout = ap.find("layout")
    pattern = params(layout)["conversionpattern"]
    converters = {params(c)["name"] for c in layout.findall("converter")}
    matches = [params(f).get("stringtomatch") for f in ap.findall("filter")
               if f.get("type") == "log4net.Filter.StringMatchFilter"]
    # the message passes the first filter, and holds a ';' the way real messages do
    message = (matches[0] if matches else "Something failed") + "; see the log"
    level = p.get("threshold", "info").upper()
    props = dict(PROPS)
    if matches:
        props["Command"] = {"Start session for user": "Start session",
                            "connection Opened for session": "Open connection"}.get(matches[0], "Login")
    props["Context"] = "/app/" + PROPS["AppId"] if "connection" in name.lower() else "/hub"
    logger = (loggers.get(name) or ["?"])[0]
    values = dict(SAMPLE, message=message, encodedmessage=message, level=level, logger=logger)

    def fill(m):
        word, option = m.group(1), m.group(2)
        if word == "property":
            return props[option]
        if word in ("hostname", "rownum", "longIso8601date", "user", "encodedmessage", "encodedexception") \
                and word not in converters:
            sys.exit("%s: %%%s without its Qlik converter" % (name, word))
        if word not in values:
            sys.exit("%s: unknown conversion %%%s" % (name, word))
        return values[word]

    payload = re.sub(r"%([A-Za-z][A-Za-z0-9]*)(?:\{([^}]*)\})?", fill, pattern)
    filters = [f.get("type") for f in ap.findall("filter")]
    # a StringMatchFilter only accepts; without a closing DenyAllFilter everything passes
    closed = "closed" if not filters or filters[-1] == "log4net.Filter.DenyAllFilter" else "open"
    print("\t".join([name, p["remoteport"], p["remoteaddress"], p.get("encoding", ""),
                     " ".join(loggers.get(name, [])), escape(payload.encode()).decode(), closed]))
PY

dgram=$top/t/udpcat-dgram.py
python3 "$T/render.py" "$proxy" "$dgram" >"$T/proxy.tsv" && python3 "$T/render.py" "$scheduler" "$dgram" >"$T/scheduler.tsv"
ok "every conversion pattern renders (no unknown conversion, Qlik converters declared)" test -s "$T/proxy.tsv" -a -s "$T/scheduler.tsv"
cat "$T/proxy.tsv" "$T/scheduler.tsv" >"$T/all.tsv"

is "$(cut -f1,2 "$T/all.tsv" | tr '\t' :)" "QspipeSession:9997
QspipeConnection:9997
QspipeProxyLog:9996
QspipeTaskFailed:9998
QspipeTaskAborted:9998
QspipeTaskSucceeded:9998
QspipeSchedulerLog:9996" "the appenders and their ports: 9997 user, 9998 task, 9996 log"
is "$(cut -f3,4 "$T/all.tsv" | sort -u)" "QSPIPE_HOST	utf-8" "every appender: remoteAddress QSPIPE_HOST to fill in, encoding utf-8"
is "$(cut -f5 "$T/all.tsv" | grep -c .)" 7 "every appender is referenced by a logger"
is "$(grep -c 'value="warn"' "$proxy" "$scheduler" | cut -d: -f2 | tr '\n' ' ')" "1 1 " "the log appenders have a warn threshold"
is "$(cut -f7 "$T/all.tsv" | sort -u)" "closed" "every filter chain ends with a DenyAllFilter"

if [ ! -x "$top/qsparse" ]; then
	skip "payloads through qsparse: ./qsparse is not built"
	done_testing
fi

cut -f6 "$T/all.tsv" | qsparse >"$T/events.tsv" 2>"$T/qsparse.err"
is "$(wc -l <"$T/events.tsv" | tr -d ' ')" 7 "qsparse takes every payload"
is "$(grep -c ': line [0-9]*:' "$T/qsparse.err")" 0 "... without a complaint"

# event host user_dir user_id app_id app_name task_id task_name exec_id level logger origin context message
cols() { sed -n "${1}p" "$T/events.tsv" | cut -f2-15; }
tid=1b0e6f52-3c1d-4a8e-9f27-5d4c3b2a1908
aid=6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34
xid=9e8d7c6b-5a49-4838-a727-161504f3e2d1
h=sense1.lab.example
tab=$'\t'
is "$(cols 1)" "session_start${tab}$h${tab}LAB${tab}alice${tab}${tab}${tab}${tab}${tab}${tab}${tab}${tab}AppAccess${tab}/hub${tab}Start session for user; see the log" \
	"proxy session appender -> session_start with every field in place"
is "$(cols 2 | cut -f1-5,12-14)" "connection_open${tab}$h${tab}LAB${tab}alice${tab}$aid${tab}AppAccess${tab}/app/$aid${tab}connection Opened for session; see the log" \
	"proxy connection appender -> connection_open, app_id from the context"
is "$(cols 3 | cut -f1-4,10-14)" "log${tab}$h${tab}LAB${tab}alice${tab}WARN${tab}Audit.Proxy${tab}AppAccess${tab}/hub${tab}Something failed; see the log" \
	"proxy log appender -> log: level, logger, user, origin, context, message with its ';'"
is "$(cols 4)" "task_failed${tab}$h${tab}LAB${tab}svc_qlik${tab}$aid${tab}Sales (prod)${tab}$tid${tab}Reload Sales${tab}$xid${tab}INFO${tab}${tab}${tab}${tab}Max retries reached; see the log" \
	"scheduler failed appender -> task_failed with every field in place"
is "$(cols 5 | cut -f1)" "task_aborted" "scheduler aborted appender -> task_aborted"
is "$(cols 6 | cut -f1,7-9)" "task_succeeded${tab}$tid${tab}Reload Sales${tab}$xid" "scheduler success appender -> task_succeeded"
is "$(cols 7 | cut -f1,2,5-11,14)" "log${tab}$h${tab}$aid${tab}Sales (prod)${tab}$tid${tab}Reload Sales${tab}$xid${tab}WARN${tab}System.Scheduler${tab}Something failed; see the log" \
	"scheduler log appender -> log with the task's fields"

# The repository's and the engine's files, and the engine's QIX performance appender, which
# ships commented out: with its two marker lines deleted, as its comment says, it is live.
repository=$top/etc/log4net/repository/LocalLogConfig.xml
engine=$top/etc/log4net/engine/LocalLogConfig.xml
grep -v 'QIX-PERF-' "$engine" >"$T/engine-qix.xml"
ok "the engine file marks the two lines to delete" test "$(grep -c 'QIX-PERF-' "$engine")" = 2
for f in "$repository" "$engine" "$T/engine-qix.xml"; do
	ok "${f##*/log4net/}: well-formed XML" python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$f"
	if command -v xmllint >/dev/null; then
		ok "${f##*/log4net/}: xmllint agrees" xmllint --noout "$f"
	fi
done
python3 "$T/render.py" "$repository" "$dgram" >"$T/repository.tsv" &&
	python3 "$T/render.py" "$engine" "$dgram" >"$T/engine.tsv" &&
	python3 "$T/render.py" "$T/engine-qix.xml" "$dgram" >"$T/engine-qix.tsv"
ok "their patterns render" test -s "$T/repository.tsv" -a -s "$T/engine.tsv" -a -s "$T/engine-qix.tsv"
is "$(cut -f1,2,3,4,7 "$T/repository.tsv" "$T/engine.tsv" | tr '\t' :)" "QspipeRepositoryLog:9996:QSPIPE_HOST:utf-8:closed
QspipeEngineLog:9996:QSPIPE_HOST:utf-8:closed" "as shipped: one log appender each, to QSPIPE_HOST:9996; no QIX performance appender live"
is "$(cut -f1,2,5 "$T/engine-qix.tsv" | tr '\t' :)" "QspipeEngineLog:9996:Performance.Engine System.Engine Session.Engine
QspipeQixPerf:9996:QixPerformance.Engine.Engine" "uncommented: the QIX performance appender too, on its logger"
is "$(grep -c 'value="warn"' "$repository" "$engine" | cut -d: -f2 | tr '\n' ' ')" "1 1 " "the log appenders have a warn threshold"
cat "$T/repository.tsv" "$T/engine-qix.tsv" | cut -f6 | qsparse >"$T/more.tsv" 2>"$T/qsparse.err"
is "$(wc -l <"$T/more.tsv" | tr -d ' ')|$(grep -c ': line [0-9]*:' "$T/qsparse.err")" "3|0" "qsparse takes them, without a complaint"
attrs() { sed -n "${1}p" "$T/more.tsv" | cut -f17- | tr '\t' ' '; }
is "$(sed -n 1p "$T/more.tsv" | cut -f2-15)" "log${tab}$h${tab}LAB${tab}alice${tab}${tab}${tab}${tab}${tab}${tab}WARN${tab}Service${tab}AppAccess${tab}/hub${tab}Something failed; see the log" \
	"repository appender -> log with every column in place"
is "$(attrs 1)" "service=repository log_time=20261120T234501.123+0100 service_user=INTERNAL\\\\sa_service command=Login result=Failed" \
	"... and its attributes"
is "$(sed -n 2p "$T/more.tsv" | cut -f2-15)" "log${tab}$h${tab}LAB${tab}alice${tab}$aid${tab}${tab}${tab}${tab}${tab}WARN${tab}Performance.Engine${tab}${tab}${tab}Something failed; see the log" \
	"engine appender -> log with every column in place (no EXCEPTION field)"
is "$(attrs 2)" "service=engine log_time=20261120T234501.123+0100 service_user=INTERNAL\\\\sa_service proxy_session_id=7d3e9c2a-1b4f-4e6a-8c5d-2f1e0a9b8c7d session_id=c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f engine_time=2026-11-20T23:45:01.123+01:00 process_id=5872 exe_version=14.78.2 server_started=2026-11-19T06:00:12.000+01:00 entry_type=Reload" \
	"... and its attributes"
is "$(sed -n 3p "$T/more.tsv" | cut -f2-15)" "qix_perf${tab}$h${tab}LAB${tab}alice${tab}$aid${tab}${tab}${tab}${tab}${tab}INFO${tab}QixPerformance.Engine.Engine${tab}${tab}${tab}" \
	"QIX performance appender -> qix_perf, no message"
is "$(attrs 3)" "service=engine log_time=20261120T234501.123+0100 service_user=INTERNAL\\\\sa_service proxy_session_id=7d3e9c2a-1b4f-4e6a-8c5d-2f1e0a9b8c7d session_id=c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f engine_time=2026-11-20T23:45:01.123+01:00 request_id=41 method=GenericObject::GetLayout handle=12 object_id=pQxZk object_type=table process_ms=84.2 work_ms=80.9 lock_ms=0.4 validate_ms=1.1 traverse_ms=2.3 net_ram=524288 peak_ram=1048576" \
	"... and every attribute, in order"

done_testing
