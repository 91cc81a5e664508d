#!/usr/bin/python3
r"""qrsd: a test double of the Qlik Sense Repository Service (QRS) API, on 127.0.0.1, for
qsenrich's tests.

    qrsd.py --cert SERVER.pem --key SERVER_KEY.pem --ca ROOT.pem --log FILE
            [--port N] [--port-file FILE] [--data FILE] [--script FILE]
            [--user 'UserDirectory=INTERNAL; UserId=sa_repository']

HTTPS only, and a client certificate signed by ROOT.pem is required (as Sense's port 4242
wants): a client without one, or with one from another CA, is refused in the TLS handshake
(logged as kind "tls"). Every request must carry an `xrfkey` query parameter of 16 letters and
digits equal to its X-Qlik-Xrfkey header (else 400), and the X-Qlik-User header given by --user
(else 403).

Endpoints, shaped like the QRS's (field names as Sense's): GET
    /qrs/reloadtask/{id}                         ReloadTask, operational.lastExecutionResult
    /qrs/executionresult/full?filter=executionID eq {id}   [ExecutionResult]
    /qrs/reloadtask/{id}/scriptlog?fileReferenceId={ref}   {"value": ...}   (the old way)
    /qrs/reloadtask/{id}/scriptlogfile?executionResultId={id} {"value": ...} (since May 2025)
    /qrs/download/reloadtask/{value}/scriptlog.txt          the script log, CRLF lines
    /qrs/app/{id}                                App (owner, stream, tags, customProperties)
    /qrs/user/{id}                               User with attributes (email)
Any task or app id is answered with the data set (its id set to the one asked for), so tests
can use many; the user is only the app's owner. Path matching ignores case, as the QRS does.

--data FILE: JSON overriding the defaults of DATA below (task, app, execution, owner, log).
The script log is log_head, then log_body log_repeat times, then log_tail, sent in blocks of
about 1 MiB (so a test can ask for hundreds of MB without the double holding them).

--script FILE (read again whenever it changes; counts start again then): one line per kind,
    KIND ANSWER [ANSWER...]
KIND: reloadtask executionresult scriptlog scriptlogfile download app user, or * for any. The
Nth request of the kind gets the Nth answer, the last repeats. ANSWER: 200 (the data), a status
(404, 500, 401, 403: a QRS-like error body), hang:N (nothing for N seconds, then 200), bad (a
malformed JSON body with status 200), stale (reloadtask: lastExecutionResult is an older, other
execution), running (reloadtask, executionresult: the execution still Started, no stop time),
empty (executionresult: []).

--log FILE: one JSON line per request: {"time", "kind", "path", "query", "xrfkey_ok",
"user", "answer", "status"}. Port 0 takes a free port; it is printed and written to
--port-file once listening. SIGTERM stops it.
"""
import argparse
import json
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DATA = {
    "task_name": "Reload Sales dashboard",
    "app_name": "Sales dashboard",
    "exec_id": "9e8d7c6b-5a49-4838-a727-161504f3e2d1",
    "result_id": "5b1c9d2e-7f30-4a6b-8c1d-2e3f4a5b6c7d",
    "file_ref": "c0ffee00-1234-4abc-9def-0123456789ab",
    "status": 8,
    "node": "sense1.lab.example",
    "start": "2026-11-20T23:40:02.510Z",
    "stop": "2026-11-20T23:41:07.101Z",
    "duration": 64591,
    "details": [
        ["2026-11-20T23:41:07.090Z", "Changing task state from Started to FinishedFail"],
        ["2026-11-20T23:40:02.500Z", "Changing task state from NeverStarted to Triggered"],
        ["2026-11-20T23:40:02.505Z", "Changing task state from Triggered to Started"],
    ],
    "task_tags": ["Nightly", "Finance"],
    "task_props": [["AlertEmail", "ops@example.com"], ["AlertEmail", "bi@example.com"],
                   ["Tier", "gold"]],
    "app_description": "Sales by region.\nOwner: BI team",
    "stream": "Everyone",
    "app_tags": ["Sales"],
    "app_props": [["Department", "Sälj"]],
    "owner": {"id": "7a1e0c52-0a1b-4c2d-8e3f-9a8b7c6d5e4f", "userId": "maria",
              "userDirectory": "LAB", "name": "María Ödegaard", "email": "maria@example.com"},
    "log_head": "\ufeff20261120T234002.510+0100 Execution started.\r\n"
                "20261120T234002.512+0100 Qlik Sense Server Version 14.254.6\r\n",
    "log_body": "20261120T234003.000+0100 Lines fetched: 1000 — Försäljning\r\n",
    "log_repeat": 5,
    "log_tail": "20261120T234107.001+0100 Error: Field 'Regoin' not found\r\n"
                "20261120T234107.002+0100 Execution Failed\r\n"
                "20261120T234107.090+0100 Execution finished.\r\n",
}
NULL_TIME = "1753-01-01T00:00:00.000Z"
KINDS = ("reloadtask", "executionresult", "scriptlog", "scriptlogfile", "download", "app", "user")


