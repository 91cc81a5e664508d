#!/usr/bin/env python3
"""Test helper: a supervisor that holds UDP sockets across restarts, as systemd does for a
socket unit (LISTEN_FDS) and s6-fdholder for s6-rc.

  udpcat-holder.py [-r] [-s STATUS] ADDR PORT... -- COMMAND...

Binds a UDP socket to ADDR:PORT for each PORT (-r: with SO_REUSEPORT, as ReusePort=yes), then
runs COMMAND with them as descriptors 3.. and LISTEN_FDS, LISTEN_PID (the child's own) and
LISTEN_FDNAMES set. SIGHUP: SIGTERM to the child, wait for it, start it again (systemctl
restart). SIGTERM: stop the child and exit with its status. Each start appends "start PID" to
STATUS, each end "exit STATUS".
"""
import os
import signal
import socket
import sys

args = sys.argv[1:]
reuse = False
status = None
while args and args[0] in ("-r", "-s"):
    if args[0] == "-r":
        reuse = True
        args = args[1:]
    else:
        status = args[1]
        args = args[2:]
sep = args.index("--")
addr, ports, command = args[0], args[1:sep], args[sep + 1:]
family = socket.AF_INET6 if ":" in addr else socket.AF_INET
socks = []
for port in ports:
    s = socket.socket(family, socket.SOCK_DGRAM)
    if reuse:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind((addr, int(port)))
    socks.append(s)


def note(text):
    if status:
        with open(status, "a") as f:
            f.write(text + "\n")


def start():
    pid = os.fork()
    if pid == 0:
        for i, s in enumerate(socks):
            if s.fileno() != 3 + i:
                os.dup2(s.fileno(), 3 + i)
            os.set_inheritable(3 + i, True)
        os.environ["LISTEN_PID"] = str(os.getpid())
        os.environ["LISTEN_FDS"] = str(len(socks))
        os.environ["LISTEN_FDNAMES"] = ":".join("udp%s" % p for p in ports)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        os.execvp(command[0], command)
    note("start %d" % pid)
    return pid


def stop(pid):
    os.kill(pid, signal.SIGTERM)
    _, st = os.waitpid(pid, 0)
    note("exit %d" % os.waitstatus_to_exitcode(st))
    return os.waitstatus_to_exitcode(st)


class Wanted(Exception):
    pass


def on_signal(signo, _frame):
    raise Wanted(signo)


signal.signal(signal.SIGHUP, on_signal)
signal.signal(signal.SIGTERM, on_signal)
child = start()
while True:
    try:
        _, st = os.waitpid(child, 0)
        note("exit %d" % os.waitstatus_to_exitcode(st))
        sys.exit(os.waitstatus_to_exitcode(st))
    except Wanted as w:
        signo = w.args[0]
    # the signals are blocked while the child is stopped and started again
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGHUP, signal.SIGTERM])
    code = stop(child)
    if signo == signal.SIGTERM:
        sys.exit(code)
    child = start()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGHUP, signal.SIGTERM])
