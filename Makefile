# qspipe: small Unix tools that turn Qlik Sense log4net UDP messages into Slack and MQTT.
PREFIX ?= /usr/local
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man
# The config goes to /etc for a system install (PREFIX=/usr), else beside the programs.
SYSCONFDIR = $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
DATADIR = $(PREFIX)/share/qspipe

CFLAGS ?= -O2 -g
# override: CFLAGS=... on the command line adds to these, it does not drop the standard,
# the warnings or the sanitizers
override CFLAGS += -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -pipe
CPPFLAGS += -D_GNU_SOURCE
ifeq ($(SANITIZE),1)
override CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
override LDFLAGS += -fsanitize=address,undefined
endif

PKG_CONFIG ?= pkg-config
pkg = $(shell $(PKG_CONFIG) $(1) $(2) 2>/dev/null)
INIH_LIBS = $(call pkg,--libs,inih)
CPPFLAGS += $(call pkg,--cflags,inih libmosquitto libcurl libpcap libpcre2-8 yaml-0.1 libcrypto)
UA_LIBS = $(call pkg,--libs,libpcre2-8 yaml-0.1)
CRYPTO_LIBS = $(call pkg,--libs,libcrypto)

# The one version: diag.h's, put into the scripts when they are installed.
VERSION := $(shell sed -n 's/^\#define QSPIPE_VERSION "\(.*\)"$$/\1/p' diag.h)
TOOLS = udpcat qsparse qsroute qsenrich qsslack qsteams qsmail qshttp qsmqtt qsinflux
SCRIPTS = scripts/qspipe scripts/qssend
MAN1 = $(TOOLS:%=man/%.1) man/qspipe.1 man/qssend.1
MAN5 = man/qspipe-events.5
COMMON = buf.o diag.o conf.o sig.o tsv.o lines.o metrics.o

all: $(TOOLS) t/spooltool

# Objects are rebuilt when the flags change (a SANITIZE=1 build after a plain one).
.build-flags: FORCE
	@echo '$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS)' | cmp -s - $@ || \
		echo '$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS)' > $@
FORCE:

%.o: %.c *.h .build-flags
	$(CC) $(CFLAGS) $(CPPFLAGS) -c -o $@ $<

