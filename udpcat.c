/* udpcat: UDP datagrams in, one framed line per datagram out (qspipe-events(5)). The other way
 * too: framed or bare lines in, datagrams out (-s), to replay a dump; and the UDP payloads of a
 * pcap or pcapng capture out as framed lines (-P, the reader in pcap.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdnoreturn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/filter.h>
#include <linux/sock_diag.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "diag.h"
#include "lines.h"
#include "metrics.h"
#include "pcap.h"
#include "sig.h"
#include "tsv.h"

#define DGRAM_MAX4 65507	/* largest UDP payload over IPv4 */
#define DGRAM_MAX6 65527	/* over IPv6, without jumbograms */
#define RECV_SIZE 65536		/* a receive buffer: holds either, so MSG_TRUNC means a jumbogram */
#define BATCH 64		/* datagrams per recvmmsg/sendmmsg; 64 x 64 KiB stays within 8 MiB */
#define ROUNDS 8		/* batches taken from one socket before looking at the others */
#define OUT_FLUSH (256 * 1024)	/* write out mid-batch beyond this, so big datagrams stay bounded */
#define MAX_PORTS 64
#define MAX_ALLOW 256
#define RCVBUF_DEFAULT (8UL << 20)
#define RCVBUF_MAX (INT_MAX / 2)	/* the kernel doubles what is asked into an int, capped here */
#define PACE_SLACK 0.002	/* -R: seconds of lateness made up for at once, not more */
#define PACE_GRAIN 0.001	/* -R: longest wait for datagrams to fall due together */
#define DRAIN_SECONDS 1.0	/* after SIGTERM: how long the sockets' queues may take to write out */

static const char usage[] =
	"udpcat [-r] [-u | -U] [-b ADDR] [-a CIDR]... [-B BYTES] [-N FD] [-M FILE] [-c FILE] PORT...\n"
	"       udpcat [-r] [-a CIDR]... [-B BYTES] [-N FD] [-M FILE] [-c FILE] -f FD...   (or LISTEN_FDS)\n"
	"       udpcat -X COMMAND [-U] [-b ADDR] [-B BYTES] [-N FD] [-c FILE] PORT...\n"
	"       udpcat -s HOST:PORT [-R RATE] [-T] [-x N] [FILE...]\n"
	"       udpcat -P FILE.pcap [-p PORT]... [-r]\n"
	"  -r            write payloads alone (bare lines), not framed lines\n"
	"  -b ADDR       address to listen on (default [::], dual stack)\n"
	"  -u            bind free ports only, so that a later udpcat -U can take them over\n"
	"  -U            take the ports over from a udpcat -u or -U: new datagrams come here\n"
	"  -a CIDR       accept datagrams from these senders only (repeatable)\n"
	"  -B BYTES      socket receive buffer, with k or M (default 8M)\n"
	"  -N FD         write a line to FD once every socket is bound (s6 readiness)\n"
	"  -c FILE       the config file (default $QSPIPE_CONF), section [udpcat]\n"
	"  -M FILE       write the counters to FILE in Prometheus' text format (metrics =)\n"
	"  -s HOST:PORT  send mode: each line of FILE... as one datagram to HOST:PORT\n"
	"  -R RATE       send mode: at most RATE datagrams a second\n"
	"  -T            send mode: with the original timing of framed lines\n"
	"  -x N          send mode with -T: N times faster\n"
	"  -P FILE.pcap  read the UDP packets of a pcap or pcapng capture as framed lines\n"
	"  -p PORT       with -P: only packets to this port (repeatable)\n"
	"  -V            print the version; --help this text";

/* ---- addresses ---- */

/* An address in IPv6 form (IPv4 as ::ffff:a.b.c.d), so one comparison serves both families. */
struct addr6 {
	unsigned char b[16];
};

struct prefix {
	struct addr6 addr;
	unsigned bits;
};

static void map_v4(struct addr6 *a, const void *v4)
{
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
	memcpy(a->b, mapped, 12);
	memcpy(a->b + 12, v4, 4);
}

/* Parses an IPv4 or IPv6 address (the latter maybe in brackets); returns its family or 0. */
static int parse_ip(const char *s, size_t n, struct addr6 *a)
{
	char text[INET6_ADDRSTRLEN + 2];
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']')
		s++, n -= 2;
	if (n >= sizeof text)
		return 0;
	memcpy(text, s, n);
	text[n] = 0;
	unsigned char v4[4];
	if (inet_pton(AF_INET, text, v4) == 1) {
		map_v4(a, v4);
		return AF_INET;
	}
	return inet_pton(AF_INET6, text, a->b) == 1 ? AF_INET6 : 0;
}

/* ADDR or ADDR/BITS; a bare address is the one host. */
static int parse_prefix(const char *s, size_t n, struct prefix *p)
{
	const char *slash = memchr(s, '/', n);
	int family = parse_ip(s, slash ? (size_t)(slash - s) : n, &p->addr);
	if (!family)
		return -1;
	unsigned max = family == AF_INET ? 32 : 128, bits = max;
	if (slash) {
		char text[8];
		size_t len = n - (size_t)(slash + 1 - s);
		unsigned long v;
		if (!len || len >= sizeof text)
			return -1;
		memcpy(text, slash + 1, len);
		text[len] = 0;
		if (conf_ulong(text, 0, max, &v))
			return -1;
		bits = (unsigned)v;
	}
	p->bits = bits + (family == AF_INET ? 96 : 0);
	return 0;
}

static int prefix_match(const struct prefix *p, const struct addr6 *a)
{
	unsigned whole = p->bits / 8, rest = p->bits % 8;
	if (memcmp(p->addr.b, a->b, whole))
		return 0;
	unsigned char mask = (unsigned char)(0xff00 >> rest);
	return !rest || ((p->addr.b[whole] ^ a->b[whole]) & mask) == 0;
}

/* Writes the decimal digits of v at p and a NUL; returns how many digits. */
static size_t format_uint(char *p, unsigned v)
{
	char digits[10];
	size_t n = 0, len;
	do
		digits[n++] = (char)('0' + v % 10);
	while (v /= 10);
	for (len = n; n; n--)
		*p++ = digits[n - 1];
	*p = 0;
	return len;
}

#define ENDPOINT_SIZE (INET6_ADDRSTRLEN + 8)	/* [addr]:port and the NUL */

/* ip:port, IPv6 as [addr]:port and IPv4-mapped IPv6 as plain IPv4 (qspipe-events(5)); returns its
 * length. */
static size_t format_endpoint(char text[ENDPOINT_SIZE], const struct addr6 *a, unsigned port)
{
	char *p = text;
	if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a->b)) {
		inet_ntop(AF_INET, a->b + 12, p, INET6_ADDRSTRLEN);
		p += strlen(p);
	} else {
		*p++ = '[';
		inet_ntop(AF_INET6, a->b, p, INET6_ADDRSTRLEN);
		p += strlen(p);
		*p++ = ']';
	}
	*p++ = ':';
	return (size_t)(p - text) + format_uint(p, port);
}

