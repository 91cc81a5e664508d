/* pcap: the UDP datagrams of a pcap or pcapng capture (pcap.h). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "pcap.h"
#include "sig.h"

#define TIME_MAX 253402300799LL	/* 9999-12-31T23:59:59Z: the last second RFC 3339 can write */

enum packet { PKT_UDP, PKT_OTHER, PKT_FRAGMENT, PKT_TRUNCATED, PKT_MALFORMED };

struct udp_view {
	struct capture_dgram *d;
	char why[80];		/* PKT_MALFORMED: what is impossible in it */
};

static unsigned be16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }

static enum packet parse_udp(const unsigned char *p, size_t n, struct udp_view *u)
{
	if (n < 8)
		return PKT_TRUNCATED;
	unsigned len = be16(p + 4);
	if (len < 8) {
		snprintf(u->why, sizeof u->why, "UDP length %u (less than 8)", len);
		return PKT_MALFORMED;
	}
	if (len > n)
		return PKT_TRUNCATED;
	u->d->sport = be16(p);
	u->d->dport = be16(p + 2);
	u->d->payload = p + 8;
	u->d->len = len - 8;
	return PKT_UDP;
}

static enum packet parse_ipv4(const unsigned char *p, size_t n, struct udp_view *u)
{
	if (n < 20)
		return PKT_TRUNCATED;
	size_t hlen = (size_t)(p[0] & 15) * 4, total = be16(p + 2);
	if (p[9] != IPPROTO_UDP)
		return PKT_OTHER;
	if (be16(p + 6) & 0x3fff)	/* more fragments, or an offset */
		return PKT_FRAGMENT;
	if (hlen < 20) {
		snprintf(u->why, sizeof u->why, "IPv4 header length %zu (less than 20)", hlen);
		return PKT_MALFORMED;
	}
	if (total < hlen) {
		snprintf(u->why, sizeof u->why, "IPv4 total length %zu (less than its header, %zu)",
			 total, hlen);
		return PKT_MALFORMED;
	}
	if (total > n)
		return PKT_TRUNCATED;
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
	memcpy(u->d->src, mapped, 12);
	memcpy(u->d->src + 12, p + 12, 4);
	return parse_udp(p + hlen, total - hlen, u);
}

static enum packet parse_ipv6(const unsigned char *p, size_t n, struct udp_view *u)
{
	if (n < 40)
		return PKT_TRUNCATED;
	size_t total = 40 + be16(p + 4), at = 40;
	unsigned next = p[6];
	if (total > n)
		return PKT_TRUNCATED;
	memcpy(u->d->src, p + 8, 16);
	/* Hop-by-hop, routing and destination options headers may come before UDP. */
	while (next == 0 || next == 43 || next == 60) {
		if (at + 8 > total)
			return PKT_TRUNCATED;
		next = p[at];
		at += ((size_t)p[at + 1] + 1) * 8;
	}
	if (next == 44)
		return PKT_FRAGMENT;
	if (next != IPPROTO_UDP)
		return PKT_OTHER;
	if (at > total)
		return PKT_TRUNCATED;
	return parse_udp(p + at, total - at, u);
}

static enum packet parse_ip_packet(const unsigned char *p, size_t n, struct udp_view *u)
{
	if (n < 1)
		return PKT_TRUNCATED;
	switch (p[0] >> 4) {
	case 4: return parse_ipv4(p, n, u);
	case 6: return parse_ipv6(p, n, u);
	default: return PKT_OTHER;
	}
}

/* The UDP datagram in a captured frame, behind its link-layer header. */
static enum packet parse_frame(int dlt, const unsigned char *p, size_t n, struct udp_view *u)
{
	size_t at, type_at;
	switch (dlt) {
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return parse_ip_packet(p, n, u);
	case DLT_NULL:
	case DLT_LOOP:
		/* The address family, in either byte order: the IP version tells. */
		return n < 4 ? PKT_TRUNCATED : parse_ip_packet(p + 4, n - 4, u);
	case DLT_LINUX_SLL:
		type_at = 14, at = 16;
		break;
	case DLT_LINUX_SLL2:
		type_at = 0, at = 20;
		break;
	default:		/* DLT_EN10MB, possibly VLAN-tagged */
		type_at = 12, at = 14;
		while (at <= n && (be16(p + type_at) == 0x8100 || be16(p + type_at) == 0x88a8))
			type_at += 4, at += 4;
	}
	if (at > n)
		return PKT_TRUNCATED;
	unsigned type = be16(p + type_at);
	if (type != 0x0800 && type != 0x86dd)
		return PKT_OTHER;
	return parse_ip_packet(p + at, n - at, u);
}

/* The capture as libpcap reads it: a stdio stream over the file, so that its reads can be
 * seen. libpcap takes a read interrupted by a signal (sig.h: no SA_RESTART) for a broken file;
 * here the read is retried, and only SIGTERM ends the input. */
struct capture {
	int fd;
	int regular;		/* a regular file: no before_read, fewer and larger reads */
	int stdin_;		/* fd is stdin, not ours to close */
	const char *name;	/* for messages: the path, or stdin */
	pcap_t *pc;		/* NULL: SIGTERM before the header */
	int dlt;
	const unsigned short *ports;
	size_t nports;
	void (*before_read)(void *ctx);
	void *ctx;
	unsigned long long packets, written, other, fragments, truncated, filtered, malformed;
	struct ratelimit rl;
};

