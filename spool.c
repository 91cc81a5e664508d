/* spool: records, checksums, acknowledgements and recovery of a sink's spool; see spool.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "buf.h"
#include "diag.h"
#include "spool.h"

#define SEG_BYTES (4 << 20)		/* a segment is closed for writing at this size */
#define DEFAULT_MAX (1ULL << 30)	/* the automatic spool_max at most */
#define RESERVE_MAX (64ULL << 20)	/* free space the automatic spool_max leaves at most */
#define READ_MAX (64 * 1024)		/* one read of input at most */
#define STATVFS_EVERY (256 * 1024)	/* bytes written between looks at the free space */
#define RETRY_SECONDS 1.0		/* after a failed write, the spool is tried again */

enum full { ROOM, FULL_MAX, FULL_WRITE };

struct spool_seg {
	struct spool_seg *next;
	uint64_t num;			/* names NUM.sp (records) and NUM.spa (acknowledgements) */
	int fd, ack_fd;
	off_t bytes;			/* written */
	uint64_t unacked;		/* records not acknowledged */
	uint64_t last_seq;		/* of its last record (0: none) */
	int fresh;			/* written by this run: damage found reading it is news */
	int torn;			/* ends in a record cut short */
	struct buf acks;		/* entries not written to NUM.spa yet */
	off_t load_off;			/* next record to hand back */
	uint64_t *acked;		/* sequence numbers acknowledged, from NUM.spa at start */
	size_t nacked;
};

struct spool {
	struct spool_conf conf;
	int dirfd, lockfd;
	unsigned long long max;		/* now: conf.max, or the automatic one */
	unsigned long long bytes;	/* of every segment */
	unsigned long long pending;
	unsigned long long since_statvfs;
	uint64_t next_seq;
	struct spool_seg *head, *tail;	/* oldest first; tail takes new records */
	struct spool_seg *load;		/* first segment with records not handed back, or NULL */
	struct buf wbuf;		/* the batch for tail */
	uint64_t batch_seq;		/* the batch's first record */
	size_t batch_recs;
	int batch_hdr;			/* the batch starts with the segment header */
	struct buf rbuf;		/* bytes of segment rseg from roff, read back */
	uint64_t rseg;
	off_t roff;
	enum full full;
	int full_errno;			/* last reported write failure */
	double retry_at;
	double now;
};

/* ---- CRC-32C (Castagnoli), table-driven, or with SSE4.2 where the CPU has it ---- */