/* The address and port of a received or bound sockaddr. */
static unsigned from_sockaddr(const struct sockaddr_storage *ss, struct addr6 *a)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		map_v4(a, &sin->sin_addr);
		return ntohs(sin->sin_port);
	}
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	memcpy(a->b, &sin6->sin6_addr, 16);
	return ntohs(sin6->sin6_port);
}

static int parse_port(const char *s, size_t n, unsigned short *port)
{
	char text[8];
	unsigned long v;
	if (!n || n >= sizeof text)
		return -1;
	memcpy(text, s, n);
	text[n] = 0;
	if (conf_ulong(text, 1, 65535, &v))
		return -1;
	*port = (unsigned short)v;
	return 0;
}

/* A receive buffer size: a byte count with an optional k/K, m/M or g/G suffix (KiB, MiB, GiB)
 * up to RCVBUF_MAX; NULL, or why not. */
static const char *parse_rcvbuf(const char *s, unsigned long *out)
{
	unsigned long long v;
	if (conf_size(s, ULLONG_MAX, &v))
		return "not a byte count (like 8388608, 8192k or 8M)";
	if (v > RCVBUF_MAX)
		return "not a byte count up to 1073741823 (the kernel's limit)";
	*out = (unsigned long)v;
	return NULL;
}

static int parse_number(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 1e9)
		return -1;
	*out = v;
	return 0;
}

/* ---- options ---- */

struct options {
	const char *bind, *rcvbuf, *ready, *conf, *dest, *rate, *speed, *pcap, *metrics;
	int bare, timed;
	const char *allow[MAX_ALLOW];
	size_t nallow;
	const char *ports[MAX_PORTS];	/* -p */
	size_t nports;
	const char *fds[MAX_PORTS];	/* -f */
	size_t nfds;
	int reuse;			/* -U */
	const char *exec;		/* -X */
	char seen[128];			/* the flags given, to check they belong to the mode */
};

static void parse_options(int argc, char **argv, struct options *o)
{
	int c;
	while ((c = getopt(argc, argv, "rb:a:B:N:c:f:UuX:s:R:Tx:P:p:M:")) != -1) {
		switch (c) {
		case 'r': o->bare = 1; break;
		case 'b': o->bind = optarg; break;
		case 'B': o->rcvbuf = optarg; break;
		case 'N': o->ready = optarg; break;
		case 'c': o->conf = optarg; break;
		case 's': o->dest = optarg; break;
		case 'R': o->rate = optarg; break;
		case 'T': o->timed = 1; break;
		case 'x': o->speed = optarg; break;
		case 'P': o->pcap = optarg; break;
		case 'M': o->metrics = optarg; break;
		case 'a':
			if (o->nallow == MAX_ALLOW)
				die(2, "-a: more than %d prefixes", MAX_ALLOW);
			o->allow[o->nallow++] = optarg;
			break;
		case 'U': o->reuse = 1; break;
		case 'u': o->reuse = 2; break;
		case 'X': o->exec = optarg; break;
		case 'f':
			if (o->nfds == MAX_PORTS)
				die(2, "-f: more than %d sockets", MAX_PORTS);
			o->fds[o->nfds++] = optarg;
			break;
		case 'p':
			if (o->nports == MAX_PORTS)
				die(2, "-p: more than %d ports", MAX_PORTS);
			o->ports[o->nports++] = optarg;
			break;
		default: diag_usage(usage);
		}
		o->seen[c] = 1;
	}
	const char *mode = o->dest ? "sRTx" : o->pcap ? "Ppr" : o->exec ? "XUbBNc" : "rbaBNcfUuM";
	for (size_t f = 0; f < sizeof o->seen; f++)
		if (o->seen[f] && !strchr(mode, (int)f))
			diag_usage(usage);
}

/* ---- framed lines (listen and pcap modes) ---- */

/* The SOURCE column of the last line: a Sense appender sends from one socket, so the same
 * sender comes again and again, and formatting it anew (inet_ntop) cost more than the rest of
 * the line. */
struct source_cache {
	struct addr6 addr;
	unsigned port;
	size_t len;		/* 0: nothing cached yet */
	char text[ENDPOINT_SIZE];
};

/* Where the lines go: the output, and what formatting them once a second or once a sender
 * saves. */
struct framer {
	struct buf out;
	struct timecache tc;
	struct source_cache source;
	int bare;		/* -r */
	double deadline;	/* after SIGTERM: when writing gives up (monotonic); 0 before */
	int midline;		/* a write ended inside a line, whose rest must come next */
	int stuck;		/* the deadline passed with output unwritten */
	int pipe;		/* stdout is a pipe: written in whole lines of at most PIPE_BUF */
};

/* After SIGTERM: writes on, at most PIPE_BUF bytes at a time and ending at a line's end where
 * a line allows, each once poll says it fits, until the deadline. A pipe takes such a write
 * whole or not at all, so a reader that takes nothing leaves whole lines unwritten, never half
 * of one (only a line longer than PIPE_BUF, or one a signal cut before, can be left cut). */
static void write_bounded(struct framer *f, size_t *at)
{
	struct buf *out = &f->out;
	while (*at < out->n) {
		double left = f->deadline - now_mono();
		if (left <= 0) {
			f->stuck = 1;
			return;
		}
		struct pollfd pfd = { .fd = 1, .events = POLLOUT };
		int r = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (r < 0 && errno != EINTR)
			diesys(1, "poll stdout");
		if (r <= 0)
			continue;
		const char *p = out->p + *at;
		size_t n = out->n - *at, chunk = n < PIPE_BUF ? n : PIPE_BUF;
		const char *lf = memrchr(p, '\n', chunk);
		if (lf && !f->midline)
			chunk = (size_t)(lf + 1 - p);
		else if ((lf = memchr(p, '\n', chunk)))
			chunk = (size_t)(lf + 1 - p);	/* the rest of a cut line, alone */
		ssize_t w = write(1, p, chunk);
		if (w < 0 && errno != EINTR && errno != EAGAIN)
			diesys(1, "stdout");
		if (w > 0) {
			*at += (size_t)w;
			f->midline = p[w - 1] != '\n';
		}
	}
}

/* How much of what is left to write goes in one blocking write: all of it, but on a pipe whole
 * lines of at most PIPE_BUF bytes, which the pipe takes whole or not at all, so that a signal
 * never cuts a line (only a line longer than PIPE_BUF can be cut). */
static size_t blocking_chunk(const struct framer *f, const char *p, size_t n)
{
	if (!f->pipe || n <= PIPE_BUF)
		return n;
	const char *lf = memrchr(p, '\n', PIPE_BUF);
	if (lf)
		return (size_t)(lf + 1 - p);
	lf = memchr(p + PIPE_BUF, '\n', n - PIPE_BUF);
	return lf ? (size_t)(lf + 1 - p) : n;
}

