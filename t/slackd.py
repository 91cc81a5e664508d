#!/usr/bin/env python3
r"""slackd: a test double of webhooks (Slack, Teams, any HTTP endpoint), on 127.0.0.1, for the
tests of qsslack, qsteams and qshttp.

    slackd.py [--port N] [--port-file FILE] --log FILE [--script FILE]

Every POST or PUT is answered as the script says and recorded as one JSON line in the log:
{"time": epoch seconds at arrival, "method", "path" (with the query), "headers", "body" (text,
bad UTF-8 replaced), "body_utf8": whether it was valid UTF-8, "answer": what was answered}.

The script is read again whenever it changes (so a test can change the answers mid-run; the
per-path request counts then start again). One line per path, '#' comments:

    PATH ANSWER [ANSWER...]      e.g.  /hook/a 500 500 200     /hook/b 404:channel_not_found

PATH may be `*` for any other path. The Nth request to a path gets the Nth answer, the last
answer repeats. An answer is STATUS[:BODY] (BODY defaults to "ok" for 2xx, else a word for
Slack's usual errors), `429:VALUE` (Retry-After: VALUE, body rate_limited), `429` (no
Retry-After), `STATUS/VALUE[:BODY]` (any status with Retry-After: VALUE, e.g. `503/5`), `hang:N`
(answer nothing for N seconds, then 200 ok: past a client's timeout), or `close` (the status
line, headers promising 100 bytes, 10 of them, then the connection closed: an answer cut off).
BODY and VALUE may hold Python bytes escapes (\x00, \n, \x20 for a blank), so an answer can
be binary or hold blanks: `400:a\x00b\n`, `429:Wed,\x2021\x20Oct\x202015\x2007:28:00\x20GMT`.
Without a script or a matching line: 200 ok. Port 0 (default) takes a free port; it is printed
on stdout and written to --port-file. SIGTERM stops it cleanly.
"""
import argparse
import codecs
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_BODIES = {400: "invalid_payload", 403: "action_prohibited", 404: "channel_not_found",
                  410: "channel_is_archived", 413: "payload_too_large", 429: "rate_limited",
                  500: "internal_error", 503: "service_unavailable"}


class Script:
    """The answers per path, from the script file, reloaded when it changes."""

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

    def next_answer(self, path):
        with self.lock:
            if self.path:
                self._reload()
            seq = self.answers.get(path) or self.answers.get("*") or ["200"]
            n = self.counts.get(path, 0)
            self.counts[path] = n + 1
            return seq[min(n, len(seq) - 1)]


def parse_answer(word):
    """(status, body bytes, headers, hang seconds)"""
    if word.startswith("hang:"):
        return 200, b"ok", {}, float(word[5:])
    status, _, rest = word.partition(":")
    status, _, retry_after = status.partition("/")
    status = int(status)
    rest = codecs.escape_decode(rest.encode())[0]
    if retry_after:
        body = rest or DEFAULT_BODIES.get(status, "error").encode()
        return status, body, {"Retry-After": retry_after}, 0
    if status == 429:
        headers = {"Retry-After": rest.decode("latin-1")} if rest else {}
        return 429, b"rate_limited", headers, 0
    body = rest or ("ok" if 200 <= status < 300 else DEFAULT_BODIES.get(status, "error")).encode()
    return status, body, {}, 0


def make_handler(script, log, log_lock):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"	# keep-alive, as Slack: qsslack reuses its connection
        # The headers and the body go out in two writes: without this, Nagle holds the body
        # until the client's delayed ACK (40 ms a request), and a benchmark measures that.
        disable_nagle_algorithm = True

        def do_PUT(self):
            self.do_POST()

        def do_POST(self):
            arrival = time.time()
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            word = script.next_answer(self.path)
            try:
                body_utf8 = raw.decode("utf-8")
                valid = True
            except UnicodeDecodeError:
                body_utf8 = raw.decode("utf-8", "replace")
                valid = False
            record = {"time": arrival, "method": self.command, "path": self.path, "headers": dict(self.headers),
                      "body": body_utf8, "body_utf8": valid, "answer": word}
            with log_lock:
                log.write(json.dumps(record) + "\n")
                log.flush()
            if word == "close":
                try:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nok ok ok o")
                    self.wfile.flush()
                except OSError:
                    pass
                self.close_connection = True
                return
            status, body, headers, hang = parse_answer(word)
            if hang:
                time.sleep(hang)
            data = body
            try:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass	# the client gave up (a hang past its timeout)

        def log_message(self, fmt, *args):
            pass

    return Handler


def main():
    ap = argparse.ArgumentParser(description="Slack incoming-webhook test double")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log", required=True)
    ap.add_argument("--script")
    args = ap.parse_args()

    log = open(args.log, "a")
    server = ThreadingHTTPServer(("127.0.0.1", args.port),
                                 make_handler(Script(args.script), log, threading.Lock()))
    server.daemon_threads = True	# a hanging answer does not hold up the exit
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
