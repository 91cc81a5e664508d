# qspipe: small Unix tools that turn Qlik Sense log4net UDP messages into Slack and MQTT.
PREFIX ?= /usr/local
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man
SYSCONFDIR = $(PREFIX)/etc

CC ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -pipe
CPPFLAGS += -D_GNU_SOURCE
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

PKG_CONFIG ?= pkg-config
pkg = $(shell $(PKG_CONFIG) $(1) $(2) 2>/dev/null)
INIH_LIBS = $(call pkg,--libs,inih)
CPPFLAGS += $(call pkg,--cflags,inih libmosquitto libcurl libpcap)

TOOLS = udpcat qsparse
MAN1 = $(TOOLS:%=man/%.1)
COMMON = buf.o diag.o conf.o sig.o tsv.o lines.o

all: $(TOOLS)

# Objects are rebuilt when the flags change (a SANITIZE=1 build after a plain one).
.build-flags: FORCE
	@echo '$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS)' | cmp -s - $@ || \
		echo '$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS)' > $@
FORCE:

%.o: %.c *.h .build-flags
	$(CC) $(CFLAGS) $(CPPFLAGS) -c -o $@ $<

udpcat: udpcat.o $(COMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(INIH_LIBS) $(call pkg,--libs,libpcap)
qsparse: qsparse.o $(COMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(INIH_LIBS)
qsroute: qsroute.o glob.o $(COMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(INIH_LIBS)
qsmqtt: qsmqtt.o sink.o json.o tmpl.o $(COMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(INIH_LIBS) $(call pkg,--libs,libmosquitto) -lpthread
qsslack: qsslack.o slack.o sink.o json.o tmpl.o $(COMMON)
	$(CC) $(LDFLAGS) -o $@ $^ $(INIH_LIBS) $(call pkg,--libs,libcurl)

deps:
	scripts/deps build test

check: deps
	$(MAKE) all
	prove $(PROVE_FLAGS) t/

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(TOOLS) $(DESTDIR)$(BINDIR)
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1

uninstall:
	cd $(DESTDIR)$(BINDIR) && rm -f $(TOOLS)
	cd $(DESTDIR)$(MANDIR)/man1 && rm -f $(TOOLS:%=%.1)

clean:
	rm -f $(TOOLS) qsroute qsmqtt qsslack *.o .build-flags
	rm -rf fuzz/bin fuzz/out

# libFuzzer harnesses (fuzz/fuzz-NAME.c), each built with the sources it exercises.
FUZZ_TARGETS = escape line json tmpl conf
FUZZ_SECONDS ?= 20
FUZZ_CC ?= clang
FUZZ_CFLAGS = -g -O1 -std=c11 -Wall -Wextra -fsanitize=fuzzer,address,undefined
FUZZ_COMMON = buf.c diag.c tsv.c json.c tmpl.c conf.c fuzz/jsoncheck.c

fuzz/bin/%: fuzz/fuzz-%.c $(FUZZ_COMMON) *.h fuzz/*.h
	@mkdir -p fuzz/bin
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(CPPFLAGS) -o $@ $< $(FUZZ_EXTRA) $(FUZZ_COMMON) $(INIH_LIBS)

fuzz:
	scripts/deps build fuzz
	$(MAKE) $(FUZZ_TARGETS:%=fuzz/bin/%)
	scripts/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

.PHONY: all deps check install uninstall clean fuzz FORCE