/* Writes the lines out. Blocking, as a pipeline should, until SIGTERM: from then on bounded
 * by the deadline (write_bounded); what is left then stays in the buffer, f->stuck set. */
static void write_out(struct framer *f)
{
	struct buf *out = &f->out;
	size_t at = 0;
	while (at < out->n && !f->deadline) {
		/* SIGTERM ends a blocked write early (EINTR, or a short count on a line longer
		 * than PIPE_BUF): the rest is written bounded by the deadline from here on. */
		if (sig_term) {
			f->deadline = now_mono() + DRAIN_SECONDS;
			break;
		}
		ssize_t w = write(1, out->p + at, blocking_chunk(f, out->p + at, out->n - at));
		if (w > 0) {
			at += (size_t)w;
			f->midline = out->p[at - 1] != '\n';
		} else if (!(w < 0 && errno == EINTR)) {
			diesys(1, "stdout");
		}
	}
	if (at < out->n)
		write_bounded(f, &at);
	if (at == out->n) {
		buf_reset(out);
	} else {
		memmove(out->p, out->p + at, out->n - at);
		out->n -= at;
	}
}

static void add_source(struct buf *out, struct source_cache *sc, const struct addr6 *a, unsigned port)
{
	if (!sc->len || sc->port != port || memcmp(&sc->addr, a, sizeof *a)) {
		sc->addr = *a;
		sc->port = port;
		sc->len = format_endpoint(sc->text, a, port);
	}
	buf_add(out, sc->text, sc->len);
}

/* Appends one line (qspipe-events(5)), or the payload alone with -r; writes out beyond OUT_FLUSH,
 * so that big datagrams keep the buffer bounded. */
static void frame_line(struct framer *f, const struct timespec *when, const struct addr6 *from,
		       unsigned from_port, const char *port, const void *payload, size_t len)
{
	struct buf *out = &f->out;
	if (!f->bare) {
		char t[RFC3339_LEN + 1];
		tsv_format_time(&f->tc, t, when);
		buf_add(out, t, RFC3339_LEN);
		buf_addc(out, '\t');
		add_source(out, &f->source, from, from_port);
		buf_addc(out, '\t');
		buf_adds(out, port);
		buf_addc(out, '\t');
	}
	tsv_escape(out, payload, len);
	buf_addc(out, '\n');
	if (out->n > OUT_FLUSH && !f->stuck)
		write_out(f);
}

/* ---- listen mode ---- */

struct listener {
	int family;		/* of the -b/listen address; 0: [::] (or 0.0.0.0 without IPv6) */
	struct addr6 addr;
	unsigned short ports[MAX_PORTS];
	size_t nports;
	struct prefix allow[MAX_ALLOW];
	size_t nallow;
	unsigned long rcvbuf;
	struct metrics metrics;	/* metrics = FILE, metrics_interval; -M FILE */
};

static const char *add_port(struct listener *l, const char *s, size_t n)
{
	unsigned short port;
	if (parse_port(s, n, &port))
		return "not a port number (1-65535)";
	for (size_t i = 0; i < l->nports; i++)
		if (l->ports[i] == port)
			return NULL;
	if (l->nports == MAX_PORTS)
		return "too many ports";
	l->ports[l->nports++] = port;
	return NULL;
}

static const char *add_allow(struct listener *l, const char *s, size_t n)
{
	if (l->nallow == MAX_ALLOW)
		return "too many prefixes";
	if (parse_prefix(s, n, &l->allow[l->nallow]))
		return "not an address or CIDR prefix";
	l->nallow++;
	return NULL;
}

static const char *port_word(void *l, const char *s, size_t n) { return add_port(l, s, n); }
static const char *allow_word(void *l, const char *s, size_t n) { return add_allow(l, s, n); }

static const char *conf_key(void *tool, const char *key, const char *value)
{
	struct listener *l = tool;
	if (!strcmp(key, "listen")) {
		l->family = parse_ip(value, strlen(value), &l->addr);
		return l->family ? NULL : "not an IPv4 or IPv6 address";
	}
	if (!strcmp(key, "ports"))
		return conf_words(value, port_word, l);
	if (!strcmp(key, "allow"))
		return conf_words(value, allow_word, l);
	if (!strcmp(key, "rcvbuf"))
		return parse_rcvbuf(value, &l->rcvbuf);
	return metrics_conf_key(&l->metrics, key, value);
}

/* The config file's settings, then the flags' over them. */
static void configure(struct listener *l, const struct options *o, int nargs, char **args,
		      size_t inherited)
{
	*l = (struct listener){ .rcvbuf = RCVBUF_DEFAULT };
	metrics_init(&l->metrics, "udpcat");
	if (conf_load(conf_path(o->conf), "udpcat", conf_key, l) < 0)
		exit(2);
	if (o->metrics)
		metrics_set_path(&l->metrics, o->metrics);
	if (o->bind && !(l->family = parse_ip(o->bind, strlen(o->bind), &l->addr)))
		die(2, "-b %s: not an IPv4 or IPv6 address", o->bind);
	if (o->rcvbuf) {
		const char *why = parse_rcvbuf(o->rcvbuf, &l->rcvbuf);
		if (why)
			die(2, "-B %s: %s", o->rcvbuf, why);
	}
	if (o->nallow)
		l->nallow = 0;
	for (size_t i = 0; i < o->nallow; i++) {
		const char *why = add_allow(l, o->allow[i], strlen(o->allow[i]));
		if (why)
			die(2, "-a %s: %s", o->allow[i], why);
	}
	if (inherited) {
		/* The supervisor chose the ports: none of the config's, no PORT operands. */
		if (nargs || o->bind || o->reuse)
			diag_usage(usage);
		l->nports = 0;
		return;
	}
	if (nargs)
		l->nports = 0;
	for (int i = 0; i < nargs; i++) {
		const char *why = add_port(l, args[i], strlen(args[i]));
		if (why)
			die(2, "port '%s': %s", args[i], why);
	}
	if (!l->nports)
		diag_usage(usage);
}

struct sock {
	int fd;
	char port[6];		/* the PORT column */
	uint32_t drops;		/* the kernel's drop counter as last seen (SO_RXQ_OVFL) */
	unsigned long long datagrams, bytes, denied, truncated;
	int held;		/* inherited (-f, LISTEN_FDS): its supervisor keeps it open */
};

static void set_int(int fd, int level, int name, const char *what, int value)
{
	if (setsockopt(fd, level, name, &value, sizeof value) < 0)
		diesys(1, "setsockopt %s", what);
}