void capture_summary(struct capture *c)
{
	ratelimit_flush(&c->rl, "malformed-packet diagnostics");
	/* The malformed count only when there are some, so the line reads as it always did. */
	char malformed[40] = "";
	if (c->malformed)
		snprintf(malformed, sizeof malformed, ", %llu malformed", c->malformed);
	warnx("%llu packets, %llu datagrams written, %llu not UDP, %llu fragments, %llu truncated, "
	      "%llu filtered out%s", c->packets, c->written, c->other, c->fragments, c->truncated,
	      c->filtered, malformed);
}

static void check_usr1(struct capture *c)
{
	if (sig_usr1) {
		sig_usr1 = 0;
		capture_summary(c);
	}
}

static ssize_t capture_read(void *cookie, char *p, size_t n)
{
	struct capture *c = cookie;
	for (;;) {
		if (!c->regular && c->before_read)
			c->before_read(c->ctx);
		check_usr1(c);
		if (sig_term) {
			errno = EINTR;
			return -1;
		}
		ssize_t r = read(c->fd, p, n);
		if (r >= 0 || errno != EINTR)
			return r;
	}
}

struct capture *capture_open(const char *path, const unsigned short *ports, size_t nports,
			     void (*before_read)(void *ctx), void *ctx)
{
	struct capture *c = calloc(1, sizeof *c);
	if (!c)
		die(1, "allocating the capture reader: out of memory");
	*c = (struct capture){ .ports = ports, .nports = nports, .before_read = before_read, .ctx = ctx };
	c->stdin_ = !strcmp(path, "-");
	c->name = c->stdin_ ? "stdin" : path;
	c->fd = c->stdin_ ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (c->fd < 0 || fstat(c->fd, &st) < 0)
		diesys(1, "%s", path);
	c->regular = S_ISREG(st.st_mode);
	FILE *f = fopencookie(c, "r", (cookie_io_functions_t){ .read = capture_read });
	if (!f)
		diesys(1, "%s: fopencookie", path);
	/* Fewer, larger reads from a file; from a pipe a read returns what is there anyway. */
	setvbuf(f, NULL, _IOFBF, 64 * 1024);
	char err[PCAP_ERRBUF_SIZE];
	c->pc = pcap_fopen_offline(f, err);
	if (!c->pc && sig_term) {
		fclose(f);
		return c;
	}
	if (!c->pc)
		die(1, "%s: not a pcap or pcapng capture (%s)", path, err);
	c->dlt = pcap_datalink(c->pc);
	switch (c->dlt) {
	case DLT_EN10MB: case DLT_LINUX_SLL: case DLT_LINUX_SLL2: case DLT_RAW: case DLT_IPV4:
	case DLT_IPV6: case DLT_NULL: case DLT_LOOP:
		return c;
	default:
		die(1, "%s: link type %s not supported", path, pcap_datalink_val_to_name(c->dlt));
	}
}

static void packet_malformed(struct capture *c, const char *why)
{
	c->malformed++;
	if (ratelimit_allow(&c->rl, 10, "malformed-packet diagnostics"))
		warnx("%s: packet %llu: %s", c->name, c->packets, why);
}

static int port_wanted(const struct capture *c, unsigned port)
{
	if (!c->nports)
		return 1;
	for (size_t i = 0; i < c->nports; i++)
		if (c->ports[i] == port)
			return 1;
	return 0;
}

/* 1 when the packet is a datagram to return (in *d). */
static int take_packet(struct capture *c, const struct pcap_pkthdr *h, const unsigned char *p,
		       struct capture_dgram *d)
{
	c->packets++;
	struct udp_view u = { .d = d };
	switch (parse_frame(c->dlt, p, h->caplen, &u)) {
	case PKT_UDP: break;
	case PKT_OTHER: c->other++; return 0;
	case PKT_FRAGMENT: c->fragments++; return 0;
	case PKT_TRUNCATED: c->truncated++; return 0;
	case PKT_MALFORMED: packet_malformed(c, u.why); return 0;
	}
	if (!port_wanted(c, d->dport)) {
		c->filtered++;
		return 0;
	}
	/* A time no framed line can hold (a broken record): skipped rather than written wrong. */
	if (h->ts.tv_sec < 0 || h->ts.tv_sec > TIME_MAX || h->ts.tv_usec < 0 || h->ts.tv_usec > 999999) {
		snprintf(u.why, sizeof u.why, "time out of range (%lld s %lld us)",
			 (long long)h->ts.tv_sec, (long long)h->ts.tv_usec);
		packet_malformed(c, u.why);
		return 0;
	}
	c->written++;
	d->time = (struct timespec){ h->ts.tv_sec, (long)h->ts.tv_usec * 1000 };
	return 1;
}

int capture_next(struct capture *c, struct capture_dgram *d)
{
	if (!c->pc)
		return 0;
	struct pcap_pkthdr *h;
	const unsigned char *p;
	int r;
	while (!sig_term && (r = pcap_next_ex(c->pc, &h, &p)) == 1) {
		check_usr1(c);
		if (take_packet(c, h, p, d))
			return 1;
	}
	if (!sig_term && r == PCAP_ERROR)
		die(1, "%s: %s", c->name, pcap_geterr(c->pc));
	return 0;
}

void capture_close(struct capture *c)
{
	if (c->pc)
		pcap_close(c->pc);
	if (!c->stdin_)
		close(c->fd);
	free(c);
}
