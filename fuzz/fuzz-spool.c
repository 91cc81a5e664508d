/* spool.c recovery: whatever bytes a segment and its acknowledgement log hold (a spool is read
 * back from disk, where anything can happen to it), verification never reads out of bounds,
 * reports only intact records (each one a whole record that checks), accounts for every byte
 * as a record, a damaged stretch or a torn end, and a spool opened on them hands back only
 * records that check, never one acknowledged. Input: 2 bytes of ack-log length, the ack log,
 * then the segment. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../diag.h"
#include "../spool.h"

static const char *base;
static size_t covered, last_end;
static unsigned long long nrec;

static void on_rec(void *ctx, off_t off, const char *line, size_t n, uint64_t seq)
{
	(void)ctx, (void)seq;
	if ((size_t)off != last_end || line != base + off + SPOOL_REC_HDR || line[n] != '\n')
		abort();
	/* the record there checks */
	const char *l;
	size_t len, need;
	uint64_t s;
	if (spool_rec_get(base + off, SPOOL_REC_HDR + n + 1, &l, &len, &s, &need) !=
	    (long)(SPOOL_REC_HDR + n + 1) || s != seq)
		abort();
	last_end = (size_t)off + SPOOL_REC_HDR + n + 1;
	covered += SPOOL_REC_HDR + n + 1;
	nrec++;
}

static void on_bad(void *ctx, off_t off, size_t n, unsigned long long records)
{
	(void)ctx;
	if ((size_t)off != last_end || !n || !records)
		abort();
	last_end = (size_t)off + n;
	covered += n;
}

static void damaged(void *ctx, const char *file, off_t off, const char *p, size_t n,
		    unsigned long long records)
{
	(void)ctx, (void)file, (void)off, (void)records;
	volatile char sink = 0;
	for (size_t i = 0; i < n; i++)	/* in bounds (ASan) */
		sink ^= p[i];
	(void)sink;
}

static char dir[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	diag_init("fuzz-spool");
	snprintf(dir, sizeof dir, "/tmp/fuzz-spool.%d", (int)getpid());
	return 0;
}

static void put(const char *name, const unsigned char *p, size_t n)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n || close(fd) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t alen = (size_t)data[0] | (size_t)data[1] << 8;
	if (alen > size - 2)
		alen = size - 2;
	const unsigned char *ack = data + 2, *seg = ack + alen;
	size_t n = size - 2 - alen;

	/* the scan on its own */
	base = (const char *)seg;
	uint64_t first = spool_seg_first(base, n);
	covered = nrec = 0;
	last_end = first ? SPOOL_SEG_HDR : 0;
	struct spool_scan cb = { .rec = on_rec, .bad = on_bad };
	size_t end = spool_scan(base, n, first, &cb);
	if (end != last_end || end > n || (first ? SPOOL_SEG_HDR : 0) + covered != end)
		abort();

	/* a spool opened on it: only intact, unacknowledged records come back, in order */
	if (mkdir(dir, 0700) < 0)
		abort();
	put("0000000000000001.sp", seg, n);
	put("0000000000000001.spa", ack, alen);
	struct spool_conf conf = { .dir = dir, .max = 1 << 20, .damaged = damaged };
	struct spool *sp = spool_open(&conf);
	const char *line;
	size_t len;
	struct spool_ref ref;
	unsigned long long back = 0;
	while (spool_next(sp, &line, &len, &ref)) {
		if (line[len] != '\n' || ++back > nrec)
			abort();
		spool_ack(sp, ref);
	}
	if (spool_pending(sp))	/* every record counted at start was handed back */
		abort();
	spool_close(sp);
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			unlinkat(dirfd(d), de->d_name, 0);
	if (d)
		closedir(d);
	if (rmdir(dir) < 0)
		abort();
	return 0;
}