/* Asks for the receive buffer, past net.core.rmem_max when allowed to; says once if less came. */
static void set_rcvbuf(int fd, unsigned long want, int inherited, int *warned)
{
	int v;
	socklen_t len = sizeof v;
	/* An inherited socket may have more already (systemd's ReceiveBuffer=): never less. */
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len) < 0)
		diesys(1, "getsockopt SO_RCVBUF");
	if (inherited && (unsigned long)v / 2 >= want)
		return;
	v = (int)want;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof v) < 0) {
		if (errno != EPERM)
			diesys(1, "setsockopt SO_RCVBUFFORCE");
		set_int(fd, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", v);
	}
	len = sizeof v;
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len) < 0)
		diesys(1, "getsockopt SO_RCVBUF");
	/* The kernel reports twice what it grants to the data (the rest is its bookkeeping). */
	if ((unsigned long)v / 2 < want && !*warned) {
		*warned = 1;
		warnx("receive buffer: asked for %lu bytes, got %d (raise sysctl net.core.rmem_max)",
		      want, v / 2);
	}
}

/* -U: every new datagram to the port goes to the newest socket of its SO_REUSEPORT group. The
 * kernel numbers a group's sockets in the order they joined, and when one leaves the last takes
 * its place: with the old udpcat at 0 and a new one at 1, this program (the group's, whichever
 * socket attached it last) sends all to the new one while the old drains its queue; once the
 * old is gone, 1 is out of range and the kernel picks by hash among the one left. */
static void take_over(int fd, const char *where)
{
	static struct sock_filter newest[] = { BPF_STMT(BPF_RET | BPF_K, 1) };
	struct sock_fprog prog = { .len = 1, .filter = newest };
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) < 0)
		diesys(1, "%s: setsockopt SO_ATTACH_REUSEPORT_CBPF", where);
}

/* -u: the first udpcat of a group that later ones may take over (-U) must not join a group
 * someone else bound: a plain bind on a probe socket fails while any socket holds the port,
 * SO_REUSEPORT or not, as the bind of a udpcat without -u would. */
static void probe_free(int family, const struct sockaddr_storage *ss, const char *where)
{
	int probe = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		diesys(1, "socket");
	if (family == AF_INET6)
		set_int(probe, IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY", 0);
	if (bind(probe, (const struct sockaddr *)ss, family == AF_INET ? sizeof(struct sockaddr_in)
								      : sizeof(struct sockaddr_in6)) < 0)
		diesys(1, "bind %s", where);
	if (close(probe) < 0)
		diesys(1, "close");
}

/* What every socket gets, bound here or inherited: the receive buffer, the kernel's drop
 * counter and receive time with each datagram. */
static void set_options(int fd, const struct listener *l, int inherited, int *warned)
{
	set_rcvbuf(fd, l->rcvbuf, inherited, warned);
	set_int(fd, SOL_SOCKET, SO_RXQ_OVFL, "SO_RXQ_OVFL", 1);
	set_int(fd, SOL_SOCKET, SO_TIMESTAMPNS, "SO_TIMESTAMPNS", 1);
}

static int open_socket(const struct listener *l, unsigned short port, int reuse, int *warned)
{
	struct sockaddr_storage ss = { 0 };
	struct addr6 any6 = { { 0 } };
	int family = l->family ? l->family : AF_INET6;
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 && !l->family && errno == EAFNOSUPPORT) {
		static const unsigned char any4[4];
		map_v4(&any6, any4);
		family = AF_INET;
		fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	}
	if (fd < 0)
		diesys(1, "socket");
	const struct addr6 *a = l->family ? &l->addr : &any6;
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a->b + 12, 4);
		sin->sin_port = htons(port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a->b, 16);
		sin6->sin6_port = htons(port);
		/* Dual stack: IPv4 senders arrive too, as IPv4-mapped addresses. */
		set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY", 0);
	}
	set_options(fd, l, 0, warned);
	char where[ENDPOINT_SIZE];
	format_endpoint(where, a, port);
	if (reuse == 2)
		probe_free(family, &ss, where);
	if (reuse)
		set_int(fd, SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT", 1);
	if (bind(fd, (struct sockaddr *)&ss, family == AF_INET ? sizeof(struct sockaddr_in)
							       : sizeof(struct sockaddr_in6)) < 0)
		diesys(1, "bind %s", where);
	if (reuse)
		take_over(fd, where);
	return fd;
}

/* An inherited socket (-f, LISTEN_FDS): a UDP socket bound to a port, or exit 2 naming it. Its
 * port is the PORT column. Left blocking as it came (its file description is the supervisor's
 * too): every receive here is MSG_DONTWAIT. */
static void adopt_socket(struct sock *s, int fd, const char *what, const struct listener *l,
			 int *warned)
{
	int type, proto;
	socklen_t len = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
		if (errno == EBADF || errno == ENOTSOCK)
			die(2, "%s: %s", what, errno == EBADF ? "not an open descriptor" : "not a socket");
		diesys(1, "%s: getsockopt SO_TYPE", what);
	}
	len = sizeof proto;
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) < 0)
		diesys(1, "%s: getsockopt SO_PROTOCOL", what);
	struct sockaddr_storage ss;
	len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		diesys(1, "%s: getsockname", what);
	struct addr6 a;
	unsigned port = (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) ? from_sockaddr(&ss, &a) : 0;
	if (type != SOCK_DGRAM || proto != IPPROTO_UDP || !port)
		die(2, "%s: not a UDP socket bound to a port", what);
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		diesys(1, "%s: fcntl", what);
	set_options(fd, l, 1, warned);
	*s = (struct sock){ .fd = fd, .held = 1 };
	format_uint(s->port, port);
}

/* systemd's socket activation, by its protocol: LISTEN_PID names this process, LISTEN_FDS
 * counts the sockets from descriptor 3, LISTEN_FDNAMES names them (colon-separated, for
 * messages). The variables are removed, so that no child takes them for its own. */
static size_t listen_fds(struct sock *socks, size_t have, const struct listener *l, int *warned)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	unsigned long p, n;
	if (!pid || !fds || conf_ulong(pid, 1, ULONG_MAX, &p) || p != (unsigned long)getpid())
		return 0;
	if (conf_ulong(fds, 1, MAX_PORTS - have, &n))
		die(2, "LISTEN_FDS=%s: not a number of sockets from 1 to %zu", fds, MAX_PORTS - have);
	for (unsigned long i = 0; i < n; i++) {
		char what[96];
		size_t len = 0;
		if (names) {
			len = strcspn(names, ":");
			if (len > 40)
				len = 40;
		}
		snprintf(what, sizeof what, "socket %lu of LISTEN_FDS%s%.*s%s (fd %lu)", i + 1,
			 len ? " ('" : "", (int)len, names ? names : "", len ? "')" : "", 3 + i);
		adopt_socket(&socks[have + i], (int)(3 + i), what, l, warned);
		if (names)
			names = strchr(names, ':') ? strchr(names, ':') + 1 : NULL;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return n;
}



/* s6 readiness: a line on the descriptor once every socket is bound. */
static void notify_ready(const char *fdtext)
{
	unsigned long fd;
	if (conf_ulong(fdtext, 0, 1 << 20, &fd))
		die(2, "-N %s: not a file descriptor number", fdtext);
	if (write((int)fd, "\n", 1) != 1)
		diesys(1, "readiness notification on fd %lu", fd);
	close((int)fd);
}

