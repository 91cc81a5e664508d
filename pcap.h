/* pcap: the UDP datagrams of a pcap or pcapng capture, read through libpcap, one at a time with
 * their captured time, source and destination port (udpcat -P).
 *
 * Promises: only whole UDP datagrams come out, over IPv4 or IPv6 behind an Ethernet (VLAN
 * tags too), Linux cooked (SLL, SLL2), raw IP or BSD loopback header, with a time a framed
 * line can hold (1970 to 9999). Everything else is skipped and counted: not UDP, IP fragments,
 * packets cut short; malformed packets (impossible header fields or time) are also reported on
 * stderr, ten a second at most, as "FILE: packet N: why". A capture read from anything but a
 * regular file (a pipe: tcpdump -w -) calls the caller's before_read before every read, so
 * output is written batch by batch and never waits for the next packet. Reads interrupted by
 * a signal are retried: SIGUSR1 prints the summary at once, SIGHUP is ignored, and SIGTERM
 * (sig.h) ends the capture as if at its end. A file that cannot be opened or is no capture, an
 * unsupported link type, and a read error end the process (exit 1) with the reason. */
#ifndef PCAP_H
#define PCAP_H
#include <stddef.h>
#include <time.h>

struct capture;

/* A datagram, valid until the next capture_next. */
struct capture_dgram {
	struct timespec time;		/* captured, within 1970..9999 */
	unsigned char src[16];		/* IPv6, or IPv4 as ::ffff:a.b.c.d */
	unsigned sport, dport;
	const unsigned char *payload;
	size_t len;
};

/* Opens PATH ("-": stdin), keeping only datagrams to one of the `nports` ports (all when 0;
 * the array must outlive the capture). When SIGTERM comes before the capture's header,
 * capture_next ends at once. */
struct capture *capture_open(const char *path, const unsigned short *ports, size_t nports,
			     void (*before_read)(void *ctx), void *ctx);
/* 1 with *d filled, 0 at the end of the capture or on SIGTERM. */
int capture_next(struct capture *c, struct capture_dgram *d);
/* The counters on stderr: "N packets, N datagrams written, N not UDP, N fragments, N truncated,
 * N filtered out[, N malformed]" (every datagram returned counts as written). */
void capture_summary(struct capture *c);
/* Closes the capture (and the file, not stdin). */
void capture_close(struct capture *c);

#endif
