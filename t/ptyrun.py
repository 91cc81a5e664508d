#!/usr/bin/python3
"""ptyrun.py PATTERN SECONDS COMMAND...: runs COMMAND on a new terminal (its own session, the
terminal its controlling one, as in an interactive shell), waits until its output matches the
regular expression PATTERN, types Ctrl-C, reads the output until the command ends (at most
SECONDS in all) and writes it to stdout. Exit status: the command's, 128+N when a signal N
killed it, 124 when it did not end in time (it is killed then)."""
import os, pty, re, select, signal, sys, time

pattern = re.compile(sys.argv[1].encode(), re.M)
limit = float(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    # as on a terminal: Ctrl-C and Ctrl-\ do their default, even where this test was started
    # with them ignored (a background job of a non-interactive shell), which nothing could trap
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)
    os.execvp(sys.argv[3], sys.argv[3:])
out = b""
typed = False
deadline = time.monotonic() + limit
while time.monotonic() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.1)
    if ready:
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: the terminal's last writer is gone
            break
        if not data:
            break
        out += data
    if not typed and pattern.search(out):
        time.sleep(0.3)  # the trap and the stages' handlers are in place by now
        os.write(fd, b"\x03")
        typed = True
status = 124
done, st = os.waitpid(pid, os.WNOHANG)
if not done:
    end = time.monotonic() + max(0.0, deadline - time.monotonic())
    while not done and time.monotonic() < end:
        time.sleep(0.05)
        done, st = os.waitpid(pid, os.WNOHANG)
if not done:
    os.killpg(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
elif os.WIFSIGNALED(st):
    status = 128 + os.WTERMSIG(st)
else:
    status = os.WEXITSTATUS(st)
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
sys.exit(status)