struct receiver {
	const struct listener *l;
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage from[BATCH];
	union {
		char b[CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} ctl[BATCH];
	char *data;
	struct framer fr;
	unsigned long long left, unwritten;	/* dropped at exit: unread, and read but not written */
	unsigned long long left_queued;		/* bytes left in inherited sockets at exit */
	struct ratelimit rl;
};

static void receiver_init(struct receiver *rc, const struct listener *l, int bare)
{
	rc->l = l;
	rc->fr.bare = bare;
	struct stat st;
	rc->fr.pipe = fstat(1, &st) == 0 && S_ISFIFO(st.st_mode);
	rc->data = malloc((size_t)BATCH * RECV_SIZE);
	if (!rc->data)
		die(1, "allocating receive buffers: out of memory");
	for (int i = 0; i < BATCH; i++) {
		rc->iov[i] = (struct iovec){ rc->data + (size_t)i * RECV_SIZE, RECV_SIZE };
		rc->msgs[i].msg_hdr.msg_iov = &rc->iov[i];
		rc->msgs[i].msg_hdr.msg_iovlen = 1;
		rc->msgs[i].msg_hdr.msg_name = &rc->from[i];
		rc->msgs[i].msg_hdr.msg_control = rc->ctl[i].b;
	}
}

/* The kernel's receive time and drop counter, from the control messages. */
static void read_cmsgs(struct msghdr *h, struct timespec *when, uint32_t *drops)
{
	int have_time = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_TIMESTAMPNS) {
			memcpy(when, CMSG_DATA(c), sizeof *when);
			have_time = 1;
		} else if (c->cmsg_type == SO_RXQ_OVFL) {
			uint32_t d;
			memcpy(&d, CMSG_DATA(c), sizeof d);
			if (d > *drops)
				*drops = d;
		}
	}
	if (!have_time)
		clock_gettime(CLOCK_REALTIME, when);
}

static int allowed(const struct listener *l, const struct addr6 *a)
{
	if (!l->nallow)
		return 1;
	for (size_t i = 0; i < l->nallow; i++)
		if (prefix_match(&l->allow[i], a))
			return 1;
	return 0;
}

static void take(struct receiver *rc, struct sock *s, unsigned i)
{
	struct msghdr *h = &rc->msgs[i].msg_hdr;
	size_t len = rc->msgs[i].msg_len;
	struct timespec when;
	read_cmsgs(h, &when, &s->drops);
	struct addr6 from;
	unsigned from_port = from_sockaddr(&rc->from[i], &from);
	if (!allowed(rc->l, &from)) {
		s->denied++;
		return;
	}
	if (h->msg_flags & MSG_TRUNC) {
		s->truncated++;
		if (ratelimit_allow(&rc->rl, 10, "truncated-datagram diagnostics"))
			warnx("port %s: datagram longer than %d bytes dropped", s->port, RECV_SIZE);
		return;
	}
	s->datagrams++;
	s->bytes += len;
	frame_line(&rc->fr, &when, &from, from_port, s->port, rc->iov[i].iov_base, len);
}

/* One batch from the socket, framed; how many datagrams it held (0: none waiting). */
static int read_batch(struct receiver *rc, struct sock *s, int flags)
{
	for (int i = 0; i < BATCH; i++) {
		rc->msgs[i].msg_hdr.msg_namelen = sizeof rc->from[i];
		rc->msgs[i].msg_hdr.msg_controllen = sizeof rc->ctl[i].b;
		rc->msgs[i].msg_hdr.msg_flags = 0;
	}
	int got = recvmmsg(s->fd, rc->msgs, BATCH, MSG_DONTWAIT | flags, NULL);
	if (got < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		diesys(1, "recvmmsg on port %s", s->port);
	}
	return got;
}

/* Takes what the socket holds, a batch at a time, each batch written out at once. */
static void drain(struct receiver *rc, struct sock *s)
{
	for (int round = 0; round < ROUNDS; round++) {
		int got = read_batch(rc, s, 0);
		for (int i = 0; i < got; i++)
			take(rc, s, (unsigned)i);
		write_out(&rc->fr);
		if (got < BATCH || rc->fr.stuck)
			return;
	}
}

/* After SIGTERM: what the sockets hold is read and written out until they are empty, or until
 * DRAIN_SECONDS have passed or the output stops taking lines. Reading waits for the output:
 * what cannot be written is not read. */
static void exit_drain(struct receiver *rc, struct sock *socks, size_t n)
{
	struct framer *f = &rc->fr;
	if (!f->deadline)
		f->deadline = now_mono() + DRAIN_SECONDS;
	for (;;) {
		write_out(f);
		if (f->stuck || now_mono() >= f->deadline)
			break;
		int got = 0;
		for (size_t i = 0; i < n; i++) {
			int k = read_batch(rc, &socks[i], 0);
			for (int j = 0; j < k; j++)
				take(rc, &socks[i], (unsigned)j);
			got += k;
		}
		if (!got)
			break;
	}
	write_out(f);
	/* The lines left in the buffer, a cut one included: one datagram each. */
	for (const char *p = f->out.p, *end = p + f->out.n; p < end; p++)
		if (*p == '\n')
			rc->unwritten++;
	if (f->midline && f->out.n && f->out.p[f->out.n - 1] != '\n')
		rc->unwritten++;
}

/* What a socket still holds at exit. One udpcat bound is closed with it, so its datagrams are
 * read (their lengths only) and counted as lost; an inherited one outlives udpcat in its
 * supervisor, so its queue is left for the next reader and only its size (the kernel's
 * accounting, SO_MEMINFO) is told. */