class Script:
    """The answers per kind, from the script file, reloaded when it changes."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.text = None
        self.answers = {}
        self.counts = {}

    def _reload(self):
        try:
            with open(self.path) as f:
                text = f.read()
        except OSError:
            text = ""
        if text == self.text:
            return
        self.text = text
        self.answers = {}
        self.counts = {}
        for line in text.splitlines():
            words = line.split("#", 1)[0].split()
            if len(words) >= 2:
                self.answers[words[0]] = words[1:]

    def next_answer(self, kind):
        with self.lock:
            if self.path:
                self._reload()
            seq = self.answers.get(kind) or self.answers.get("*") or ["200"]
            n = self.counts.get(kind, 0)
            self.counts[kind] = n + 1
            return seq[min(n, len(seq) - 1)]


def privileges():
    return None


def condensed(name, id_):
    return {"id": id_, "name": name, "privileges": privileges()}


def execution(d, answer, full):
    """An ExecutionResult (full) or ExecutionResultCondensed (in ReloadTask.operational)."""
    stale = answer == "stale"
    running = answer == "running"
    e = {
        "id": "0badcafe-0000-4000-8000-000000000001" if stale else d["result_id"],
        "executingNodeName": d["node"],
        "status": 7 if stale else 2 if running else d["status"],
        "startTime": "2026-11-19T23:40:00.000Z" if stale else d["start"],
        "stopTime": "2026-11-19T23:41:00.000Z" if stale else NULL_TIME if running else d["stop"],
        "duration": 60000 if stale else 0 if running else d["duration"],
        "fileReferenceID": "00000000-0000-0000-0000-000000000000" if running else d["file_ref"],
        "scriptLogAvailable": not running,
        "details": [{"id": "d0000%03d-0000-4000-8000-000000000000" % i, "detailsType": 2 if i else 1,
                     "message": m, "detailCreatedDate": t, "privileges": privileges()}
                    for i, (t, m) in enumerate(d["details"])],
        "scriptLogLocation": "",
        "scriptLogSize": 0 if running else log_length(d),
        "privileges": privileges(),
    }
    if full:
        e.update({"createdDate": d["start"], "modifiedDate": d["stop"],
                  "modifiedByUserName": "INTERNAL\\sa_scheduler", "schemaPath": "ExecutionResult",
                  "taskID": d["task_id"], "executionID": d["exec_id"], "appID": d["app_id"],
                  "executingNodeID": "11111111-2222-4333-8444-555555555555"})
    return e


def props(pairs):
    return [{"id": "cafe%04d-0000-4000-8000-000000000000" % i, "createdDate": "2026-01-01T00:00:00.000Z",
             "modifiedDate": "2026-01-01T00:00:00.000Z", "modifiedByUserName": "LAB\\admin",
             "value": v, "definition": {"id": "beef%04d-0000-4000-8000-000000000000" % i, "name": n,
                                        "valueType": "Text", "choiceValues": [],
                                        "privileges": privileges()},
             "schemaPath": "CustomPropertyValue"} for i, (n, v) in enumerate(pairs)]


def tags(names):
    return [condensed(n, "7a90%04d-0000-4000-8000-000000000000" % i) for i, n in enumerate(names)]


def reloadtask(d, answer):
    return {
        "id": d["task_id"], "createdDate": "2026-01-01T00:00:00.000Z",
        "modifiedDate": "2026-11-01T00:00:00.000Z", "modifiedByUserName": "LAB\\admin",
        "customProperties": props(d["task_props"]),
        "app": {"id": d["app_id"], "name": d["app_name"], "appId": "", "publishTime": NULL_TIME,
                "published": d["stream"] is not None,
                "stream": condensed(d["stream"], "aaaa0000-0000-4000-8000-000000000000") if d["stream"] else None,
                "savedInProductVersion": "14.254.6", "migrationHash": "", "availabilityStatus": 0,
                "privileges": privileges()},
        "isManuallyTriggered": False,
        "operational": {"id": "0e0e0e0e-0000-4000-8000-000000000000",
                        "lastExecutionResult": execution(d, answer, False),
                        "nextExecution": NULL_TIME, "privileges": privileges()},
        "name": d["task_name"], "taskType": 0, "enabled": True, "taskSessionTimeout": 1440,
        "maxRetries": 0, "tags": tags(d["task_tags"]), "privileges": privileges(),
        "schemaPath": "ReloadTask",
    }


def app(d):
    o = d["owner"]
    return {
        "id": d["app_id"], "createdDate": "2026-01-01T00:00:00.000Z",
        "modifiedDate": "2026-11-01T00:00:00.000Z", "modifiedByUserName": "LAB\\admin",
        "customProperties": props(d["app_props"]),
        "owner": {"id": o["id"], "userId": o["userId"], "userDirectory": o["userDirectory"],
                  "userDirectoryConnectorName": o["userDirectory"], "name": o["name"],
                  "privileges": privileges()},
        "name": d["app_name"], "appId": "", "sourceAppId": "00000000-0000-0000-0000-000000000000",
        "targetAppId": "00000000-0000-0000-0000-000000000000", "publishTime": NULL_TIME,
        "published": d["stream"] is not None, "tags": tags(d["app_tags"]),
        "description": d["app_description"], "stream": condensed(d["stream"], "aaaa0000-0000-4000-8000-000000000000") if d["stream"] else None,
        "fileSize": 123456, "lastReloadTime": d["stop"], "thumbnail": "", "savedInProductVersion": "14.254.6",
        "migrationHash": "", "dynamicColor": "", "availabilityStatus": 0, "privileges": privileges(),
        "schemaPath": "App",
    }


def user(d):
    o = d["owner"]
    attrs = [{"id": "a7700000-0000-4000-8000-000000000000", "createdDate": "2026-01-01T00:00:00.000Z",
              "modifiedDate": "2026-01-01T00:00:00.000Z", "modifiedByUserName": "INTERNAL\\sa_repository",
              "attributeType": "Group", "attributeValue": "BI", "externalId": ""}]
    if o.get("email"):
        attrs.append({"id": "a7700001-0000-4000-8000-000000000000", "createdDate": "2026-01-01T00:00:00.000Z",
                      "modifiedDate": "2026-01-01T00:00:00.000Z", "modifiedByUserName": "INTERNAL\\sa_repository",
                      "attributeType": "Email", "attributeValue": o["email"], "externalId": ""})
    return {"id": o["id"], "createdDate": "2026-01-01T00:00:00.000Z", "modifiedDate": "2026-01-01T00:00:00.000Z",
            "modifiedByUserName": "INTERNAL\\sa_repository", "customProperties": [], "userId": o["userId"],
            "userDirectory": o["userDirectory"], "userDirectoryConnectorName": o["userDirectory"],
            "name": o["name"], "roles": [], "attributes": attrs, "inactive": False, "removedExternally": False,
            "blacklisted": False, "deleteProhibited": False, "tags": [], "privileges": privileges(),
            "schemaPath": "User"}


def log_parts(d):
    return d["log_head"].encode(), d["log_body"].encode(), d["log_tail"].encode()


def log_length(d):
    head, body, tail = log_parts(d)
    return len(head) + len(body) * int(d["log_repeat"]) + len(tail)


GUID = "[0-9a-fA-F-]{36}"
ROUTES = [
    ("reloadtask", re.compile(r"/qrs/reloadtask/(%s)$" % GUID)),
    ("scriptlog", re.compile(r"/qrs/reloadtask/(%s)/scriptlog$" % GUID)),
    ("scriptlogfile", re.compile(r"/qrs/reloadtask/(%s)/scriptlogfile$" % GUID)),
    ("executionresult", re.compile(r"/qrs/executionresult/full$")),
    ("download", re.compile(r"/qrs/download/reloadtask/([^/]+)/scriptlog\.txt$")),
    ("app", re.compile(r"/qrs/app/(%s)$" % GUID)),
    ("user", re.compile(r"/qrs/user/(%s)$" % GUID)),
]


def make_handler(args, data, script, log, log_lock):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def record(self, **kw):
            kw["time"] = time.time()
            with log_lock:
                log.write(json.dumps(kw) + "\n")
                log.flush()

        def send(self, status, body, ctype="application/json; charset=utf-8"):
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass	# the client gave up

        def send_json(self, obj):
            self.send(200, json.dumps(obj, ensure_ascii=False).encode())

        def send_log(self, d):
            head, body, tail = log_parts(d)
            reps = int(d["log_repeat"])
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(log_length(d)))
                self.end_headers()
                self.wfile.write(head)
                per = max(1, (1 << 20) // max(1, len(body)))
                block = body * per
                while reps >= per:
                    self.wfile.write(block)
                    reps -= per
                self.wfile.write(body * reps + tail)
            except OSError:
                pass

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
            q = {k.lower(): v[-1] for k, v in query.items()}
            path = url.path.lower()
            kind, m = "other", None
            for k, rx in ROUTES:
                m = rx.match(path)
                if m:
                    kind = k
                    break
            key = q.get("xrfkey", "")
            xrf_ok = (re.fullmatch(r"[A-Za-z0-9]{16}", key) is not None and
                      self.headers.get("X-Qlik-Xrfkey") == key)
            user_hdr = self.headers.get("X-Qlik-User")
            answer = script.next_answer(kind) if kind != "other" else "404"
            rec = {"kind": kind, "path": url.path, "query": query, "xrfkey_ok": xrf_ok,
                   "user": user_hdr, "answer": answer}
            if not xrf_ok:
                self.record(status=400, **rec)
                return self.send(400, b"XSRF prevention check failed. Possible XSRF discovered.",
                                 "text/plain")
            if user_hdr != args.user:
                self.record(status=403, **rec)
                return self.send(403, b"Forbidden", "text/plain")
            if answer.startswith("hang:"):
                time.sleep(float(answer[5:]))
                answer = "200"
            d = dict(data)
            status = 200
            if answer.isdigit() and answer != "200":
                status = int(answer)
            elif kind in ("reloadtask", "scriptlog", "scriptlogfile"):
                d["task_id"] = m.group(1)
            elif kind == "app":
                d["app_id"] = m.group(1)
            if status == 200 and kind == "scriptlog" and q.get("filereferenceid") != d["file_ref"]:
                status = 404
            if status == 200 and kind == "scriptlogfile" and q.get("executionresultid") != d["result_id"]:
                status = 404
            if status == 200 and kind == "user" and m.group(1) != d["owner"]["id"]:
                status = 404
            if status == 200 and kind == "download" and m.group(1) not in ("old-" + d["file_ref"], "new-" + d["result_id"]):
                status = 404
            exec_id = None
            if status == 200 and kind == "executionresult":
                f = re.fullmatch(r"executionid eq (%s)" % GUID, q.get("filter", "").lower())
                if not f:
                    status = 400
                else:
                    exec_id = f.group(1)
            self.record(status=status, **rec)
            if status != 200:
                return self.send(status, json.dumps({"status": status}).encode())
            if answer == "bad":
                return self.send(200, b'{"id": "1", "operational": {"lastExecutionResult": [')
            if kind == "reloadtask":
                return self.send_json(reloadtask(d, answer))
            if kind == "executionresult":
                if answer == "empty":
                    return self.send_json([])
                d["exec_id"] = exec_id
                return self.send_json([execution(d, answer, True)])
            if kind == "scriptlog":
                return self.send_json({"value": "old-" + d["file_ref"]})
            if kind == "scriptlogfile":
                return self.send_json({"value": "new-" + d["result_id"]})
            if kind == "download":
                return self.send_log(d)
            if kind == "app":
                return self.send_json(app(d))
            return self.send_json(user(d))

        def log_message(self, fmt, *args):
            pass

    return Handler


class TLSServer(ThreadingHTTPServer):
    """The TLS handshake happens in the request's thread, so a client that hangs or is refused
    holds up no one."""
    daemon_threads = True

    def __init__(self, addr, handler, ctx, on_refused):
        super().__init__(addr, handler)
        self.ctx = ctx
        self.on_refused = on_refused

    def finish_request(self, request, client_address):
        try:
            request.settimeout(30)
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.on_refused(str(e))
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        pass


def main():
    ap = argparse.ArgumentParser(description="QRS API test double")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log", required=True)
    ap.add_argument("--script")
    ap.add_argument("--data")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--user", default="UserDirectory=INTERNAL; UserId=sa_repository")
    args = ap.parse_args()

    data = dict(DATA)
    data.update({"task_id": "1b0e6f52-3c1d-4a8e-9f27-5d4c3b2a1908",
                 "app_id": "6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34"})
    if args.data:
        with open(args.data) as f:
            data.update(json.load(f))

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.load_verify_locations(args.ca)
    ctx.verify_mode = ssl.CERT_REQUIRED

    log = open(args.log, "a")
    lock = threading.Lock()

    def on_refused(why):
        with lock:
            log.write(json.dumps({"time": time.time(), "kind": "tls", "error": why}) + "\n")
            log.flush()

    server = TLSServer(("127.0.0.1", args.port),
                       make_handler(args, data, Script(args.script), log, lock), ctx, on_refused)
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    print(port, flush=True)

    def on_term(signum, frame):
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    server.serve_forever()
    server.server_close()
    log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
