#!/usr/bin/env bash
# The manual: every page mandoc -Tlint clean at warning level (and .Os without an argument,
# SEE ALSO in section then name order), qspipe-events(5) cited by every tool's page and
# installed; no document, script or test points outside the repository for the formats.
. "$(dirname "$0")/lib.sh"
if ! command -v mandoc >/dev/null; then
	skip "mandoc is not installed"
	done_testing
fi
for page in "$top"/man/*.[0-9]; do
	name=${page#"$top"/}
	lint=$(mandoc -Tlint -Wwarning "$page" 2>&1)
	is "$lint" "" "$name: mandoc -Tlint -Wwarning says nothing"
	is "$(grep '^\.Os' "$page")" ".Os" "$name: .Os without an argument"
	see=$(sed -n '/^\.Sh SEE ALSO/,/^\.Sh /p' "$page" | awk '/^\.Xr/ { print $3 "\t" $2 }')
	is "$see" "$(printf '%s\n' "$see" | sort -t "$(printf '\t')" -k1,1n -k1,1 -k2,2)" "$name: SEE ALSO by section, then name"
	case $name in
	man/qspipe-events.5) ;;
	*) ok "$name: cites qspipe-events(5)" grep -q '^\.Xr qspipe-events 5' "$page" ;;
	esac
done
is "$(mandoc -Tascii "$top/man/qsslack.1" | grep -c 'jq \.$')" 1 "qsslack(1): 'jq .' renders with its dot"

# Nothing but the C sources (swept separately) cites a design document outside the tree.
pattern='DESIGN''\.md|\.\./sha''red'	# split, so that this file does not match itself
cites=$(cd "$top" && grep -rlE "$pattern" README.md etc man scripts t bench Makefile 2>/dev/null)
is "$cites" "" "no document, script or test cites the design file outside the tree"

# make install puts section 5 in place.
if [ -x "$top/udpcat" ] && [ -x "$top/qsmqtt" ] && [ -x "$top/qsslack" ]; then
	make -s -C "$top" install DESTDIR="$T/root" PREFIX=/usr/local >"$T/install.out" 2>&1
	ok "make install: man5/qspipe-events.5" test -f "$T/root/usr/local/share/man/man5/qspipe-events.5"
	make -s -C "$top" uninstall DESTDIR="$T/root" PREFIX=/usr/local >/dev/null 2>&1
	ok "make uninstall removes it" not test -e "$T/root/usr/local/share/man/man5/qspipe-events.5"
else
	skip "make install: the tools are not built"
fi

done_testing
