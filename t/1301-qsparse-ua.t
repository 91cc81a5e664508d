#!/usr/bin/env bash
# qsparse names the browser and OS of a user event's "UserAgent:" with uap-core's regexes:
# ua_browser, ua_browser_major, ua_os, ua_os_version, each only when known; ua_regexes = FILE
# or none; without the file it says so once and the events go out without them.
. "$(dirname "$0")/lib.sh"

if [ ! -r /usr/share/uap-core/regexes.yaml ]; then
	skip "uap-core is not installed (scripts/deps installs it)"
	done_testing
	exit 0
fi

# attrs PAYLOAD [CONF]: the attributes qsparse writes for one bare payload, '|'-separated.
attrs() {
	printf '%s\n' "$1" | sed 's/\\/\\\\/g' | qsparse -q ${2:+-c "$2"} 2>"$T/err" | cut -f17- | tr '\t' '|'
}
u='/qseow-proxy-connection/;sense1;Open connection;LAB;alice;AppAccess;/hub'

is "$(attrs "$u;connection Opened. UserAgent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0")" \
	"ua_browser=Chrome|ua_browser_major=120|ua_os=Windows|ua_os_version=10" "Chrome on Windows 10"
is "$(attrs "$u;x UserAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1'")" \
	"ua_browser=Mobile Safari|ua_browser_major=17|ua_os=iOS|ua_os_version=17.1" "single quotes removed; iOS has a minor version"
is "$(attrs "$u;UserAgent:Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91  ")" \
	"ua_browser=Edge|ua_browser_major=120|ua_os=Windows|ua_os_version=10" "Edge, no blank after the colon, trailing blanks"
is "$(attrs "$u;UserAgent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15")" \
	"ua_browser=Safari|ua_browser_major=17|ua_os=Mac OS X|ua_os_version=10.15" "Safari on Mac OS X"
is "$(attrs "/qseow-proxy-session/;s;Start session;LAB;alice;AppAccess;/hub;UserAgent: Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0")" \
	"ua_browser=Firefox|ua_browser_major=121|ua_os=Linux" "Firefox on Linux: no OS version, none written"
is "$(attrs "$u;connection Opened for session 4f1d2c3b")" "" "no UserAgent: no attributes"
is "$(attrs "$u;UserAgent: ")" "" "an empty user agent: no attributes"
is "$(attrs "$u;UserAgent: zzzz nothing known 1.0")" "" "an unknown agent (Other): no attributes"
is "$(attrs "/qseow-proxy-session/;s;Start session;LAB;alice;AppAccess;/hub;;UserAgent: Mozilla/5.0 (Windows NT 10.0) Chrome/119.0")" \
	"ua_browser=Chrome|ua_browser_major=119|ua_os=Windows|ua_os_version=10" "a ';' in the message: the user agent is the rest"
is "$(attrs '/scheduler-reload-failed/;h;T;A;LAB\svc;1b0e6f52-3c1d-4a8e-9f27-5d4c3b2a1908;6c3f2b1e-8d4a-4f7e-9b21-0c5d7e9a1f34;d;ERROR;e;UserAgent: Mozilla/5.0 (Windows NT 10.0) Chrome/120.0')" \
	"" "task results are not user events: no attributes"
is "$(attrs 'sense1;Start session;LAB;carol')" "" "legacy user events have no message: no attributes"

