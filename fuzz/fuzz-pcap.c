/* pcap.c: the capture reader on any packets, behind any of the link types it reads. The input's
 * first byte picks the link type, then each packet is a 2-byte length, a 1-byte time selector
 * and its bytes, written as a pcap file: only whole datagrams within the packet come out, with
 * a time a framed line can hold, and nothing crashes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../buf.h"
#include "../pcap.h"

static void put32(struct buf *b, uint32_t v) { buf_add(b, &v, 4); }
static void put16(struct buf *b, uint16_t v) { buf_add(b, &v, 2); }

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	/* LINKTYPE_ values: EN10MB, LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL, LOOP */
	static const uint32_t links[] = { 1, 113, 276, 101, 228, 229, 0, 108 };
	static const int32_t secs[] = { 0, 1795168800, -1, 2147483647 };
	static const int32_t usecs[] = { 0, 999999, 1000000, -5 };
	static struct buf file;
	if (n < 1)
		return 0;
	buf_reset(&file);
	put32(&file, 0xa1b2c3d4);
	put16(&file, 2);
	put16(&file, 4);
	put32(&file, 0);
	put32(&file, 0);
	put32(&file, 262144);
	put32(&file, links[data[0] % 8]);
	size_t at = 1;
	while (at + 3 <= n) {
		size_t len = (size_t)data[at] | (size_t)data[at + 1] << 8;
		unsigned t = data[at + 2];
		at += 3;
		if (len > n - at)
			len = n - at;
		put32(&file, (uint32_t)secs[t % 4]);
		put32(&file, (uint32_t)usecs[t / 4 % 4]);
		put32(&file, (uint32_t)len);
		put32(&file, (uint32_t)len + (t & 16 ? 100 : 0));	/* original length */
		buf_add(&file, data + at, len);
		at += len;
	}
	int fd = memfd_create("capture", MFD_CLOEXEC);
	if (fd < 0 || write(fd, file.p, file.n) != (ssize_t)file.n || lseek(fd, 0, SEEK_SET) < 0)
		abort();
	char path[40];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct capture *c = capture_open(path, NULL, 0, NULL, NULL);
	struct capture_dgram d;
	while (capture_next(c, &d)) {
		const unsigned char *p = d.payload;
		if (d.len > 65535 - 8)	/* a UDP length field holds no more */
			abort();
		if (d.time.tv_sec < 0 || d.time.tv_sec > 253402300799LL || d.time.tv_nsec < 0 ||
		    d.time.tv_nsec > 999999999)
			abort();
		volatile unsigned char sum = 0;
		for (size_t i = 0; i < d.len; i++)
			sum ^= p[i];
		(void)sum;
	}
	capture_close(c);
	close(fd);
	return 0;
}
