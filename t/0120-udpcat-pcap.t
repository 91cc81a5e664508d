#!/usr/bin/env bash
# udpcat -P: UDP payloads out of pcap and pcapng captures as framed lines, with the captured
# times, sources and destination ports; -p filtering; -r; what is skipped; files that are not
# captures.
. "$(dirname "$0")/lib.sh"
gen=$top/t/udpcat-pcap.py
for kind in eth raw cooked sll2 null ng; do
	python3 "$gen" "$kind" "$T/$kind.pcap"
done

udpcat -P "$T/eth.pcap" >"$T/eth.out" 2>"$T/eth.err"
is "$?" 0 "Ethernet capture: exit 0"
printf '%s\t%s\t%s\t%s\n' \
	2026-11-20T10:00:00.123456Z 10.1.2.3:5000 9997 'user\tevent;\\x' \
	2026-11-20T10:00:01.123457Z '[2001:db8::1]:6000' 9998 '\x00'$'\xff'' task' \
	2026-11-20T10:00:05.123461Z 10.1.2.5:5003 9996 tagged \
	2026-11-20T10:00:07.123463Z 10.1.2.7:5005 9997 '' >"$T/eth.want"
is_file "$T/eth.out" "$T/eth.want" "IPv4, IPv6, VLAN-tagged and empty UDP payloads with their times, sources and ports"
is "$(cat "$T/eth.err")" \
	"udpcat: 8 packets, 4 datagrams written, 2 not UDP, 1 fragments, 1 truncated, 0 filtered out" \
	"TCP and ARP, the fragment and the cut-short packet are skipped and counted"

udpcat -P "$T/raw.pcap" >"$T/raw.out" 2>/dev/null
printf '%s\t%s\t%s\t%s\n' \
	2026-11-20T10:00:00.123456Z 192.0.2.1:40000 9997 'raw v4' \
	2026-11-20T10:00:01.123457Z '[2001:db8::2]:40001' 9998 'raw v6' \
	2026-11-20T10:00:02.123458Z 192.0.2.3:40002 9996 'mapped' >"$T/raw.want"
is_file "$T/raw.out" "$T/raw.want" "raw IP: IPv4, IPv6 behind a hop-by-hop header, IPv4-mapped source written as IPv4"

for kind in cooked sll2 null ng; do
	is "$(udpcat -P "$T/$kind.pcap" 2>/dev/null)" \
		"$(printf '2026-11-20T10:00:00.123456Z\t10.9.9.9:7000\t9997\t%s' "$kind")" "link type / format: $kind"
done

is "$(udpcat -P "$T/eth.pcap" -p 9998 -p 9996 2>"$T/filter.err" | cut -f 3,4 | tr '\t\n' ' |')" \
	"9998 \\x00"$'\xff'" task|9996 tagged|" "-p keeps only those destination ports"
like "$(cat "$T/filter.err")" ' 2 datagrams written, .* 2 filtered out$' "the others are counted as filtered out"
is "$(udpcat -r -P "$T/raw.pcap" -p 9997 2>/dev/null)" "raw v4" "-r: bare payloads"
is "$(udpcat -P - -r <"$T/raw.pcap" 2>/dev/null | wc -l)" 3 "-P - reads the capture from stdin"

# A replayed capture feeds udpcat -s like a dump does.
p=$(free_port udp)
: >"$T/ready"
bg udpcat -N 3 -b 127.0.0.1 "$p" >"$T/rx.out" 2>/dev/null 3>"$T/ready"
wait_for 5 test -s "$T/ready"
udpcat -P "$T/eth.pcap" 2>/dev/null | udpcat -s "127.0.0.1:$p" 2>/dev/null
has_lines() { [ "$(lines_in "$1")" -ge "$2" ]; }
wait_for 5 has_lines "$T/rx.out" 4
is "$(cut -f 4 "$T/rx.out")" "$(cut -f 4 "$T/eth.want")" "udpcat -P | udpcat -s sends the payloads again"

# Not a capture, missing, bad arguments.
echo "2026-11-20T10:00:00.000000Z	1.2.3.4:5	9997	not a capture" >"$T/text.pcap"
udpcat -P "$T/text.pcap" >"$T/text.out" 2>"$T/text.err"
is "$?" 1 "a file that is not a capture: exit 1"
like "$(cat "$T/text.err")" "^udpcat: $T/text.pcap: not a pcap or pcapng capture" "with a clear message"
is "$(wc -c <"$T/text.out")" 0 "and no output"
: >"$T/empty.pcap"
udpcat -P "$T/empty.pcap" 2>"$T/empty.err"
is "$?" 1 "an empty file: exit 1"
udpcat -P "$T/nosuch.pcap" 2>"$T/nosuch.err"
is "$?" 1 "a missing file: exit 1"
is "$(cat "$T/nosuch.err")" "udpcat: $T/nosuch.pcap: No such file or directory" "naming it"
udpcat -P "$T/eth.pcap" -p 70000 2>"$T/badport.err"
is "$?" 2 "-p 70000: exit 2"
like "$(cat "$T/badport.err")" '^udpcat: -p 70000: not a port number' "naming it"
udpcat -P "$T/eth.pcap" extra 2>/dev/null
is "$?" 2 "an operand with -P: usage, exit 2"
udpcat -P "$T/eth.pcap" -b 127.0.0.1 2>/dev/null
is "$?" 2 "a listen flag with -P: usage, exit 2"
head -c 100 "$T/eth.pcap" >"$T/cut.pcap"
udpcat -P "$T/cut.pcap" >/dev/null 2>"$T/cut.err"
is "$?" 1 "a capture cut short in a packet: exit 1"
like "$(cat "$T/cut.err")" "^udpcat: $T/cut.pcap: .*truncated" "saying so"

done_testing