static void count_left(struct receiver *rc, struct sock *s)
{
	if (s->held) {
		uint32_t mem[SK_MEMINFO_VARS];
		socklen_t len = sizeof mem;
		if (getsockopt(s->fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0)
			rc->left_queued += mem[SK_MEMINFO_RMEM_ALLOC];
		return;
	}
	for (int i = 0; i < BATCH; i++)
		rc->iov[i].iov_len = 0;
	/* Bounded: a flood cannot keep udpcat counting. */
	for (int k = 0; k < 100000 / BATCH; k++) {
		int got = read_batch(rc, s, MSG_TRUNC);
		rc->left += (unsigned)got;
		if (got < BATCH)
			break;
	}
	for (int i = 0; i < BATCH; i++)
		rc->iov[i].iov_len = RECV_SIZE;
}

/* The socket's drop counter as /proc/net/udp shows it now: SO_RXQ_OVFL tells it only along
 * with the next datagram taken, so without this the drops after the last one would go unseen. */
static void update_drops(struct sock *s)
{
	static const char *const tables[] = { "/proc/net/udp", "/proc/net/udp6" };
	struct stat st;
	if (fstat(s->fd, &st) < 0)
		return;
	for (size_t t = 0; t < sizeof tables / sizeof *tables; t++) {
		FILE *f = fopen(tables[t], "r");
		if (!f)
			continue;	/* no /proc: what SO_RXQ_OVFL told will do */
		char line[512];
		unsigned long inode, drops;
		while (fgets(line, sizeof line, f))
			if (sscanf(line, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %lu %*s %*s %lu",
				   &inode, &drops) == 2 && inode == st.st_ino && drops > s->drops)
				s->drops = (uint32_t)drops;
		fclose(f);
	}
}

/* The counters; at exit also what was left unread or unwritten, only when there was any, so
 * that the line reads as it always did. */
static void listen_summary(struct receiver *rc, struct sock *socks, size_t n)
{
	unsigned long long drops = 0, datagrams = 0, bytes = 0, denied = 0, truncated = 0;
	for (size_t i = 0; i < n; i++) {
		update_drops(&socks[i]);
		drops += socks[i].drops;
		datagrams += socks[i].datagrams;
		bytes += socks[i].bytes;
		denied += socks[i].denied;
		truncated += socks[i].truncated;
	}
	ratelimit_flush(&rc->rl, "truncated-datagram diagnostics");
	char exit_loss[160] = "", *p = exit_loss;
	size_t room = sizeof exit_loss;
	if (rc->left || rc->unwritten) {
		int k = snprintf(p, room, ", %llu dropped at exit (%llu left unread in the sockets, "
				 "%llu not written out by the deadline)",
				 rc->left + rc->unwritten, rc->left, rc->unwritten);
		p += k, room -= (size_t)k;
	}
	if (rc->left_queued)
		snprintf(p, room, ", %llu bytes left queued in inherited sockets", rc->left_queued);
	warnx("%llu datagrams, %llu bytes, %llu denied, %llu truncated, %llu dropped by the kernel%s",
	      datagrams, bytes, denied, truncated, drops, exit_loss);
}

/* The counters per port for Prometheus; at exit (at_exit) with what was dropped then. */
static void write_metrics(struct metrics *m, const struct receiver *rc, struct sock *socks,
			  size_t n, int at_exit)
{
	static const struct {
		const char *what, *help;
		size_t off;
	} per_port[] = {
		{ "datagrams", "Datagrams received and written out, by port.",
		  offsetof(struct sock, datagrams) },
		{ "bytes", "Bytes of the datagrams received, by port.", offsetof(struct sock, bytes) },
		{ "denied", "Datagrams from senders outside allow, by port.",
		  offsetof(struct sock, denied) },
		{ "truncated", "Datagrams longer than 65536 bytes dropped, by port.",
		  offsetof(struct sock, truncated) },
	};
	struct buf l = { 0 };
	metrics_begin(m);
	for (size_t k = 0; k < sizeof per_port / sizeof *per_port; k++)
		for (size_t i = 0; i < n; i++) {
			buf_reset(&l);
			metrics_label(&l, "port", socks[i].port, strlen(socks[i].port));
			const unsigned long long *v =
				(const void *)((const char *)&socks[i] + per_port[k].off);
			metrics_sample(m, per_port[k].what, 1, per_port[k].help, buf_str(&l), (double)*v);
		}
	for (size_t i = 0; i < n; i++) {
		update_drops(&socks[i]);
		buf_reset(&l);
		metrics_label(&l, "port", socks[i].port, strlen(socks[i].port));
		metrics_sample(m, "kernel_drops", 1,
			       "Datagrams the kernel dropped, its receive buffer full (rcvbuf), by port.",
			       buf_str(&l), (double)socks[i].drops);
	}
	if (at_exit)
		metrics_sample(m, "exit_dropped", 1,
			       "Datagrams dropped at exit: left unread, or read and not written out.",
			       NULL, (double)(rc->left + rc->unwritten));
	buf_free(&l);
	metrics_write(m, now_mono());
}

/* Whether systemd passed sockets to this process. */
static int activated(void)
{
	const char *pid = getenv("LISTEN_PID");
	unsigned long p;
	return pid && getenv("LISTEN_FDS") && !conf_ulong(pid, 1, ULONG_MAX, &p) &&
	       p == (unsigned long)getpid();
}

/* The sockets: inherited (-f, then LISTEN_FDS) or, without any, bound here. */
static size_t open_sockets(const struct options *o, const struct listener *l, struct sock *socks)
{
	int warned = 0;
	size_t n = 0;
	for (size_t i = 0; i < o->nfds; i++) {
		unsigned long fd;
		char what[32];
		if (conf_ulong(o->fds[i], 0, INT_MAX, &fd))
			die(2, "-f %s: not a file descriptor number", o->fds[i]);
		for (size_t j = 0; j < n; j++)
			if (socks[j].fd == (int)fd)
				die(2, "-f %s: given twice", o->fds[i]);
		snprintf(what, sizeof what, "-f %lu", fd);
		adopt_socket(&socks[n++], (int)fd, what, l, &warned);
	}
	n += listen_fds(socks, n, l, &warned);
	if (n)
		return n;
	for (size_t i = 0; i < l->nports; i++) {
		socks[i] = (struct sock){ .fd = open_socket(l, l->ports[i], o->reuse, &warned) };
		format_uint(socks[i].port, l->ports[i]);
	}
	return l->nports;
}

/* -X: the sockets bound, handed on as systemd would (descriptors 3.., LISTEN_FDS, LISTEN_PID of
 * this process, which sh keeps, LISTEN_FDNAMES the ports) to /bin/sh -c COMMAND, for a
 * supervisor's fd store (s6-fdholder-store) to keep. */
static noreturn void exec_with_sockets(const char *command, const struct sock *socks, size_t n)
{
	int high[MAX_PORTS];
	char names[MAX_PORTS * 6] = "", number[24];
	/* Out of the way first, so that moving one to 3+i never closes another. */
	for (size_t i = 0; i < n; i++)
		if ((high[i] = fcntl(socks[i].fd, F_DUPFD_CLOEXEC, 3 + MAX_PORTS)) < 0)
			diesys(1, "fcntl F_DUPFD");
	for (size_t i = 0; i < n; i++) {
		if (dup2(high[i], (int)(3 + i)) < 0)	/* without close-on-exec */
			diesys(1, "dup2");
		close(high[i]);
		if (i)
			strcat(names, ":");
		strcat(names, socks[i].port);
	}
	snprintf(number, sizeof number, "%zu", n);
	if (setenv("LISTEN_FDS", number, 1) < 0 || setenv("LISTEN_FDNAMES", names, 1) < 0)
		diesys(1, "setenv");
	snprintf(number, sizeof number, "%ld", (long)getpid());
	if (setenv("LISTEN_PID", number, 1) < 0)
		diesys(1, "setenv");
	execl("/bin/sh", "sh", "-c", command, (char *)NULL);
	diesys(1, "exec /bin/sh");
}

static int listen_mode(const struct options *o, int nargs, char **args)
{
	struct listener l;
	configure(&l, o, nargs, args, !o->exec && (o->nfds || activated()));
	struct sock socks[MAX_PORTS];
	struct pollfd pfd[MAX_PORTS + 1];
	l.nports = open_sockets(o, &l, socks);
	if (o->exec) {
		if (o->ready)
			notify_ready(o->ready);
		exec_with_sockets(o->exec, socks, l.nports);
	}
	for (size_t i = 0; i < l.nports; i++)
		pfd[i] = (struct pollfd){ .fd = socks[i].fd, .events = POLLIN };
	/* Only errors are asked for: a reader that went away ends udpcat without waiting for a
	 * datagram to fail writing. */
	pfd[l.nports] = (struct pollfd){ .fd = 1 };
	if (o->ready)
		notify_ready(o->ready);
	struct receiver *rc = calloc(1, sizeof *rc);
	if (!rc)
		die(1, "allocating the receiver: out of memory");
	receiver_init(rc, &l, o->bare);
	struct metrics *m = &l.metrics;
	while (!sig_term) {
		if (sig_usr1) {
			sig_usr1 = 0;
			listen_summary(rc, socks, l.nports);
		}
		double now = now_mono();
		if (metrics_due(m, now))
			write_metrics(m, rc, socks, l.nports, 0);
		/* At most a second: a SIGTERM that lands between the loop's check and poll is then
		 * seen within a second on a quiet port, not at the next datagram. */
		double wait = metrics_wait(m, now);
		if (wait < 0 || wait > 1)
			wait = 1;
		if (poll(pfd, l.nports + 1, (int)(wait * 1000) + 1) < 0) {
			if (errno == EINTR)
				continue;
			diesys(1, "poll");
		}
		if (pfd[l.nports].revents)
			die(1, "stdout: closed by its reader");
		for (size_t i = 0; i < l.nports; i++)
			if (pfd[i].revents & POLLIN)
				drain(rc, &socks[i]);
			else if (pfd[i].revents)
				die(1, "port %s: socket error", socks[i].port);
	}
	exit_drain(rc, socks, l.nports);
	for (size_t i = 0; i < l.nports; i++)
		count_left(rc, &socks[i]);
	listen_summary(rc, socks, l.nports);
	if (m->path)
		write_metrics(m, rc, socks, l.nports, 1);
	metrics_free(m);
	int status = rc->left || rc->unwritten;
	for (size_t i = 0; i < l.nports; i++)
		close(socks[i].fd);
	buf_free(&rc->fr.out);
	free(rc->data);
	free(rc);
	return status;
}

/* ---- send mode ---- */

struct sender {
	int fd;
	const char *dest;
	size_t max_payload;
	double rate;		/* -R: datagrams a second; 0 unpaced */
	double speed;		/* -T: replay speed factor; 0 sends at once */
	double next;		/* -R: when the next datagram is due (monotonic) */
	int have_origin;	/* -T: the first framed line's time is known */
	double origin, start;	/* -T: that time, and when it was sent (monotonic) */
	/* The queue: payloads back to back, off[i]..off[i+1] the i-th. */
	struct buf data;
	size_t off[BATCH + 1];
	size_t queued;
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	unsigned long long sent, bytes, malformed, refused;
	int failed;
	struct ratelimit rl;
	int tty, progress_shown;
	double t0, last_progress;
};

static void end_progress(struct sender *s)
{
	if (s->progress_shown)
		fputc('\n', stderr);
	s->progress_shown = 0;
}

/* A replay longer than a second shows how far it is, on a terminal. */
static void progress(struct sender *s)
{
	if (!s->tty)
		return;
	double now = now_mono();
	if (now - s->t0 < 1 || now - s->last_progress < 0.25)
		return;
	s->last_progress = now;
	s->progress_shown = 1;
	fprintf(stderr, "\r%s: %llu sent, %.0f s", diag_prog, s->sent, now - s->t0);
}

static void send_summary(struct sender *s)
{
	end_progress(s);
	ratelimit_flush(&s->rl, "malformed-line diagnostics");
	warnx("%llu datagrams sent, %llu bytes, %llu malformed lines skipped, %llu refused",
	      s->sent, s->bytes, s->malformed, s->refused);
}

static void check_usr1(struct sender *s)
{
	if (sig_usr1) {
		sig_usr1 = 0;
		send_summary(s);
	}
}

/* Sleeps until the monotonic time `until` or a signal. */
static void sleep_until(double until)
{
	double left = until - now_mono();
	if (left <= 0)
		return;
	struct timespec ts = { (time_t)left, (long)((left - (double)(time_t)left) * 1e9) };
	nanosleep(&ts, NULL);
}

/* -R: how many of `want` datagrams may go now; waits until at least one may. After SIGTERM
 * all of them: what is in hand goes at once. */
static size_t pace(struct sender *s, size_t want)
{
	for (;;) {
		if (sig_term)
			return want;
		double now = now_mono();
		if (s->next < now - PACE_SLACK)
			s->next = now - PACE_SLACK;
		if (now >= s->next) {
			double due = 1 + (now - s->next) * s->rate;
			size_t k = due < (double)want ? (size_t)due : want;
			s->next += (double)k / s->rate;
			return k;
		}
		/* At high rates one wake-up per batch, not per datagram: fewer, fuller sendmmsg. */
		double batch = (double)(want - 1) / s->rate;
		sleep_until(s->next + (batch < PACE_GRAIN ? batch : PACE_GRAIN));
		check_usr1(s);
	}
}

/* Sends k queued datagrams from the i-th; returns how many went (0: try again). */
static size_t send_some(struct sender *s, size_t i, size_t k)
{
	for (size_t j = 0; j < k; j++) {
		s->iov[j] = (struct iovec){ s->data.p + s->off[i + j], s->off[i + j + 1] - s->off[i + j] };
		s->msgs[j].msg_hdr = (struct msghdr){ .msg_iov = &s->iov[j], .msg_iovlen = 1 };
	}
	int r = sendmmsg(s->fd, s->msgs, (unsigned)k, 0);
	if (r > 0) {
		s->sent += (unsigned)r;
		s->bytes += s->off[i + (size_t)r] - s->off[i];
		return (size_t)r;
	}
	if (r == 0)
		return 0;
	switch (errno) {
	case ECONNREFUSED:
		/* An earlier datagram met a closed port (ICMP); this one was not sent yet. */
		s->refused++;
		return 0;
	case EINTR:
		check_usr1(s);
		return 0;
	case ENOBUFS:
	case EAGAIN:
		sleep_until(now_mono() + 0.001);
		return 0;
	default:
		diesys(1, "send to %s", s->dest);
	}
}

static void send_queue(struct sender *s)
{
	for (size_t done = 0; done < s->queued;) {
		size_t k = s->queued - done;
		if (s->rate > 0)
			k = pace(s, k);
		done += send_some(s, done, k);
	}
	s->queued = 0;
	buf_reset(&s->data);
	progress(s);
}

static void send_before_read(void *ctx)
{
	struct sender *s = ctx;
	send_queue(s);
	check_usr1(s);
}

/* -T: waits until the framed line's time comes, relative to the first one's. */
static void wait_for_time(struct sender *s, const struct slice *t)
{
	struct timespec ts;
	if (tsv_parse_time(t->p, t->n, &ts) < 0)
		return;	/* a time of the right shape but impossible (month 13): at once */
	double when = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	if (!s->have_origin) {
		s->have_origin = 1;
		s->origin = when;
		s->start = now_mono();
		return;
	}
	double due = s->start + (when - s->origin) / s->speed;
	if (due <= now_mono())
		return;
	send_queue(s);
	while (!sig_term && now_mono() < due) {
		double step = now_mono() + 0.25;
		sleep_until(due < step ? due : step);
		check_usr1(s);
		progress(s);
	}
}

static void malformed(struct sender *s, const char *name, unsigned long lineno, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void malformed(struct sender *s, const char *name, unsigned long lineno, const char *fmt, ...)
{
	s->malformed++;
	if (!ratelimit_allow(&s->rl, 10, "malformed-line diagnostics"))
		return;
	end_progress(s);
	char why[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	warnx("%s:%lu: %s", name, lineno, why);
}

static void send_line(struct sender *s, const char *name, const struct lines *lr,
		      const char *line, size_t n)
{
	if (lr->overlong) {
		malformed(s, name, lr->lineno, "line longer than %d bytes", LINES_MAX);
		return;
	}
	struct framed fr;
	int framed = tsv_parse_framed(line, n, &fr);
	if (framed < 0) {
		malformed(s, name, lr->lineno, "framed line without 4 fields");
		return;
	}
	if (framed && s->speed > 0)
		wait_for_time(s, &fr.time);
	if (sig_term)
		return;	/* its time had not come */
	size_t start = s->data.n, bad;
	if (tsv_unescape(&s->data, fr.payload.p, fr.payload.n, &bad) < 0) {
		s->data.n = start;
		malformed(s, name, lr->lineno, "bad escape at byte %zu",
			  (size_t)(fr.payload.p - line) + bad + 1);
		return;
	}
	if (s->data.n - start > s->max_payload) {
		size_t len = s->data.n - start;
		s->data.n = start;
		malformed(s, name, lr->lineno, "payload of %zu bytes: longer than a datagram", len);
		return;
	}
	s->off[++s->queued] = s->data.n;
	if (s->queued == BATCH)
		send_queue(s);
}

static void send_file(struct sender *s, const char *path)
{
	int stdin_ = !strcmp(path, "-");
	const char *name = stdin_ ? "stdin" : path;
	int fd = stdin_ ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		warnsys("%s", path);
		s->failed = 1;
		return;
	}
	struct lines lr;
	lines_init(&lr, fd, send_before_read, s);
	char *line;
	size_t n;
	int r;
	while (!sig_term && (r = lines_next(&lr, &line, &n)) != LINES_EOF) {
		if (r == LINES_OK) {
			send_line(s, name, &lr, line, n);
		} else if (errno != EINTR) {
			warnsys("reading %s", name);
			s->failed = 1;
			break;
		}
	}
	lines_free(&lr);
	if (!stdin_)
		close(fd);
}

/* HOST:PORT, [IPv6]:PORT or NAME:PORT, connected so the kernel routes it once. */
static int connect_dest(const char *dest, size_t *max_payload)
{
	const char *colon = strrchr(dest, ':');
	if (!colon || colon == dest || !colon[1])
		die(2, "-s %s: not HOST:PORT", dest);
	unsigned short port;
	if (parse_port(colon + 1, strlen(colon + 1), &port))
		die(2, "-s %s: port '%s' is not a number (1-65535)", dest, colon + 1);
	char host[256];
	const char *start = dest;
	size_t hlen = (size_t)(colon - dest);
	if (dest[0] == '[' && colon[-1] == ']')
		start++, hlen -= 2;
	if (hlen >= sizeof host)
		die(2, "-s %s: host name too long", dest);
	memcpy(host, start, hlen);
	host[hlen] = 0;
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV }, *res;
	int err = getaddrinfo(host, colon + 1, &hints, &res);
	if (err)
		die(2, "-s %s: %s", dest, gai_strerror(err));
	int fd = -1;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			close(fd);
			fd = -1;
			continue;
		}
		*max_payload = ai->ai_family == AF_INET ? DGRAM_MAX4 : DGRAM_MAX6;
	}
	freeaddrinfo(res);
	if (fd < 0)
		diesys(1, "connect to %s", dest);
	return fd;
}