# config: none turns it off quietly; a missing file is said once, events still go out
printf '[qsparse]\nua_regexes = none\n' >"$T/none.ini"
is "$(attrs "$u;UserAgent: Mozilla/5.0 (Windows NT 10.0) Chrome/120.0" "$T/none.ini")" "" "ua_regexes = none: no attributes"
is "$(grep -v " lines, " "$T/err")" "" "ua_regexes = none: nothing said but the counters"
printf '[qsparse]\nua_regexes = %s/missing.yaml\n' "$T" >"$T/missing.ini"
for i in 1 2 3; do printf '%s\n' "$u;UserAgent: Mozilla/5.0 (Windows NT 10.0) Chrome/120.0"; done >"$T/three"
qsparse -c "$T/missing.ini" "$T/three" >"$T/out" 2>"$T/err"
is "$(wc -l <"$T/out" | tr -d ' ')" 3 "a missing regexes file: every event still written"
is "$(cut -f17- "$T/out" | sort -u)" "" "a missing regexes file: no ua attributes"
is "$(grep -c 'user agents are not named' "$T/err")" 1 "a missing regexes file: said once"
like "$(cat "$T/err")" "missing\.yaml: No such file" "a missing regexes file: the file and why named"
printf 'user_agent_parsers: [\n' >"$T/broken.yaml"
printf '[qsparse]\nua_regexes = %s/broken.yaml\n' "$T" >"$T/broken.ini"
qsparse -c "$T/broken.ini" "$T/three" >"$T/out" 2>"$T/err"
like "$(cat "$T/err")" "broken\.yaml: line [0-9]+: not YAML" "a broken regexes file: said with its line"
is "$(wc -l <"$T/out" | tr -d ' ')" 3 "a broken regexes file: every event still written"

# hostile agents: huge, binary, control bytes, quotes only: the line stays a valid event
/usr/bin/python3 - "$u" >"$T/hostile" <<'P'
import random, sys
random.seed(7)
u = sys.argv[1]
def esc(b):
    out = []
    for c in b:
        if c == 0x5c: out.append('\\\\')
        elif c < 0x20 or c == 0x7f: out.append('\\x%02x' % c)
        else: out.append(chr(c) if c < 0x80 else None or '\\x%02x' % c)
    return ''.join(out)
lines = []
lines.append(u + ';UserAgent: ' + 'Mozilla/5.0 (Windows NT 10.0) Chrome/120.0 ' * 3000)
lines.append(u + ";UserAgent: ''''''")
for i in range(200):
    b = bytes(random.randrange(256) for _ in range(random.randrange(1, 300)))
    lines.append(u + ';UserAgent: ' + esc(b))
lines.append(u + ';UserAgent: ' + '(' * 5000 + 'a' * 5000)
print('\n'.join(lines))
P
qsparse "$T/hostile" >"$T/hostile.out" 2>"$T/err"
is "$(wc -l <"$T/hostile.out" | tr -d ' ')" 203 "hostile user agents: an event each"
qsroute <"$T/hostile.out" >"$T/routed" 2>"$T/route.err"
is "$(wc -l <"$T/routed" | tr -d ' ')" 203 "hostile user agents: every line a valid event with valid attributes (qsroute passes them)"
is "$(head -1 "$T/hostile.out" | cut -f17- | tr '\t' '|')" \
	"ua_browser=Chrome|ua_browser_major=120|ua_os=Windows|ua_os_version=10" "a 130 KB user agent: its first KiB named"

# the cache: many agents interleaved give what each gives alone
for i in $(seq 1 120); do
	case $((i % 4)) in
	0) printf '%s\n' "$u;UserAgent: Mozilla/5.0 (Windows NT 10.0) Chrome/$((100 + i % 7)).0" ;;
	1) printf '%s\n' "$u;UserAgent: Mozilla/5.0 (X11; Linux x86_64; rv:$((100 + i % 5)).0) Gecko/20100101 Firefox/$((100 + i % 5)).0" ;;
	2) printf '%s\n' "$u;UserAgent: Mozilla/5.0 (iPhone; CPU iPhone OS 16_$((i % 6)) like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.$((i % 6)) Mobile/15E148 Safari/604.1" ;;
	3) printf '%s\n' "$u;UserAgent: agent-$i/1.0" ;;
	esac
done >"$T/mix"
qsparse -q "$T/mix" 2>/dev/null | cut -f17- >"$T/mix.all"
while read -r line; do printf "%s\n" "$line" | qsparse -q 2>/dev/null | cut -f17-; done <"$T/mix" >"$T/mix.one"
is_file "$T/mix.all" "$T/mix.one" "120 agents interleaved: the same as each alone (the cache keeps them apart)"
ok "the mix named Chrome, Firefox and Mobile Safari" grep -q 'ua_browser=Mobile Safari' "$T/mix.all"

done_testing
