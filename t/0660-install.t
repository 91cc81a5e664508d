#!/usr/bin/env bash
# make install puts tools, scripts, man pages, the example config and the Sense and service
# files under DESTDIR/PREFIX; the installed runner finds the installed tools; make uninstall
# takes it all away again and keeps nothing but what the admin changed.
. "$(dirname "$0")/lib.sh"

dest=$T/root
prefix=/opt/qspipe
make -s -C "$top" install DESTDIR="$dest" PREFIX="$prefix" >"$T/install.out" 2>&1
is "$?" 0 "make install succeeds"
for f in udpcat qsparse qsroute qsslack qsmqtt qspipe qssend; do
	ok "bin/$f installed and executable" test -x "$dest$prefix/bin/$f"
	ok "man1/$f.1 installed" test -f "$dest$prefix/share/man/man1/$f.1"
done
ok "the example config" test -f "$dest$prefix/etc/qspipe.ini"
ok "the Sense appender files" test -f "$dest$prefix/share/qspipe/log4net/proxy/LocalLogConfig.xml"
ok "the runit service" test -x "$dest$prefix/share/qspipe/sv/qspipe/run"
is "$(grep -c /usr/local "$dest$prefix/share/qspipe/sv/qspipe/run")" 0 \
	"the service files name the install prefix, not /usr/local"
like "$(grep QSPIPE= "$dest$prefix/share/qspipe/sv/qspipe/run")" "$prefix/bin/qspipe" \
	"the runit service runs the installed runner"

# the installed runner plans the installed tools
plan=$(env -i PATH=/usr/bin:/bin "$dest$prefix/bin/qspipe" -n -c "$dest$prefix/etc/qspipe.ini" 2>&1)
like "$plan" "^$dest$prefix/bin/udpcat " "the installed qspipe runs the installed udpcat"

# the installed scripts carry the tools' version, set at install
version=$(sed -n 's/^#define QSPIPE_VERSION "\(.*\)"$/\1/p' "$top/diag.h")
is "$("$dest$prefix/bin/qspipe" -V)" "qspipe $version" "the installed qspipe -V: diag.h's version"
is "$("$dest$prefix/bin/qssend" -V)" "qssend $version" "the installed qssend -V too"
like "$("$dest$prefix/bin/qsparse" -V)" "^qsparse .*$version" "the same as the tools'"

# an admin's config survives a second install
echo "; mine" >>"$dest$prefix/etc/qspipe.ini"
make -s -C "$top" install DESTDIR="$dest" PREFIX="$prefix" >/dev/null 2>&1
like "$(tail -1 "$dest$prefix/etc/qspipe.ini")" "; mine" "a second install keeps the admin's config"

make -s -C "$top" uninstall DESTDIR="$dest" PREFIX="$prefix" >"$T/uninstall.out" 2>&1
is "$?" 0 "make uninstall succeeds"
is "$(cd "$dest" && find . -type f | sort)" "./opt/qspipe/etc/qspipe.ini" \
	"uninstall removes everything but the config"

done_testing