static int send_mode(const struct options *o, int nargs, char **args)
{
	struct sender *s = calloc(1, sizeof *s);
	if (!s)
		die(1, "allocating the sender: out of memory");
	if (o->rate && parse_number(o->rate, &s->rate))
		die(2, "-R %s: not a positive number of datagrams a second", o->rate);
	if (o->timed)
		s->speed = 1;
	if (o->speed && parse_number(o->speed, &s->speed))
		die(2, "-x %s: not a positive speed factor", o->speed);
	s->dest = o->dest;
	s->fd = connect_dest(o->dest, &s->max_payload);
	s->tty = isatty(2);
	s->t0 = now_mono();
	if (!nargs)
		send_file(s, "-");
	for (int i = 0; i < nargs && !sig_term; i++)
		send_file(s, args[i]);
	send_queue(s);
	send_summary(s);
	int status = s->failed;
	close(s->fd);
	buf_free(&s->data);
	free(s);
	return status;
}

/* ---- pcap mode ---- */

static void flush_before_read(void *fr)
{
	write_out(fr);
}

static int pcap_mode(const struct options *o, int nargs)
{
	if (nargs)
		diag_usage(usage);
	unsigned short ports[MAX_PORTS];
	for (size_t i = 0; i < o->nports; i++)
		if (parse_port(o->ports[i], strlen(o->ports[i]), &ports[i]))
			die(2, "-p %s: not a port number (1-65535)", o->ports[i]);
	struct framer fr = { .bare = o->bare };
	struct capture *c = capture_open(o->pcap, ports, o->nports, flush_before_read, &fr);
	struct capture_dgram d;
	while (capture_next(c, &d)) {
		struct addr6 src;
		memcpy(src.b, d.src, sizeof src.b);
		char port[6];
		format_uint(port, d.dport);
		frame_line(&fr, &d.time, &src, d.sport, port, d.payload, d.len);
	}
	write_out(&fr);
	capture_summary(c);
	capture_close(c);
	buf_free(&fr.out);
	return 0;
}

int main(int argc, char **argv)
{
	diag_init("udpcat");
	diag_std_flags(argc, argv, usage);
	struct options o = { 0 };
	parse_options(argc, argv, &o);
	sig_setup();
	if (o.dest)
		return send_mode(&o, argc - optind, argv + optind);
	if (o.pcap)
		return pcap_mode(&o, argc - optind);
	return listen_mode(&o, argc - optind, argv + optind);
}
