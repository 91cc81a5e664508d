#!/usr/bin/python3
r"""smtpd: a real SMTP server (Debian's python3-aiosmtpd) on 127.0.0.1, for qsmail's tests.

    smtpd.py --port N --dir DIR [--tls CERT KEY] [--auth USER PASSWORD] [--script FILE]

Every message accepted is written to DIR/N.eml (N from 1, or after the last one there) exactly as received, and one JSON
line per event goes to DIR/log: {"event": "connect"} for each connection, and for each
message {"event": "message", "n", "from", "rcpt" (the recipients accepted), "tls" (whether
STARTTLS was done), "login" (the AUTH user, or null), "conn" (which connection, from 1)}.

--tls: STARTTLS offered and required before MAIL. --auth: AUTH PLAIN/LOGIN required, only
this user and password accepted (over TLS when --tls is given).

The script is read again at every command, so a test can change the answers mid-run (the
counts then start again). One line per key, '#' comments:

    KEY ANSWER [ANSWER...]      e.g.  rcpt:bob@example.com 451:4.2.0\x20later ok

KEY: `mail` (MAIL FROM), `rcpt:ADDRESS` or `rcpt:*` (RCPT TO), `body` (the end of DATA). The Nth
command for a key gets the Nth answer, the last answer repeats; `ok` is the normal answer, else
CODE:TEXT, with Python bytes escapes in TEXT (\x20 for a blank). Addresses compare in lower
case. A 421 answer closes the connection after it, as a server shutting down does.
"""
import argparse
import asyncio
import codecs
import json
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

lock = threading.Lock()


class Script:
    def __init__(self, path):
        self.path = path
        self.text = None
        self.answers = {}
        self.counts = {}

    def answer(self, key):
        """The scripted answer for key, or None for the normal one."""
        if not self.path:
            return None
        try:
            with open(self.path) as f:
                text = f.read()
        except OSError:
            text = ""
        if text != self.text:
            self.text = text
            self.answers, self.counts = {}, {}
            for line in text.splitlines():
                words = line.split("#", 1)[0].split()
                if words:
                    self.answers[words[0].lower()] = words[1:]
        base = key.split(":", 1)[0] + ":*"
        k = key if key in self.answers else base if base in self.answers else None
        if k is None or not self.answers[k]:
            return None
        i = self.counts.get(k, 0)
        self.counts[k] = i + 1
        a = self.answers[k][min(i, len(self.answers[k]) - 1)]
        if a == "ok":
            return None
        code, _, text = a.partition(":")
        return code + " " + codecs.escape_decode(text.encode())[0].decode("utf-8", "replace")


class Handler:
    def __init__(self, args):
        self.dir = args.dir
        self.script = Script(args.script)
        # a restarted server goes on numbering after what is there
        self.n = max([int(f[:-4]) for f in os.listdir(self.dir) if f.endswith(".eml")] + [0])

    def log(self, rec):
        with open(os.path.join(self.dir, "log"), "a") as f:
            f.write(json.dumps(rec) + "\n")

    async def handle_MAIL(self, server, session, envelope, address, options):
        with lock:
            a = self.script.answer("mail")
        if a:
            return a
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        with lock:
            a = self.script.answer("rcpt:" + address.lower())
        if a:
            return a
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with lock:
            a = self.script.answer("body")
            if a:
                return a
            self.n += 1
            n = self.n
            with open(os.path.join(self.dir, "%d.eml" % n), "wb") as f:
                f.write(envelope.original_content or envelope.content)
            login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
            self.log({"event": "message", "n": n, "from": envelope.mail_from,
                      "rcpt": envelope.rcpt_tos, "tls": session.ssl is not None,
                      "login": login.decode() if login else None,
                      "conn": getattr(server, "conn_id", 0)})
        return "250 OK queued as %d" % n


class CountingSMTP(SMTP):
    conns = 0

    def connection_made(self, transport):
        with lock:
            CountingSMTP.conns += 1
            self.conn_id = CountingSMTP.conns
            self.event_handler.log({"event": "connect", "conn": self.conn_id})
        super().connection_made(transport)

    async def push(self, status):
        await super().push(status)
        if (status if isinstance(status, str) else status.decode("ascii", "replace")).startswith("421"):
            self.transport.close()


class Server(Controller):
    def factory(self):
        return CountingSMTP(self.handler, **self.SMTP_kwargs)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--auth", nargs=2, metavar=("USER", "PASSWORD"))
    p.add_argument("--script")
    args = p.parse_args()
    kw = {}
    if args.tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*args.tls)
        kw.update(tls_context=ctx, require_starttls=True)
    if args.auth:
        user, password = (s.encode() for s in args.auth)

        def authenticator(server, session, envelope, mechanism, data):
            ok = isinstance(data, LoginPassword) and data.login == user and data.password == password
            return AuthResult(success=ok, handled=False, auth_data=data)
        kw.update(authenticator=authenticator, auth_required=True,
                  auth_require_tls=bool(args.tls))
    handler = Handler(args)
    server = Server(handler, hostname="127.0.0.1", port=args.port, ready_timeout=10, **kw)
    server.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    with open(os.path.join(args.dir, "ready"), "w") as f:
        f.write("%d\n" % args.port)
    while not done.wait(1):
        pass
    server.stop()


if __name__ == "__main__":
    sys.exit(main())