udpcat: udpcat.o pcap.o $(COMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(INIH_LIBS) $(call pkg,--libs,libpcap)
qsparse: qsparse.o ua.o $(COMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(INIH_LIBS) $(UA_LIBS)
qsroute: qsroute.o glob.o pseudo.o $(COMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(INIH_LIBS) $(CRYPTO_LIBS)
qsmqtt: qsmqtt.o sink.o spool.o json.o tmpl.o $(COMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(INIH_LIBS) $(call pkg,--libs,libmosquitto)
qsenrich: qsenrich.o qrs.o jsonr.o logtail.o xfer.o json.o $(COMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(INIH_LIBS) $(call pkg,--libs,libcurl)
qsslack: qsslack.o slack.o post.o xfer.o sink.o spool.o json.o tmpl.o $(COMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(INIH_LIBS) $(call pkg,--libs,libcurl)
qsteams: qsteams.o teams.o post.o xfer.o sink.o spool.o json.o $(COMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(INIH_LIBS) $(call pkg,--libs,libcurl)
qshttp: qshttp.o httpbody.o post.o xfer.o sink.o spool.o json.o tmpl.o $(COMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(INIH_LIBS) $(call pkg,--libs,libcurl)
qsinflux: qsinflux.o influx.o xfer.o sink.o spool.o json.o $(COMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(INIH_LIBS) $(call pkg,--libs,libcurl zlib)
qsmail: qsmail.o mail.o xfer.o sink.o spool.o glob.o json.o tmpl.o $(COMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(INIH_LIBS) $(call pkg,--libs,libcurl)

# The tests' look into a spool, with spool.c's own parser.
t/spooltool: t/spooltool.o spool.o $(COMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(INIH_LIBS)
t/spooltool.o: t/spooltool.c *.h .build-flags
	$(CC) $(CFLAGS) $(CPPFLAGS) -c -o $@ $<

deps:
	scripts/deps build test

# Programs the tests build: uap-core's own suites run through ua.c.
TEST_PROGS = t/uaconf
t/uaconf: t/uaconf.c ua.o tsv.o diag.o buf.o
	$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $^ $(UA_LIBS)

check: deps
	$(MAKE) all $(TEST_PROGS)
	prove $(PROVE_FLAGS) t/

# The whole pipeline on this machine with etc/qspipe.ini (RUN_CONF=FILE for another), and a
# private MQTT broker when none listens on localhost:1883. Ctrl-C stops it cleanly.
RUN_CONF = etc/qspipe.ini
run: deps
	$(MAKE) all
	scripts/qspipe -m -c $(RUN_CONF)

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 755 $(TOOLS) $(DESTDIR)$(BINDIR)
	for s in $(SCRIPTS); do \
		sed 's/@VERSION@/$(VERSION)/' $$s >$(DESTDIR)$(BINDIR)/$${s#scripts/} && \
		chmod 755 $(DESTDIR)$(BINDIR)/$${s#scripts/} || exit 1; \
	done
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(MAN5) $(DESTDIR)$(MANDIR)/man5
	mkdir -p $(DESTDIR)$(SYSCONFDIR) $(DESTDIR)$(DATADIR)
	[ -e $(DESTDIR)$(SYSCONFDIR)/qspipe.ini ] || install -m 644 etc/qspipe.ini $(DESTDIR)$(SYSCONFDIR)
	cp -R etc/samples etc/log4net etc/sv etc/s6-rc etc/systemd etc/prometheus $(DESTDIR)$(DATADIR)/
	[ "$(PREFIX)" = /usr/local ] || grep -rl /usr/local $(DESTDIR)$(DATADIR) | \
		xargs -r sed -i 's|/usr/local/etc|$(SYSCONFDIR)|g; s|/usr/local|$(PREFIX)|g'

uninstall:
	cd $(DESTDIR)$(BINDIR) && rm -f $(TOOLS) $(SCRIPTS:scripts/%=%)
	cd $(DESTDIR)$(MANDIR)/man1 && rm -f $(MAN1:man/%=%)
	cd $(DESTDIR)$(MANDIR)/man5 && rm -f $(MAN5:man/%=%)
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -f $(TOOLS) $(TEST_PROGS) bench/mqttcount t/spooltool *.o t/*.o .build-flags
	rm -rf fuzz/bin fuzz/out deb

# Throughput, loss, latency and memory next to socat | mosquitto_pub; QUICK=1 in under 2 min.
bench:
	scripts/deps build test bench
	$(MAKE) all bench/mqttcount
	bench/run $(if $(QUICK),--quick)

# The benchmark's counting subscriber (no library: it only walks MQTT packet headers).
bench/mqttcount: bench/mqttcount.c .build-flags
	$(CC) $(CFLAGS) -o $@ bench/mqttcount.c

# A Debian package (debian/, built with dpkg-buildpackage from a copy of this tree, checked
# with lintian): deb/qspipe_VERSION_ARCH.deb.
deb:
	scripts/deps build deb
	rm -rf deb && mkdir -p deb/qspipe-$(VERSION)
	tar -c --exclude=./deb --exclude=./.git --exclude='*.o' --exclude=./fuzz/bin \
		--exclude=./fuzz/out --exclude=./.build-flags . | tar -x -C deb/qspipe-$(VERSION)
	cd deb/qspipe-$(VERSION) && $(MAKE) clean >/dev/null && \
		dpkg-buildpackage -us -uc -b >../build.log 2>&1 || { tail -30 ../build.log; exit 1; }
	rm -rf deb/qspipe-$(VERSION)
	lintian --fail-on error deb/*.deb
	@ls deb/*.deb

# scripts/deps and make check in a bare Debian root made with debootstrap (cached), as a new
# user would run them: what the README promises, checked.
fresh-check:
	scripts/deps fresh
	scripts/fresh-check

# libFuzzer harnesses (fuzz/fuzz-NAME.c), each built with the sources it exercises.
FUZZ_TARGETS = escape line json tmpl conf parse glob slack ua pcap teams httpbody influx mail jsonr logtail qrs spool
FUZZ_SECONDS ?= 20
FUZZ_CC ?= clang
FUZZ_CFLAGS = -g -O1 -std=c11 -Wall -Wextra -fsanitize=fuzzer,address,undefined
FUZZ_COMMON = buf.c diag.c tsv.c json.c tmpl.c conf.c metrics.c fuzz/jsoncheck.c

fuzz/bin/%: fuzz/fuzz-%.c $(FUZZ_COMMON) *.h fuzz/*.h
	@mkdir -p fuzz/bin
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(CPPFLAGS) -o $@ $< $(FUZZ_EXTRA) $(FUZZ_COMMON) $(INIH_LIBS)

fuzz/bin/parse: qsparse.c lines.c sig.c ua.c
fuzz/bin/parse: FUZZ_EXTRA = lines.c sig.c ua.c $(UA_LIBS)
fuzz/bin/ua: ua.c
fuzz/bin/ua: FUZZ_EXTRA = ua.c $(UA_LIBS)
fuzz/bin/glob: glob.c
fuzz/bin/glob: FUZZ_EXTRA = glob.c
fuzz/bin/influx: influx.c fuzz/lpcheck.c
fuzz/bin/influx: FUZZ_EXTRA = influx.c fuzz/lpcheck.c
fuzz/bin/slack: slack.c xfer.c sink.c spool.c lines.c sig.c
fuzz/bin/slack: FUZZ_EXTRA = slack.c xfer.c sink.c spool.c lines.c sig.c $(call pkg,--libs,libcurl)
fuzz/bin/teams: teams.c xfer.c
fuzz/bin/teams: FUZZ_EXTRA = teams.c xfer.c $(call pkg,--libs,libcurl)
fuzz/bin/httpbody: httpbody.c
fuzz/bin/httpbody: FUZZ_EXTRA = httpbody.c
fuzz/bin/pcap: pcap.c sig.c
fuzz/bin/pcap: FUZZ_EXTRA = pcap.c sig.c $(call pkg,--libs,libpcap)
fuzz/bin/mail: mail.c
fuzz/bin/mail: FUZZ_EXTRA = mail.c
fuzz/bin/jsonr: jsonr.c
fuzz/bin/jsonr: FUZZ_EXTRA = jsonr.c
fuzz/bin/logtail: logtail.c
fuzz/bin/logtail: FUZZ_EXTRA = logtail.c
fuzz/bin/qrs: qrs.c jsonr.c
fuzz/bin/qrs: FUZZ_EXTRA = qrs.c jsonr.c
fuzz/bin/spool: spool.c
fuzz/bin/spool: FUZZ_EXTRA = spool.c

fuzz:
	scripts/deps build fuzz
	$(MAKE) $(FUZZ_TARGETS:%=fuzz/bin/%)
	scripts/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

.PHONY: all deps check run bench install uninstall clean fuzz deb fresh-check FORCE
