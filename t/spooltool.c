/* spooltool: looks into a spool (spool.h) for the tests, with spool.c's own parser.
 *   spooltool records DIR...   intact records in the segments (acknowledged or not)
 *   spooltool dump FILE        one line per record: "rec OFFSET SIZE SEQ", "bad OFFSET SIZE
 *                              RECORDS", "torn OFFSET SIZE"
 *   spooltool ack FILE SEQ...  appends acknowledgements of these records to FILE (NNNN.spa) */
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../buf.h"
#include "../diag.h"
#include "../spool.h"

static int slurp(const char *path, struct buf *b)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	buf_reset(b);
	for (;;) {
		buf_reserve(b, 65536);
		ssize_t r = read(fd, b->p + b->n, b->cap - b->n);
		if (r <= 0) {
			close(fd);
			return (int)r;
		}
		b->n += (size_t)r;
	}
}

static unsigned long long count;
static const char *base;

static void rec_count(void *ctx, off_t off, const char *line, size_t n, uint64_t seq)
{
	(void)ctx, (void)off, (void)line, (void)n, (void)seq;
	count++;
}

static void rec_dump(void *ctx, off_t off, const char *line, size_t n, uint64_t seq)
{
	(void)ctx;
	printf("rec %jd %zu %" PRIu64 "\n", (intmax_t)off, SPOOL_REC_HDR + n + 1, seq);
	(void)line;
}

static void bad_dump(void *ctx, off_t off, size_t n, unsigned long long records)
{
	(void)ctx;
	printf("bad %jd %zu %llu\n", (intmax_t)off, n, records);
}

int main(int argc, char **argv)
{
	diag_init("spooltool");
	struct buf b = { 0 };
	if (argc >= 2 && !strcmp(argv[1], "records")) {
		struct spool_scan cb = { .rec = rec_count };
		for (int i = 2; i < argc; i++) {
			char pat[4096];
			glob_t g;
			snprintf(pat, sizeof pat, "%s/*.sp", argv[i]);
			if (glob(pat, 0, NULL, &g))
				continue;
			for (size_t j = 0; j < g.gl_pathc; j++) {
				if (slurp(g.gl_pathv[j], &b) < 0)
					diesys(1, "%s", g.gl_pathv[j]);
				spool_scan(b.p, b.n, spool_seg_first(b.p, b.n), &cb);
			}
			globfree(&g);
		}
		printf("%llu\n", count);
		buf_free(&b);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "dump")) {
		base = argv[2];
		if (slurp(argv[2], &b) < 0)
			diesys(1, "%s", argv[2]);
		struct spool_scan cb = { .rec = rec_dump, .bad = bad_dump };
		size_t end = spool_scan(b.p, b.n, spool_seg_first(b.p, b.n), &cb);
		if (end < b.n)
			printf("torn %zu %zu\n", end, b.n - end);
		buf_free(&b);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "ack")) {
		FILE *f = fopen(argv[2], "ab");
		if (!f)
			diesys(1, "%s", argv[2]);
		for (int i = 3; i < argc; i++) {
			uint64_t seq = strtoull(argv[i], NULL, 10);
			unsigned char e[SPOOL_ACK_LEN];
			for (int k = 0; k < 8; k++)
				e[k] = (unsigned char)(seq >> (8 * k));
			uint32_t crc = spool_crc32c(0, e, 8);
			for (int k = 0; k < 4; k++)
				e[8 + k] = (unsigned char)(crc >> (8 * k));
			fwrite(e, 1, sizeof e, f);
		}
		return fclose(f) ? 1 : 0;
	}
	fprintf(stderr, "usage: spooltool records DIR... | dump FILE | ack FILE SEQ...\n");
	return 2;
}
