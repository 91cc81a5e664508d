#!/usr/bin/python3
r"""influxdouble: a test double of an InfluxDB write endpoint, on 127.0.0.1, for qsinflux's tests.

    influxdouble.py --port-file FILE --log FILE --points FILE [--script FILE]

Every request is recorded as one JSON line in the log: {"method", "path" (with the query),
"headers" (lower-case names), "gzip" (the body came gzip-encoded), "lines" (how many), "status"}.
The points of every accepted line are appended to the points file, one a line.

The script (read again whenever it changes) holds words, '#' comments:
    answers A A ...   the Nth request gets the Nth answer, the rest are judged; an answer is
                      STATUS or STATUS:RETRY_AFTER (429:2)
    reject WORD       a line holding WORD is refused: 400 {"error":"partial write: unable to
                      parse 'LINE': ..."}, the other lines of the batch accepted (as 1.x does)
    max_lines N       a body of more lines is refused whole with 413
    no_gzip           a gzip body is refused with 415
    token T           without "Authorization: Token T" (or Bearer T): 401
Without a script every body is accepted with 204.
"""
import argparse
import gzip
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Script:
    def __init__(self, path):
        self.path, self.text, self.lock = path, None, threading.Lock()
        self.conf, self.seen = {}, 0

    def get(self):
        try:
            with open(self.path) as f:
                text = f.read()
        except (OSError, TypeError):
            text = ""
        if text != self.text:
            self.text, self.seen, self.conf = text, 0, {}
            for line in text.splitlines():
                words = line.split("#", 1)[0].split()
                if words:
                    self.conf[words[0]] = words[1:]
        return self.conf


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if body:
            self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        srv = self.server
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        zipped = self.headers.get("Content-Encoding", "") == "gzip"
        with srv.script.lock:
            conf = srv.script.get()
            srv.script.seen += 1
            nth = srv.script.seen
        body = gzip.decompress(raw) if zipped else raw
        lines = [l for l in body.split(b"\n") if l]
        status, extra, accepted, err = 204, [], lines, b""
        answers = conf.get("answers", [])
        token = conf.get("token")
        auth = self.headers.get("Authorization", "")
        if nth <= len(answers):
            a = answers[nth - 1].split(":")
            status, accepted = int(a[0]), []
            if len(a) > 1:
                extra.append(("Retry-After", a[1]))
            if status >= 300:
                err = b'{"error":"scripted"}'
        elif token and auth not in ("Token " + token[0], "Bearer " + token[0]):
            status, accepted, err = 401, [], b'{"error":"authorization failed"}'
        elif "no_gzip" in conf and zipped:
            status, accepted, err = 415, [], b'{"error":"unsupported encoding"}'
        elif "max_lines" in conf and len(lines) > int(conf["max_lines"][0]):
            status, accepted, err = 413, [], b'{"error":"Request Entity Too Large"}'
        elif "reject" in conf:
            word = conf["reject"][0].encode()
            bad = [l for l in lines if word in l]
            if bad:
                accepted = [l for l in lines if word not in l]
                status = 400
                err = json.dumps({"error": "partial write: unable to parse '%s': invalid field format dropped=%d"
                                  % (bad[0].decode("utf-8", "replace"), len(bad))}).encode()
        with srv.lock:
            with open(srv.points, "ab") as f:
                for l in accepted:
                    f.write(l + b"\n")
            rec = {"method": "POST", "path": self.path, "gzip": zipped, "lines": len(lines),
                   "status": status,
                   "headers": {k.lower(): v for k, v in self.headers.items()}}
            with open(srv.log, "a") as f:
                f.write(json.dumps(rec) + "\n")
        self.answer(status, err, extra)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--points", required=True)
    ap.add_argument("--script")
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.script, srv.log, srv.points = Script(args.script), args.log, args.points
    srv.lock = threading.Lock()
    open(srv.points, "ab").close()
    signal.signal(signal.SIGTERM, lambda *a: (srv.server_close(), os._exit(0)))
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
