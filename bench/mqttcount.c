/* mqttcount: the benchmark's counting subscriber. Subscribes to one topic on a broker at
 * 127.0.0.1 (MQTT 3.1.1) and counts the PUBLISH packets that arrive, writing the count to a
 * file every 0.2 s and when it stops (SIGTERM, SIGINT or the broker closing the connection).
 *
 * Why not mosquitto_sub: at 150,000 messages/s mosquitto_sub (libmosquitto 2.0 reads every
 * packet with three or more read calls, then formats it) and a reader of its output took more
 * than half a core on the 2-core machines the benchmark runs on, taken from the systems under
 * test. This reads in large blocks and only walks the packet headers; at QoS 1 it answers each
 * PUBLISH with a PUBACK, all of one read in one write. After each read it sleeps a millisecond,
 * so messages gather in the socket: woken for each one, it made the broker pay a wake-up per
 * message (the broker's CPU per message went up by half).
 *
 * Usage: mqttcount PORT TOPIC QOS COUNT_FILE */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (1 << 20)

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "mqttcount: %s: %s\n", what, errno ? strerror(errno) : "protocol error");
	exit(1);
}

static double now(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		die("clock_gettime");
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			die("write to the broker");
		p += w;
		n -= (size_t)w;
	}
}

/* Writes the count to path through a temporary file, so a reader never sees half of it. */
static void save_count(const char *path, unsigned long long count)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		die("count file name too long");
	FILE *f = fopen(tmp, "w");
	if (!f || fprintf(f, "%llu\n", count) < 0 || fclose(f) != 0)
		die(tmp);
	if (rename(tmp, path) < 0)
		die("rename of the count file");
}

/* Appends an MQTT remaining length. */
static size_t put_length(unsigned char *p, size_t n)
{
	size_t i = 0;
	do {
		p[i] = n & 0x7f;
		n >>= 7;
		if (n)
			p[i] |= 0x80;
		i++;
	} while (n);
	return i;
}

static size_t put_string(unsigned char *p, const char *s)
{
	size_t n = strlen(s);
	p[0] = (unsigned char)(n >> 8);
	p[1] = (unsigned char)n;
	memcpy(p + 2, s, n);
	return n + 2;
}

static void send_connect_subscribe(int fd, const char *topic, int qos)
{
	unsigned char body[600], pkt[1300];
	char client[64];
	size_t n = 0, b;
	if (strlen(topic) > 256)
		die("topic too long");
	snprintf(client, sizeof client, "qspipe-bench-count-%ld", (long)getpid());
	/* CONNECT: protocol "MQTT" level 4, clean session, no keepalive */
	b = put_string(body, "MQTT");
	body[b++] = 4;
	body[b++] = 0x02;
	body[b++] = 0;
	body[b++] = 0;
	b += put_string(body + b, client);
	pkt[n++] = 0x10;
	n += put_length(pkt + n, b);
	memcpy(pkt + n, body, b);
	n += b;
	/* SUBSCRIBE, packet id 1 */
	b = 0;
	body[b++] = 0;
	body[b++] = 1;
	b += put_string(body + b, topic);
	body[b++] = (unsigned char)qos;
	pkt[n++] = 0x82;
	n += put_length(pkt + n, b);
	memcpy(pkt + n, body, b);
	n += b;
	write_all(fd, pkt, n);
}

/* Walks the complete packets at p; returns the bytes used. Counts PUBLISHes, queues a
 * PUBACK for each QoS 1 one in acks. */
static size_t walk(const unsigned char *p, size_t n, unsigned long long *count,
		   unsigned char *acks, size_t *nacks)
{
	size_t used = 0;
	while (n - used >= 2) {
		const unsigned char *q = p + used;
		size_t len = 0, i = 1;
		unsigned shift = 0;
		for (;;) {
			if (i >= n - used)
				return used;	/* the length is not all here yet */
			if (i > 4) {
				errno = 0;
				die("malformed remaining length");
			}
			len |= (size_t)(q[i] & 0x7f) << shift;
			shift += 7;
			if (!(q[i++] & 0x80))
				break;
		}
		if (len > n - used - i)
			return used;	/* the rest of the packet is not here yet */
		const unsigned char *body = q + i;
		errno = 0;
		switch (q[0] >> 4) {
		case 2:	/* CONNACK */
			if (len < 2 || body[1] != 0)
				die("connection refused by the broker");
			break;
		case 3:	/* PUBLISH */
			(*count)++;
			if ((q[0] >> 1 & 3) == 1) {
				size_t topic = len >= 2 ? (size_t)(body[0] << 8 | body[1]) : len;
				if (len < topic + 4)
					die("short PUBLISH");
				unsigned char *a = acks + 4 * (*nacks)++;
				a[0] = 0x40;
				a[1] = 2;
				a[2] = body[topic + 2];
				a[3] = body[topic + 3];
			}
			break;
		case 9:	/* SUBACK */
			if (len < 3 || body[2] == 0x80)
				die("subscription refused by the broker");
			break;
		}
		used += i + len;
	}
	return used;
}

int main(int argc, char **argv)
{
	if (argc != 5 || (strcmp(argv[3], "0") && strcmp(argv[3], "1"))) {
		fprintf(stderr, "usage: mqttcount PORT TOPIC QOS(0|1) COUNT_FILE\n");
		return 2;
	}
	const char *path = argv[4];
	struct sigaction sa = { .sa_handler = on_signal };
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
		die("sigaction");
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
		die("connect to the broker");
	send_connect_subscribe(fd, argv[2], atoi(argv[3]));

	unsigned char *buf = malloc(BUF_SIZE), *acks = malloc(4 * (BUF_SIZE / 2));
	if (!buf || !acks)
		die("malloc");
	unsigned long long count = 0;
	size_t have = 0;
	double saved = 0;
	save_count(path, 0);
	while (!stop) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r = poll(&pfd, 1, 200);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("poll");
		if (r > 0) {
			ssize_t got = read(fd, buf + have, BUF_SIZE - have);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				die("read from the broker");
			if (got == 0)
				break;
			have += (size_t)got;
			size_t nacks = 0, used = walk(buf, have, &count, acks, &nacks);
			if (nacks)
				write_all(fd, acks, 4 * nacks);
			if (used == 0 && have == BUF_SIZE) {
				errno = 0;
				die("a packet larger than the buffer");
			}
			memmove(buf, buf + used, have - used);
			have -= used;
			struct timespec gather = { 0, 1000000 };
			if (nanosleep(&gather, NULL) < 0 && errno != EINTR)
				die("nanosleep");
		}
		double t = now();
		if (t - saved >= 0.2) {
			save_count(path, count);
			saved = t;
		}
	}
	save_count(path, count);
	return 0;
}