static uint32_t crc_table[8][256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

static uint32_t crc_soft(uint32_t crc, const unsigned char *p, size_t n)
{
	if (!crc_table[0][1])
		crc_init();
	while (n >= 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
				     (uint32_t)p[3] << 24);
		crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		      crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		      crc_table[3][p[4]] ^ crc_table[2][p[5]] ^ crc_table[1][p[6]] ^ crc_table[0][p[7]];
		p += 8, n -= 8;
	}
	while (n--)
		crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2")))
static uint32_t crc_sse42(uint32_t crc, const unsigned char *p, size_t n)
{
	uint64_t c = crc;
	for (; n >= 8; p += 8, n -= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	uint32_t c32 = (uint32_t)c;
	while (n--)
		c32 = __builtin_ia32_crc32qi(c32, *p++);
	return c32;
}

uint32_t spool_crc32c(uint32_t crc, const void *p, size_t n)
{
	static int hw = -1;
	if (hw < 0)
		hw = __builtin_cpu_supports("sse4.2");
	crc = ~crc;
	crc = hw ? crc_sse42(crc, p, n) : crc_soft(crc, p, n);
	return ~crc;
}
#else
uint32_t spool_crc32c(uint32_t crc, const void *p, size_t n)
{
	return ~crc_soft(~crc, p, n);
}
#endif

/* ---- records ---- */

static void put32(char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (char)(v >> (8 * i));
}

static void put64(char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (char)(v >> (8 * i));
}

static uint32_t get32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

static uint64_t get64(const char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

size_t spool_rec_put(char *out, const char *line, size_t n, uint64_t seq)
{
	memcpy(out, SPOOL_REC_MAGIC, 4);
	put32(out + 4, (uint32_t)(n + 1));
	put64(out + 8, seq);
	memcpy(out + SPOOL_REC_HDR, line, n);
	out[SPOOL_REC_HDR + n] = '\n';
	uint32_t crc = spool_crc32c(0, out + 4, 12);
	put32(out + 16, spool_crc32c(crc, out + SPOOL_REC_HDR, n + 1));
	return SPOOL_REC_HDR + n + 1;
}

long spool_rec_get(const char *p, size_t avail, const char **line, size_t *n, uint64_t *seq,
		   size_t *need)
{
	*need = SPOOL_REC_HDR;
	if (memcmp(p, SPOOL_REC_MAGIC, avail < 4 ? avail : 4))
		return -1;
	if (avail < SPOOL_REC_HDR)
		return 0;
	uint32_t len = get32(p + 4);
	if (len < 1 || len > SPOOL_LINE_MAX)
		return -1;
	*need = SPOOL_REC_HDR + len;
	if (avail < *need)
		return 0;
	uint32_t crc = spool_crc32c(0, p + 4, 12);
	if (spool_crc32c(crc, p + SPOOL_REC_HDR, len) != get32(p + 16) ||
	    p[SPOOL_REC_HDR + len - 1] != '\n')
		return -1;
	*line = p + SPOOL_REC_HDR;
	*n = len;
	*seq = get64(p + 8);
	return (long)(SPOOL_REC_HDR + len);
}

static void seg_hdr_put(char *out, uint64_t first)
{
	memcpy(out, SPOOL_SEG_MAGIC, 8);
	put64(out + 8, first);
	put32(out + 16, spool_crc32c(0, out + 8, 8));
}

uint64_t spool_seg_first(const char *p, size_t n)
{
	if (n < SPOOL_SEG_HDR || memcmp(p, SPOOL_SEG_MAGIC, 8) ||
	    spool_crc32c(0, p + 8, 8) != get32(p + 16))
		return 0;
	return get64(p + 8);
}

/* The next offset from `from` where an intact record starts, or n. */
static size_t resync(const char *p, size_t n, size_t from)
{
	for (size_t o = from; o < n; o++) {
		const char *q = memchr(p + o, 0, n - o);
		if (!q)
			return n;
		o = (size_t)(q - p);
		const char *line;
		size_t len, need;
		uint64_t seq;
		if (spool_rec_get(q, n - o, &line, &len, &seq, &need) > 0)
			return o;
	}
	return n;
}

/* Records that start in a damaged stretch, as far as their magics tell (at least 1). */
static unsigned long long magics(const char *p, size_t n)
{
	unsigned long long k = 0;
	for (const char *q = p, *end = p + n; (q = memmem(q, (size_t)(end - q), SPOOL_REC_MAGIC, 4)); q++)
		k++;
	return k ? k : 1;
}

/* The first sequence number at or after `from` (for counting what a damaged stretch held),
 * or 0. */
static uint64_t seq_at(const char *p, size_t n, size_t off)
{
	const char *line;
	size_t len, need;
	uint64_t seq;
	return off < n && spool_rec_get(p + off, n - off, &line, &len, &seq, &need) > 0 ? seq : 0;
}

size_t spool_scan(const char *p, size_t n, uint64_t first_seq, const struct spool_scan *cb)
{
	size_t off = first_seq ? SPOOL_SEG_HDR : 0;
	uint64_t expect = first_seq;	/* the next record's sequence number, 0: unknown */
	while (off < n) {
		const char *line;
		size_t len, need;
		uint64_t seq;
		long r = spool_rec_get(p + off, n - off, &line, &len, &seq, &need);
		if (r > 0) {
			if (cb->rec)
				cb->rec(cb->ctx, (off_t)off, line, len - 1, seq);
			expect = seq + 1;
			off += (size_t)r;
			continue;
		}
		size_t next = resync(p, n, off + 1);
		if (r == 0 && next == n)
			return off;	/* a torn last record */
		uint64_t after = seq_at(p, n, next);
		unsigned long long records = expect && after > expect ? after - expect
							  : magics(p + off, next - off);
		if (cb->bad)
			cb->bad(cb->ctx, (off_t)off, next - off, records);
		off = next;
		if (after)
			expect = after;
	}
	return n;
}

/* ---- segments ---- */

static void seg_name(char *out, size_t n, uint64_t num, const char *ext)
{
	snprintf(out, n, "%016" PRIx64 ".%s", num, ext);
}

static struct spool_seg *seg_new(uint64_t num)
{
	struct spool_seg *g = calloc(1, sizeof *g);
	if (!g)
		die(1, "out of memory");
	g->num = num;
	g->fd = g->ack_fd = -1;
	return g;
}

static void seg_free(struct spool_seg *g)
{
	if (g->fd >= 0)
		close(g->fd);
	if (g->ack_fd >= 0)
		close(g->ack_fd);
	buf_free(&g->acks);
	free(g->acked);
	free(g);
}

static void seg_append(struct spool *sp, struct spool_seg *g)
{
	if (sp->tail)
		sp->tail->next = g;
	else
		sp->head = g;
	sp->tail = g;
}

/* Reads a whole file into b; -1 with errno. */
static int read_all(int fd, struct buf *b)
{
	buf_reset(b);
	for (;;) {
		buf_reserve(b, 65536);
		ssize_t r = read(fd, b->p + b->n, b->cap - b->n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		b->n += (size_t)r;
	}
}

/* A new segment for new records (its header goes out with its first batch): a restart never
 * appends to a file a crash may have cut. -1 when it cannot be made (the old tail goes on). */
static int spool_new_tail(struct spool *sp)
{
	struct spool_seg *g = seg_new(sp->tail ? sp->tail->num + 1 : 1);
	char name[40];
	seg_name(name, sizeof name, g->num, "sp");
	g->fd = openat(sp->dirfd, name, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (g->fd < 0) {
		warnsys("spool %s/%s", sp->conf.dir, name);
		seg_free(g);
		return -1;
	}
	if (sp->conf.sync && fsync(sp->dirfd) < 0)
		warnsys("spool %s: fsync", sp->conf.dir);
	g->fresh = 1;
	g->load_off = SPOOL_SEG_HDR;
	g->last_seq = sp->next_seq - 1;
	seg_append(sp, g);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int seg_acked(const struct spool_seg *g, uint64_t seq)
{
	return g->nacked && bsearch(&seq, g->acked, g->nacked, sizeof seq, cmp_u64);
}

/* Reads NUM.spa into g->acked (sorted). A damaged entry is skipped (its event is delivered
 * again, never taken as another's acknowledgement); a cut last entry is a crash's. */
static void seg_read_acks(struct spool *sp, struct spool_seg *g, struct buf *b)
{
	char name[40];
	seg_name(name, sizeof name, g->num, "spa");
	int fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			diesys(1, "spool %s/%s", sp->conf.dir, name);
		return;
	}
	if (read_all(fd, b) < 0)
		diesys(1, "spool %s/%s", sp->conf.dir, name);
	close(fd);
	g->acked = malloc((b->n / SPOOL_ACK_LEN + 1) * sizeof *g->acked);
	if (!g->acked)
		die(1, "out of memory");
	size_t off = 0, bad = 0, bad_at = 0;
	while (off + SPOOL_ACK_LEN <= b->n) {
		if (spool_crc32c(0, b->p + off, 8) == get32(b->p + off + 8)) {
			g->acked[g->nacked++] = get64(b->p + off);
			off += SPOOL_ACK_LEN;
			continue;
		}
		if (!bad++)
			bad_at = off;
		off++;
	}
	if (bad)
		warnx("spool %s/%s: offset %zu: %zu bytes of acknowledgements damaged: skipped (those "
		      "events may be delivered again)", sp->conf.dir, name, bad_at, bad);
	if (g->nacked)
		qsort(g->acked, g->nacked, sizeof *g->acked, cmp_u64);
}

/* ---- recovery ---- */

struct scan_ctx {
	struct spool *sp;
	struct spool_seg *g;
	const char *p;
	char name[40];
	unsigned long long damaged;
};

static void scan_rec(void *ctx, off_t off, const char *line, size_t n, uint64_t seq)
{
	struct scan_ctx *c = ctx;
	(void)off, (void)line, (void)n;
	if (!seg_acked(c->g, seq))
		c->g->unacked++;
	c->g->last_seq = seq;
}

static void scan_bad(void *ctx, off_t off, size_t n, unsigned long long records)
{
	struct scan_ctx *c = ctx;
	char count[40];
	snprintf(count, sizeof count, "%llu record%s", records, records == 1 ? "" : "s");
	warnx("spool %s/%s: offset %jd: %zu bytes damaged (%s): skipped, not delivered",
	      c->sp->conf.dir, c->name, (intmax_t)off, n, count);
	c->damaged += records;
	c->sp->conf.damaged(c->sp->conf.ctx, c->name, off, c->p + off, n, records);
}

/* Verifies segment g found at start (its bytes in b): counts what waits, reports damage. */
static void seg_recover(struct spool *sp, struct spool_seg *g, struct buf *b,
			unsigned long long *damaged)
{
	struct scan_ctx c = { .sp = sp, .g = g, .p = b->p };
	seg_name(c.name, sizeof c.name, g->num, "sp");
	uint64_t first = spool_seg_first(b->p, b->n);
	if (first)
		g->last_seq = first - 1;
	struct spool_scan cb = { .rec = scan_rec, .bad = scan_bad, .ctx = &c };
	size_t end = spool_scan(b->p, b->n, first, &cb);
	if (end < b->n) {
		warnx("spool %s/%s: offset %zu: last record cut short (a crash while writing it): "
		      "dropped, %zu bytes", sp->conf.dir, c.name, end, b->n - end);
		sp->conf.damaged(sp->conf.ctx, c.name, (off_t)end, b->p + end, b->n - end, 1);
		/* counted as damage only if a segment follows (below): at the end of the newest
		 * it is the normal trace of a crash, its event still in a held input pipe */
		g->torn = 1;
	}
	*damaged += c.damaged;
	g->bytes = (off_t)b->n;
	g->load_off = first ? SPOOL_SEG_HDR : 0;
	/* records cut off the end of the previous segment: the header says where this one
	 * started */
	struct spool_seg *prev = sp->tail;
	if (prev && first && prev->last_seq && first > prev->last_seq + 1) {
		char pname[40];
		uint64_t missing = first - prev->last_seq - 1;
		seg_name(pname, sizeof pname, prev->num, "sp");
		warnx("spool %s/%s: offset %jd: %" PRIu64 " records missing at its end (cut short; "
		      "the next segment starts at record %" PRIu64 "): lost", sp->conf.dir, pname,
		      (intmax_t)prev->bytes, missing, first);
		*damaged += missing;	/* the torn record among them */
		missing -= (uint64_t)prev->torn;	/* in the dead-letter file already */
		if (missing)
			sp->conf.damaged(sp->conf.ctx, pname, prev->bytes, NULL, 0, missing);
	}
}

/* The previous format: NUM.ev (event lines) and NUM.ack (uint32 line numbers). Its events
 * not acknowledged become records; then its files go. */
static void migrate(struct spool *sp, uint64_t num, struct buf *b, struct buf *ab)
{
	char name[40], aname[40];
	seg_name(name, sizeof name, num, "ev");
	seg_name(aname, sizeof aname, num, "ack");
	int fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read_all(fd, b) < 0)
		diesys(1, "spool %s/%s", sp->conf.dir, name);
	close(fd);
	buf_reset(ab);
	fd = openat(sp->dirfd, aname, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && read_all(fd, ab) < 0)
		diesys(1, "spool %s/%s", sp->conf.dir, aname);
	if (fd >= 0)
		close(fd);
	size_t lines = 0;
	for (const char *p = b->p, *end = p + b->n, *lf; (lf = memchr(p, '\n', (size_t)(end - p))); p = lf + 1)
		lines++;
	unsigned char *acked = calloc(lines / 8 + 1, 1);
	if (!acked)
		die(1, "out of memory");
	for (size_t o = 0; o + 4 <= ab->n; o += 4) {
		uint32_t idx = get32(ab->p + o);
		if (idx < lines)
			acked[idx / 8] |= (unsigned char)(1u << (idx % 8));
	}
	size_t idx = 0, moved = 0;
	const char *p = b->p, *end = p + b->n, *lf;
	for (; (lf = memchr(p, '\n', (size_t)(end - p))); p = lf + 1, idx++) {
		if (acked[idx / 8] & (1u << (idx % 8)))
			continue;
		struct spool_ref ref;
		size_t n = (size_t)(lf - p);
		if (n >= SPOOL_LINE_MAX)
			continue;
		if (spool_add(sp, p, n, 0, &ref) < 0 || (sp->wbuf.n > (1 << 20) && spool_flush(sp) < 0))
			die(1, "spool %s: cannot migrate %s (spool full): make room and start again",
			    sp->conf.dir, name);
		moved++;
	}
	free(acked);
	if (spool_flush(sp) < 0)
		die(1, "spool %s: cannot migrate %s (spool full): make room and start again",
		    sp->conf.dir, name);
	if (sp->tail->fd >= 0 && fdatasync(sp->tail->fd) < 0)
		warnsys("spool %s: fdatasync", sp->conf.dir);
	if (p < end)
		warnx("spool %s/%s: last line cut short (a crash while writing it): dropped",
		      sp->conf.dir, name);
	warnx("spool %s/%s: %zu events of the previous spool format moved into records",
	      sp->conf.dir, name, moved);
	if (unlinkat(sp->dirfd, name, 0) < 0)
		warnsys("spool %s/%s: removing", sp->conf.dir, name);
	if (unlinkat(sp->dirfd, aname, 0) < 0 && errno != ENOENT)
		warnsys("spool %s/%s: removing", sp->conf.dir, aname);
}

/* The segment numbers of one extension in the directory, sorted. Acknowledgement logs
 * whose segment is gone (a crash between the two unlinks) are removed. */
static size_t spool_list(struct spool *sp, const char *ext, const char *ack_ext, uint64_t **nums)
{
	DIR *d = fdopendir(dup(sp->dirfd));
	if (!d)
		diesys(1, "spool %s", sp->conf.dir);
	rewinddir(d);	/* the dup shares the offset of an earlier listing */
	size_t n = 0, cap = 0;
	*nums = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		uint64_t num = strtoull(de->d_name, &end, 16);
		if (end != de->d_name + 16 || *end != '.')
			continue;
		if (!strcmp(end + 1, ack_ext)) {
			char name[40];
			seg_name(name, sizeof name, num, ext);
			if (faccessat(sp->dirfd, name, F_OK, 0) < 0 && errno == ENOENT)
				unlinkat(sp->dirfd, de->d_name, 0);
			continue;
		}
		if (strcmp(end + 1, ext))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			*nums = realloc(*nums, cap * sizeof **nums);
			if (!*nums)
				die(1, "out of memory");
		}
		(*nums)[n++] = num;
	}
	closedir(d);
	if (n)
		qsort(*nums, n, sizeof **nums, cmp_u64);
	return n;
}

/* The automatic spool_max: what the spool holds plus the free space above the reserve. */
static void update_max(struct spool *sp)
{
	sp->since_statvfs = 0;
	if (sp->conf.max)
		return;
	struct statvfs st;
	if (fstatvfs(sp->dirfd, &st) < 0) {
		warnsys("spool %s: statvfs", sp->conf.dir);
		return;
	}
	unsigned long long total = (unsigned long long)st.f_blocks * st.f_frsize;
	unsigned long long avail = (unsigned long long)st.f_bavail * st.f_frsize;
	unsigned long long reserve = total / 32 < RESERVE_MAX ? total / 32 : RESERVE_MAX;
	unsigned long long max = sp->bytes + sp->wbuf.n + (avail > reserve ? avail - reserve : 0);
	sp->max = max < DEFAULT_MAX ? max : DEFAULT_MAX;
}

struct spool *spool_open(const struct spool_conf *conf)
{
	struct spool *sp = calloc(1, sizeof *sp);
	if (!sp)
		die(1, "out of memory");
	sp->conf = *conf;
	sp->max = conf->max;
	sp->next_seq = 1;
	if (mkdir(conf->dir, 0700) < 0 && errno != EEXIST)
		diesys(1, "spool %s: mkdir", conf->dir);
	sp->dirfd = open(conf->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0)
		diesys(1, "spool %s", conf->dir);
	sp->lockfd = openat(sp->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (sp->lockfd < 0)
		diesys(1, "spool %s/lock", conf->dir);
	if (flock(sp->lockfd, LOCK_EX | LOCK_NB) < 0)
		die(1, "spool %s is in use by another process", conf->dir);
	uint64_t *nums;
	size_t n = spool_list(sp, "sp", "spa", &nums);
	struct buf b = { 0 }, ab = { 0 };
	unsigned long long damaged = 0;
	for (size_t i = 0; i < n; i++) {
		struct spool_seg *g = seg_new(nums[i]);
		char name[40];
		seg_name(name, sizeof name, g->num, "sp");
		g->fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
		if (g->fd < 0 || read_all(g->fd, &b) < 0)
			diesys(1, "spool %s/%s", conf->dir, name);
		seg_read_acks(sp, g, &ab);
		seg_recover(sp, g, &b, &damaged);
		sp->bytes += (unsigned long long)g->bytes;
		sp->pending += g->unacked;
		if (g->last_seq >= sp->next_seq)
			sp->next_seq = g->last_seq + 1;
		seg_append(sp, g);
		if (!g->unacked)
			g->load_off = g->bytes;	/* nothing to hand back: can go at once */
		else if (!sp->load)
			sp->load = g;
	}
	free(nums);
	if (damaged)
		warnx("spool %s: %llu damaged records skipped (in the dead-letter file when there "
		      "is one); %llu intact events to deliver", conf->dir, damaged, sp->pending);
	if (spool_new_tail(sp) < 0)
		die(1, "spool %s: cannot make a segment file", conf->dir);
	update_max(sp);
	n = spool_list(sp, "ev", "ack", &nums);
	for (size_t i = 0; i < n; i++)
		migrate(sp, nums[i], &b, &ab);
	free(nums);
	buf_free(&b);
	buf_free(&ab);
	spool_collect(sp);
	return sp;
}

/* ---- writing ---- */

int spool_add(struct spool *sp, const char *line, size_t n, int in_memory, struct spool_ref *ref)
{
	struct spool_seg *g = sp->tail;
	size_t need = SPOOL_REC_HDR + n + 1 + (g->bytes || sp->wbuf.n ? 0 : SPOOL_SEG_HDR);
	if (sp->full || sp->bytes + sp->wbuf.n + need > sp->max) {
		if (!sp->full)
			sp->full = FULL_MAX;
		return -1;
	}
	if (!sp->batch_recs)
		sp->batch_seq = sp->next_seq;
	buf_reserve(&sp->wbuf, need);
	if (!g->bytes && !sp->wbuf.n) {
		seg_hdr_put(sp->wbuf.p, sp->next_seq);
		sp->wbuf.n = SPOOL_SEG_HDR;
		sp->batch_hdr = 1;
	}
	*ref = (struct spool_ref){ g, sp->next_seq };
	sp->wbuf.n += spool_rec_put(sp->wbuf.p + sp->wbuf.n, line, n, sp->next_seq++);
	sp->batch_recs++;
	g->unacked++;
	sp->pending++;
	if (in_memory)
		g->load_off = g->bytes + (off_t)sp->wbuf.n;
	else if (!sp->load)
		sp->load = g;
	return 0;
}

/* Writes all of p; on failure, cuts the file back to `keep` bytes: no half record stays. */
static int write_batch(struct spool *sp, struct spool_seg *g, const char *p, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = write(g->fd, p + done, n - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = errno;
			if (done && ftruncate(g->fd, g->bytes) < 0) {
				warnsys("spool %s: cutting back a failed write", sp->conf.dir);
				g->bytes += (off_t)done;	/* a damaged record there: verified away */
				sp->bytes += done;
			}
			errno = err;
			return -1;
		}
		done += (size_t)r;
	}
	return 0;
}

int spool_flush(struct spool *sp)
{
	if (!sp->wbuf.n)
		return 0;
	struct spool_seg *g = sp->tail;
	if (write_batch(sp, g, sp->wbuf.p, sp->wbuf.n) < 0) {
		if (sp->full_errno != errno) {
			char name[40];
			seg_name(name, sizeof name, g->num, "sp");
			warnsys("spool %s/%s: writing", sp->conf.dir, name);
		}
		sp->full_errno = errno;
		sp->full = FULL_WRITE;
		sp->retry_at = now_mono() + RETRY_SECONDS;
		return -1;
	}
	sp->full_errno = 0;
	if (sp->conf.sync && fdatasync(g->fd) < 0)
		warnsys("spool %s: fdatasync", sp->conf.dir);
	g->bytes += (off_t)sp->wbuf.n;
	sp->bytes += sp->wbuf.n;	/* spool_collect takes a segment's bytes off again */
	sp->since_statvfs += sp->wbuf.n;
	g->last_seq = sp->next_seq - 1;
	buf_reset(&sp->wbuf);
	sp->batch_recs = 0;
	sp->batch_hdr = 0;
	if (sp->since_statvfs >= STATVFS_EVERY)
		update_max(sp);
	if (g->bytes >= SEG_BYTES && spool_new_tail(sp) == 0)
		spool_collect(sp);
	return 0;
}

void spool_unflushed(struct spool *sp, void (*fn)(void *ctx, const char *line, size_t n,
						  struct spool_ref ref), void *ctx)
{
	struct spool_seg *g = sp->tail;
	size_t off = sp->batch_hdr ? SPOOL_SEG_HDR : 0;
	while (off < sp->wbuf.n) {
		const char *line;
		size_t n, need;
		uint64_t seq;
		long r = spool_rec_get(sp->wbuf.p + off, sp->wbuf.n - off, &line, &n, &seq, &need);
		if (r <= 0)
			die(1, "spool %s: a record of the batch is malformed", sp->conf.dir);
		fn(ctx, line, n - 1, (struct spool_ref){ g, seq });
		off += (size_t)r;
	}
	g->unacked -= sp->batch_recs;
	sp->pending -= sp->batch_recs;
	sp->next_seq = sp->batch_seq;
	if (g->load_off > g->bytes)
		g->load_off = g->bytes ? g->bytes : SPOOL_SEG_HDR;
	buf_reset(&sp->wbuf);
	sp->batch_recs = 0;
	sp->batch_hdr = 0;
}

int spool_room(struct spool *sp, double now)
{
	if (sp->full == ROOM)
		return 1;
	if (now < sp->retry_at)
		return 0;
	sp->retry_at = now + RETRY_SECONDS;
	if (sp->full == FULL_WRITE) {
		sp->full = ROOM;	/* the next flush tells */
		return 1;
	}
	update_max(sp);
	if (sp->bytes + sp->wbuf.n + READ_MAX > sp->max)
		return 0;
	sp->full = ROOM;
	return 1;
}

size_t spool_read_max(struct spool *sp)
{
	unsigned long long used = sp->bytes + sp->wbuf.n;
	if (sp->full || used + READ_MAX <= sp->max)
		return READ_MAX;
	return used + 4096 < sp->max ? (size_t)(sp->max - used) : 4096;
}

/* ---- acknowledgements ---- */

void spool_ack(struct spool *sp, struct spool_ref ref)
{
	struct spool_seg *g = ref.seg;
	char e[SPOOL_ACK_LEN];
	put64(e, ref.seq);
	put32(e + 8, spool_crc32c(0, e, 8));
	buf_add(&g->acks, e, sizeof e);
	g->unacked--;
	sp->pending--;
}

static void write_acks(struct spool *sp, struct spool_seg *g)
{
	if (!g->acks.n)
		return;
	char name[40];
	seg_name(name, sizeof name, g->num, "spa");
	if (g->ack_fd < 0) {
		g->ack_fd = openat(sp->dirfd, name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (g->ack_fd < 0) {
			warnsys("spool %s/%s", sp->conf.dir, name);
			buf_reset(&g->acks);	/* at worst delivered again after a restart */
			return;
		}
	}
	/* a failure (a full disk) keeps them to try again; a cut entry is skipped on reading */
	size_t done = 0;
	while (done < g->acks.n) {
		ssize_t r = write(g->ack_fd, g->acks.p + done, g->acks.n - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			if (errno != sp->full_errno)
				warnsys("spool %s/%s: writing", sp->conf.dir, name);
			sp->full_errno = errno;
			break;
		}
		done += (size_t)r;
	}
	if (done && sp->conf.sync && fdatasync(g->ack_fd) < 0)
		warnsys("spool %s/%s: fdatasync", sp->conf.dir, name);
	done -= done % SPOOL_ACK_LEN;
	memmove(g->acks.p, g->acks.p + done, g->acks.n - done);
	g->acks.n -= done;
}

static void seg_remove(struct spool *sp, struct spool_seg *g)
{
	char name[40];
	seg_name(name, sizeof name, g->num, "sp");
	if (unlinkat(sp->dirfd, name, 0) < 0)
		warnsys("spool %s/%s: removing", sp->conf.dir, name);
	seg_name(name, sizeof name, g->num, "spa");
	if (unlinkat(sp->dirfd, name, 0) < 0 && errno != ENOENT)
		warnsys("spool %s/%s: removing", sp->conf.dir, name);
	sp->bytes -= (unsigned long long)g->bytes;
}

/* Removes the fully acknowledged segments at the head (in order, so the oldest goes first and
 * a restart never meets a hole); the tail too when closing. */
static void collect(struct spool *sp, int closing)
{
	for (struct spool_seg *g = sp->head; g; g = g->next)
		write_acks(sp, g);
	while (sp->head && (closing || sp->head != sp->tail) && !sp->head->unacked &&
	       sp->load != sp->head && !(sp->head == sp->tail && sp->wbuf.n)) {
		struct spool_seg *g = sp->head;
		seg_remove(sp, g);
		sp->head = g->next;
		if (!sp->head)
			sp->tail = NULL;
		seg_free(g);
	}
}

void spool_collect(struct spool *sp) { collect(sp, 0); }

void spool_close(struct spool *sp)
{
	if (spool_flush(sp) < 0)
		warnx("spool %s: %zu events not written at exit", sp->conf.dir, sp->batch_recs);
	collect(sp, 1);
	while (sp->head) {
		struct spool_seg *g = sp->head;
		sp->head = g->next;
		seg_free(g);
	}
	buf_free(&sp->wbuf);
	buf_free(&sp->rbuf);
	close(sp->lockfd);
	close(sp->dirfd);
	free(sp);
}

/* ---- reading back ---- */

/* rbuf holds the bytes of g from load_off to its end (read when it does not). */
static const char *seg_bytes(struct spool *sp, struct spool_seg *g, size_t *avail, int again)
{
	if (again || sp->rseg != g->num || !sp->rbuf.n || g->load_off < sp->roff ||
	    g->load_off >= sp->roff + (off_t)sp->rbuf.n) {
		size_t want = (size_t)(g->bytes - g->load_off);
		buf_reset(&sp->rbuf);
		buf_reserve(&sp->rbuf, want);
		ssize_t r = pread(g->fd, sp->rbuf.p, want, g->load_off);
		if (r < 0)
			diesys(1, "spool %s: reading segment %016" PRIx64, sp->conf.dir, g->num);
		sp->rbuf.n = (size_t)r;
		sp->rseg = g->num;
		sp->roff = g->load_off;
	}
	*avail = sp->rbuf.n - (size_t)(g->load_off - sp->roff);
	return sp->rbuf.p + (g->load_off - sp->roff);
}

int spool_next(struct spool *sp, const char **line, size_t *n, struct spool_ref *ref)
{
	while (sp->load) {
		struct spool_seg *g = sp->load;
		if (g->load_off >= g->bytes) {
			if (g == sp->tail) {
				if (g->load_off < g->bytes + (off_t)sp->wbuf.n)
					return 0;	/* the rest is in the batch */
				sp->load = NULL;	/* caught up: new events go straight in */
				return 0;
			}
			free(g->acked);
			g->acked = NULL;
			g->nacked = 0;
			sp->load = g->next;
			continue;
		}
		size_t avail, len, need;
		uint64_t seq;
		const char *p = seg_bytes(sp, g, &avail, 0);
		long r = spool_rec_get(p, avail, line, &len, &seq, &need);
		if (r == 0 && g->load_off + (off_t)avail < g->bytes) {
			p = seg_bytes(sp, g, &avail, 1);	/* the rest of it is on disk */
			r = spool_rec_get(p, avail, line, &len, &seq, &need);
		}
		if (r > 0) {
			g->load_off += r;
			if (seg_acked(g, seq))
				continue;
			*n = len - 1;
			*ref = (struct spool_ref){ g, seq };
			return 1;
		}
		/* damage (reported at start, unless it happened since) */
		size_t next = resync(p, avail, 1);	/* as spool_scan goes on */
		if (g->fresh)
			warnx("spool %s: segment %016" PRIx64 " offset %jd: %zu bytes damaged since "
			      "written: skipped", sp->conf.dir, g->num, (intmax_t)g->load_off, next);
		g->load_off += (off_t)next;
	}
	return 0;
}

int spool_caught_up(const struct spool *sp) { return !sp->load; }
unsigned long long spool_pending(const struct spool *sp) { return sp->pending; }
unsigned long long spool_bytes(const struct spool *sp) { return sp->bytes; }
const char *spool_dir(const struct spool *sp) { return sp->conf.dir; }
