#!/usr/bin/env bash
# make deb: a Debian package built with the Debian tools and lintian-clean of errors, holding
# the tools, man pages, /etc/qspipe.ini as a conffile, the systemd unit pointing at /usr/bin and
# /etc, the system user, samples and appender files; unpacked into a scratch root, its qspipe -n
# runs from there; the root is removed.
. "$(dirname "$0")/lib.sh"

if ! command -v dpkg-buildpackage >/dev/null || ! command -v lintian >/dev/null; then
	skip "dpkg-dev, debhelper or lintian missing (scripts/deps deb installs them)"
	done_testing
	exit 0
fi
version=$(sed -n 's/^#define QSPIPE_VERSION "\(.*\)"$/\1/p' "$top/diag.h")
is "$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)" "$version" "debian/changelog has diag.h's version"

# a copy of the tree, so that the test's build leaves the checkout as it was
mkdir -p "$T/src"
tar -C "$top" -c --exclude=./deb --exclude=./.git --exclude='*.o' --exclude=./fuzz/bin \
	--exclude=./fuzz/out --exclude=./t/tmp . | tar -x -C "$T/src"
if make -C "$T/src" deb >"$T/deb.log" 2>&1; then pass "make deb builds it and lintian finds no error"
else fail "make deb builds it and lintian finds no error"; tail -20 "$T/deb.log" | sed 's/^/# /' >&2; fi
deb=$(ls "$T"/src/deb/qspipe_"$version"_*.deb 2>/dev/null | head -1)
ok "the package is there" test -f "$deb"
[ -f "$deb" ] || { done_testing; exit 1; }
ok "lintian's warnings are none" not grep -q '^W: qspipe' "$T/deb.log"

dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$T/files"
for f in /usr/bin/udpcat /usr/bin/qsparse /usr/bin/qsroute /usr/bin/qsslack /usr/bin/qsmqtt \
	/usr/bin/qspipe /usr/bin/qssend /usr/share/man/man1/qspipe.1.gz /etc/qspipe.ini \
	/lib/systemd/system/qspipe.service /lib/systemd/system/qspipe.socket /usr/lib/sysusers.d/qspipe.conf \
	/usr/share/qspipe/samples/task-events.txt /usr/share/qspipe/log4net/scheduler/LocalLogConfig.xml; do
	ok "it holds $f" grep -qx "$f" "$T/files"
done
dpkg-deb -e "$deb" "$T/control"
ok "/etc/qspipe.ini is a conffile" grep -qx /etc/qspipe.ini "$T/control/conffiles"
ok "the maintainer scripts create the user and enable the unit" grep -q 'systemd-sysusers' "$T/control/postinst"
like "$(cat "$T/control/postinst")" 'deb-systemd-helper' "the unit is enabled on install"

mkdir "$T/root"
dpkg -x "$deb" "$T/root"
like "$(grep '^ExecStart=' "$T/root/lib/systemd/system/qspipe.service")" '^ExecStart=/usr/bin/qspipe -c /etc/qspipe.ini$' "the unit runs /usr/bin/qspipe with /etc/qspipe.ini"
ok "no installed file points at /usr/local" not grep -rq /usr/local "$T/root/lib/systemd" "$T/root/usr/share/qspipe/sv" "$T/root/usr/share/qspipe/s6-rc" "$T/root/usr/share/qspipe/systemd"
out=$(PATH=$T/root/usr/bin:$PATH "$T/root/usr/bin/qspipe" -n -c "$T/root/etc/qspipe.ini" 2>&1)
is "$?" 0 "the installed qspipe -n runs with the installed config"
like "$out" "udpcat" "and shows the stages"
is "$("$T/root/usr/bin/qsparse" -V 2>&1)" "qsparse (qspipe) $version" "the installed tools have the version"
rm -rf "$T/root"
ok "the scratch root is removed" not test -e "$T/root"

done_testing
