#!/usr/bin/env bash
# Every tool that reads a pipe grows it to 1 MiB (pipe-max-size), so a stage descheduled for a
# few milliseconds at 150,000 events/s does not stop the stages before it; input that is not a
# pipe is left alone.
. "$(dirname "$0")/lib.sh"

max=$(cat /proc/sys/fs/pipe-max-size)
[ "$max" -ge 1048576 ] || diag "pipe-max-size is $max here: expecting the pipes to stay as they are"
want=$((max >= 1048576 ? 1048576 : 65536))

# pipe_size TOOL ARGS...: the size of the tool's stdin pipe once the tool is running (it then
# gets end of input), or "default" when it never changed within 5 s.
pipe_size() {
	python3 - "$@" <<'PY'
import fcntl, os, subprocess, sys, time
F_GETPIPE_SZ = 1032
r, w = os.pipe()
before = fcntl.fcntl(w, F_GETPIPE_SZ)
p = subprocess.Popen(sys.argv[1:], stdin=r, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.close(r)
size = "default"
deadline = time.monotonic() + 5
while time.monotonic() < deadline and p.poll() is None:
    now = fcntl.fcntl(w, F_GETPIPE_SZ)
    if now != before:
        size = now
        break
    time.sleep(0.02)
os.close(w)
try:
    p.wait(timeout=10)
except subprocess.TimeoutExpired:
    p.kill()
    p.wait()
print(size)
PY
}

cat >"$T/slack.ini" <<'CONF'
[qsslack]
webhook = http://127.0.0.1:9/hook
CONF
port=$(free_port)
grown() { if [ "$want" = 65536 ]; then echo default; else echo "$want"; fi; }
is "$(pipe_size qsparse)" "$(grown)" "qsparse grows its input pipe"
is "$(pipe_size qsroute)" "$(grown)" "qsroute grows its input pipe"
is "$(pipe_size qsmqtt -h 127.0.0.1 -p "$port")" "$(grown)" "qsmqtt grows its input pipe"
is "$(pipe_size qsslack -c "$T/slack.ini" -n)" "$(grown)" "qsslack grows its input pipe"
is "$(pipe_size udpcat -s "127.0.0.1:$port")" "$(grown)" "udpcat -s grows its input pipe"

# a file on stdin is not a pipe: nothing to grow, nothing said
printf 'x\n' >"$T/in"
qsroute <"$T/in" >/dev/null 2>"$T/err"
is "$(grep -c pipe "$T/err")" 0 "a file on stdin: no word about pipes"

done_testing
