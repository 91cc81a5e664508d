#!/usr/bin/env bash
# --help lists every option on a line of its own and names the man page; -V and --version; a
# bad flag is named; qssend says which file went to which port.
. "$(dirname "$0")/lib.sh"
# tool OPTSTRING: the flags each takes (from its getopt string; qspipe's and qssend's getopts)
flags_of() {
	case $1 in
	udpcat) echo "r b a B N c s R T x P p" ;;
	qsparse) echo "H u q c" ;;
	qsroute) echo "c x X i D L" ;;
	qsslack) echo "t c S e w n" ;;
	qsmqtt) echo "t c S e h p q i u" ;;
	qspipe) echo "c m n x" ;;
	qssend) echo "h p E" ;;
	esac
}
for tool in udpcat qsparse qsroute qsslack qsmqtt qspipe qssend; do
	case $tool in
	qspipe | qssend) cmd=$top/scripts/$tool ;;
	*)
		cmd=$top/$tool
		if [ ! -x "$cmd" ]; then
			skip "$tool is not built"
			continue
		fi
		;;
	esac
	status=0
	"$cmd" --help >"$T/help" 2>"$T/help.err" || status=$?
	is "$status:$(cat "$T/help.err")" "0:" "$tool --help: exit 0, nothing on stderr"
	missing=""
	for f in $(flags_of "$tool") V; do
		grep -q "^  -$f[ ]" "$T/help" || missing+=" -$f"
	done
	is "$missing" "" "$tool --help: a line of its own for every option"
	is "$(tail -1 "$T/help")" "See $tool(1)." "$tool --help: names the man page"
	ok "$tool(1) exists" test -f "$top/man/$tool.1"
	like "$("$cmd" -V)" "^$tool( \(qspipe\))? [0-9]+\.[0-9]+\.[0-9]+$" "$tool -V"
	is "$("$cmd" --version)" "$("$cmd" -V)" "$tool --version"
	status=0
	"$cmd" -K </dev/null >/dev/null 2>"$T/bad" || status=$?
	is "$status" 2 "$tool -K (no such flag): exit 2"
	like "$(head -1 "$T/bad")" "^$tool: (invalid option -- 'K'|unknown flag -K)$" "... naming the flag, after the tool's name"
	ok "... then the synopsis" grep -q "^usage: $tool " "$T/bad"
	ok "... without the option lines" not grep -q '^  -' "$T/bad"
done

# qssend: which file went to which port.
uport=$(free_port udp)
status=0
"$top/scripts/qssend" -p "$uport" "$top/etc/samples/user-events.txt" 2>"$T/send.err" || status=$?
is "$status" 0 "qssend -p PORT FILE: exit 0"
like "$(cat "$T/send.err")" "^qssend: $top/etc/samples/user-events.txt -> 127.0.0.1:$uport: [0-9]+ datagrams sent" \
	"qssend says which file went to which port"
done_testing
