#!/usr/bin/env bash
# etc/log4net/scheduler/LocalLogConfig.xml routes each scheduler line as log4net would: a log4net
# model (logger hierarchy with additivity, appender threshold, filter chain: StringMatchFilter,
# LoggerMatchFilter, DenyAllFilter, first decision wins) is run over the lines Sense writes, and
# each line that reaches an appender is rendered and parsed by qsparse. One failed reload: one
# task_failed and no `log` twin; the preload failures Butler catches; a distribution task.
. "$(dirname "$0")/lib.sh"
scheduler=$top/etc/log4net/scheduler/LocalLogConfig.xml
if [ ! -x "$top/qsparse" ]; then
	skip "scheduler routing: ./qsparse is not built"
	done_testing
fi

cat >"$T/route.py" <<'PY'
import re, runpy, sys, xml.etree.ElementTree as ET

escape = runpy.run_path(sys.argv[2])["escape"]
LEVELS = {"DEBUG": 1, "INFO": 2, "WARN": 3, "ERROR": 4, "FATAL": 5}
root = ET.parse(sys.argv[1]).getroot()

def params(el):
    return {p.get("name").lower(): p.get("value") for p in el.findall("param")}

refs = {}	# logger name -> appender names
for lg in root.findall("logger"):
    refs.setdefault(lg.get("name"), []).extend(r.get("ref") for r in lg.findall("appender-ref"))
appenders = {a.get("name"): a for a in root.findall("appender")}

def decide(ap, logger, level, message):
    """log4net's AppenderSkeleton: threshold, then the filter chain (first non-neutral wins;
    neutral at the end accepts)."""
    threshold = params(ap).get("threshold")
    if threshold and LEVELS[level] < LEVELS[threshold.upper()]:
        return False
    for f in ap.findall("filter"):
        fp = params(f)
        accept = fp.get("acceptonmatch", "true").lower() != "false"
        kind = f.get("type")
        if kind == "log4net.Filter.DenyAllFilter":
            return False
        if kind == "log4net.Filter.StringMatchFilter":
            if fp["stringtomatch"] in message:
                return accept
        elif kind == "log4net.Filter.LoggerMatchFilter":
            if logger.startswith(fp["loggertomatch"]):
                return accept
        else:
            sys.exit("unknown filter " + kind)
    return True

def render(ap, logger, level, message):
    pattern = params(ap.find("layout"))["conversionpattern"]
    props = {"TaskName": "Preload Sales", "AppName": "Sales", "User": "LAB\\svc_qlik",
             "TaskId": "1b0e6f52-3c1d-4a8e-9f27-5d4c3b2a1908",
             "AppId": "6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34",
             "ExecutionId": "9e8d7c6b-5a49-4838-a727-161504f3e2d1",
             "UserDirectory": "", "UserId": ""}
    values = {"hostname": "sense1", "rownum": "1", "longIso8601date": "20261120T234501.123+0100",
              "date": "2026-11-20 23:45:01,123", "user": "INTERNAL\\sa_scheduler",
              "encodedexception": "", "encodedmessage": message, "message": message,
              "level": level, "logger": logger}
    def fill(m):
        return props[m.group(2)] if m.group(1) == "property" else values[m.group(1)]
    return re.sub(r"%([A-Za-z][A-Za-z0-9]*)(?:\{([^}]*)\})?", fill, pattern)

# stdin: LOGGER<TAB>LEVEL<TAB>MESSAGE; stdout: the payloads sent, as bare lines, and on stderr
# "APPENDER" per payload, in the same order
for line in sys.stdin:
    logger, level, message = line.rstrip("\n").split("\t")
    parts = logger.split(".")
    names = [".".join(parts[:i]) for i in range(len(parts), 0, -1)]	# itself, then ancestors
    for name in names:
        for ref in refs.get(name, []):
            ap = appenders[ref]
            if decide(ap, logger, level, message):
                print(escape(render(ap, logger, level, message).encode()).decode())
                print(ref, file=sys.stderr)
PY

ts=System.Scheduler.Scheduler.Master.Task.TaskSession
rt=System.Scheduler.Scheduler.Slave.Tasks.ReloadTask
# route LEVEL LOGGER MESSAGE: "APPENDER EVENT" for every datagram the line makes, one a line
route() {
	printf '%s\t%s\t%s\n' "$2" "$1" "$3" |
		python3 "$T/route.py" "$scheduler" "$top/t/udpcat-dgram.py" >"$T/payloads" 2>"$T/appenders" || return 1
	qsparse <"$T/payloads" 2>/dev/null | cut -f2 | paste "$T/appenders" - | tr '\t' ' '
}

is "$(route ERROR "$ts" "Task finished with state FinishedFail. Max retries reached (3)")" \
	"QspipeTaskFailed task_failed" "a failed reload (ERROR on the task session): task_failed alone, no log twin"
is "$(route WARN "$ts" "Task Execution State Change to Retrying")" "" \
	"a retry warning of the task session: nothing (the result comes later)"
is "$(route ERROR "$ts" "Failed to start session for preload task Preload Sales")" \
	"QspipeTaskFailed task_failed" "a preload that failed to start its session: task_failed"
is "$(route ERROR "$ts" "Could not reserve an executor for task Preload Sales")" \
	"QspipeTaskFailed task_failed" "a preload without an executor: task_failed"
is "$(route INFO "$ts" "Execution State Change to Aborting")" \
	"QspipeTaskAborted task_aborted" "an aborted reload: task_aborted"
is "$(route INFO "$ts" "Execution State Change to FinishedSuccess")" \
	"QspipeTaskSucceeded task_succeeded" "a successful reload: task_succeeded"
is "$(route INFO "$rt" "Exiting execute of Distribute task request.")" \
	"QspipeTaskDistributed task_distributed" "a distribution task ended: task_distributed"
is "$(route INFO "$rt" "Reload started")" "" "other info lines of the reload task logger: nothing"
is "$(route ERROR "System.Scheduler.Scheduler.Master.Repository" "Connection to repository lost")" \
	"QspipeSchedulerLog log" "an error elsewhere in the scheduler: log"
is "$(route WARN "$rt" "Engine slow to answer")" \
	"QspipeSchedulerLog log" "a warning of the reload task logger: log"
is "$(route INFO "System.Scheduler.Scheduler.Master" "Heartbeat")" "" "info elsewhere: nothing (threshold)"

# The filter the duplicate came through, named so that a rename cannot drop it unnoticed.
like "$(grep -A3 'LoggerMatchFilter' "$scheduler" | tr -d ' \n')" \
	'<paramname="loggerToMatch"value="System.Scheduler.Scheduler.Master.Task.TaskSession"/><paramname="acceptOnMatch"value="false"/>' \
	"the warnings appender denies the task session's logger (LoggerMatchFilter, acceptOnMatch false)"

done_testing
