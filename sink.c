/* sink: the runtime of the sink tools; see sink.h. The spool (disk side of the queue) is in
 * the second half of this file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "lines.h"
#include "sig.h"
#include "sink.h"

#define STOP_WAIT 5.0		/* seconds SIGTERM waits for in-flight acknowledgements */
#define LINES_PER_TURN 4096	/* input lines read before the destination gets a turn */
#define FILE_AHEAD 4096		/* events queued from a regular file at most */
#define SEG_BYTES (4 << 20)	/* a spool segment is closed for writing at this size */

enum bad { BAD_COLUMNS, BAD_ESCAPE, BAD_EVENT, BAD_LONG, BAD_ATTR, NBAD };
static const char *const bad_what[NBAD] = {
	"not 16 columns", "malformed escape", "unknown event name", "longer than 1 MiB",
	"bad attribute",
};

struct lane {
	struct sink_item *head, *tail;
	size_t n;
};

struct sink_seg {
	struct sink_seg *next;
	uint64_t num;			/* names NUM.ev (events) and NUM.ack (acknowledged) */
	int fd, ack_fd;
	uint32_t count;			/* lines on disk */
	uint32_t unacked;
	off_t bytes;
	struct buf acks;		/* uint32 line numbers not written to NUM.ack yet */
	uint32_t loaded;		/* lines [0, loaded) have been in memory (or were acked) */
	off_t load_off;			/* where line `loaded` starts */
	unsigned char *acked;		/* bitmap read from NUM.ack at start, until loaded */
};

struct spool {
	char *dir;
	int dirfd, lockfd;
	int sync;
	unsigned long long max, bytes;
	struct sink_seg *head, *tail;	/* oldest first; tail takes new lines */
	struct sink_seg *load;		/* first segment with lines not loaded yet, or NULL */
	struct buf wbuf;		/* new lines for tail, written once per batch */
	struct buf rbuf;		/* lines read back from a segment ... */
	uint64_t rseg;			/* ... which one (its number; rbuf.n = 0: none) */
	off_t roff;			/* ... from where in it */
	uint32_t wcount;
	unsigned long long pending;	/* events on disk not acknowledged */
	int full;			/* spool_max reached: new events are dropped */
};

struct input {
	char **files;
	int nfiles, next;
	const char *name;		/* for diagnostics; NULL for stdin */
	int fd, is_file, eof;
	int stdin_flags;		/* to restore at exit, -1 when untouched */
	struct lines lr;
};

struct sink {
	const struct sink_driver *drv;
	void *ctx;
	/* configuration */
	const char *conf_file;
	int passthrough;
	char *spool_dir;
	unsigned events;
	int events_set;			/* events= seen: later ones add */
	char *flag_events, *flag_spool;
	unsigned long queue_max;
	double backoff_max, drain_seconds;
	char *dead_path;
	struct spool sp;
	int use_spool;
	unsigned long long spool_max;
	int spool_sync;
	/* state */
	struct lane *lanes;
	unsigned nlanes;
	size_t nmem, nqueued;		/* items in memory; of them, in the lanes */
	struct lane inflight;		/* the items taken */
	uint64_t seq;
	double now;
	double progress;		/* when input was last read or an event last delivered */
	int stopping;
	int fresh;			/* items queued since the last pump */
	int dead_fd;
	struct buf out, scratch;
	struct input in;
	uint64_t rng;
	struct ratelimit rl_bad[NBAD], rl_dead;
	/* counters */
	unsigned long long n_read, n_delivered, n_retried, n_dropped, n_dead, n_bad[NBAD];
	unsigned long long n_ignored;
	int exit_status;
};

/* ---- small parts ---- */

void sink_item_event(const struct sink_item *it, struct event *ev)
{
	unsigned escaped;
	tsv_scan_event(it->line, it->len, ev, &escaped);
}

static double jitter(struct sink *s)
{
	/* xorshift64: good enough to spread retries, no shared state */
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return (double)(s->rng >> 11) / (double)(1ULL << 53);
}

/* ---- lanes ---- */

static void lane_append(struct lane *l, struct sink_item *it)
{
	it->next = NULL;
	it->prev = l->tail;
	if (l->tail)
		l->tail->next = it;
	else
		l->head = it;
	l->tail = it;
	l->n++;
}

/* Back in its place by input order: retries come back near the head. */
static void lane_insert(struct lane *l, struct sink_item *it)
{
	struct sink_item *after = NULL, *cur = l->head;
	while (cur && cur->seq < it->seq)
		after = cur, cur = cur->next;
	it->prev = after;
	it->next = cur;
	if (after)
		after->next = it;
	else
		l->head = it;
	if (cur)
		cur->prev = it;
	else
		l->tail = it;
	l->n++;
}

static void lane_remove(struct lane *l, struct sink_item *it)
{
	if (it->prev)
		it->prev->next = it->next;
	else
		l->head = it->next;
	if (it->next)
		it->next->prev = it->prev;
	else
		l->tail = it->prev;
	l->n--;
}

/* ---- spool: segments of event lines plus a log of the acknowledged ones ---- */

static void seg_path(char *out, size_t n, uint64_t num, const char *ext)
{
	snprintf(out, n, "%016" PRIx64 ".%s", num, ext);
}

static void spool_write_acks(struct spool *sp, struct sink_seg *g)
{
	if (!g->acks.n)
		return;
	if (g->ack_fd < 0) {
		char name[40];
		seg_path(name, sizeof name, g->num, "ack");
		g->ack_fd = openat(sp->dirfd, name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (g->ack_fd < 0) {
			warnsys("spool %s/%s", sp->dir, name);
			buf_reset(&g->acks);	/* at worst delivered again after a restart */
			return;
		}
	}
	if (buf_write_fd(&g->acks, g->ack_fd) < 0) {
		warnsys("spool %s: writing acknowledgements", sp->dir);
		buf_reset(&g->acks);
	}
}

static void seg_free(struct sink_seg *g)
{
	if (g->fd >= 0)
		close(g->fd);
	if (g->ack_fd >= 0)
		close(g->ack_fd);
	buf_free(&g->acks);
	free(g->acked);
	free(g);
}

/* Deletes the fully acknowledged segments at the head (kept in order, so the oldest goes
 * first and a restart never meets a hole); the tail too when closing. */
static void spool_collect(struct spool *sp, int closing)
{
	for (struct sink_seg *g = sp->head; g; g = g->next)
		spool_write_acks(sp, g);
	while (sp->head && (closing || sp->head != sp->tail) && !sp->head->unacked &&
	       sp->head->loaded == sp->head->count) {
		struct sink_seg *g = sp->head;
		char name[40];
		seg_path(name, sizeof name, g->num, "ev");
		if (unlinkat(sp->dirfd, name, 0) < 0)
			warnsys("spool %s/%s: removing", sp->dir, name);
		seg_path(name, sizeof name, g->num, "ack");
		if (unlinkat(sp->dirfd, name, 0) < 0 && errno != ENOENT)
			warnsys("spool %s/%s: removing", sp->dir, name);
		sp->bytes -= (unsigned long long)g->bytes;
		sp->head = g->next;
		if (sp->load == g)
			sp->load = g->next;
		seg_free(g);
	}
}

static struct sink_seg *seg_new(uint64_t num)
{
	struct sink_seg *g = calloc(1, sizeof *g);
	if (!g)
		die(1, "out of memory");
	g->num = num;
	g->fd = g->ack_fd = -1;
	return g;
}

static void spool_append_seg(struct spool *sp, struct sink_seg *g)
{
	if (sp->tail)
		sp->tail->next = g;
	else
		sp->head = g;
	sp->tail = g;
}

/* A new segment for new lines: a restart never appends to a file a crash may have cut. */
static void spool_new_tail(struct spool *sp)
{
	struct sink_seg *g = seg_new(sp->tail ? sp->tail->num + 1 : 1);
	char name[40];
	seg_path(name, sizeof name, g->num, "ev");
	g->fd = openat(sp->dirfd, name, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (g->fd < 0)
		diesys(1, "spool %s/%s", sp->dir, name);
	if (sp->sync && fsync(sp->dirfd) < 0)
		warnsys("spool %s: fsync", sp->dir);
	spool_append_seg(sp, g);
}

/* Reads NUM.ack of a segment found at start into its bitmap; returns how many distinct lines
 * it acknowledges. */
static uint32_t seg_read_acks(struct spool *sp, struct sink_seg *g)
{
	char name[40];
	seg_path(name, sizeof name, g->num, "ack");
	int fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			diesys(1, "spool %s/%s", sp->dir, name);
		return 0;
	}
	g->acked = calloc(g->count / 8 + 1, 1);
	if (!g->acked)
		die(1, "out of memory");
	uint32_t n = 0, rec[1024];
	ssize_t r;
	size_t carry = 0;	/* a record cut by a crash is ignored */
	while ((r = read(fd, (char *)rec + carry, sizeof rec - carry)) > 0) {
		size_t have = carry + (size_t)r, whole = have / sizeof *rec;
		for (size_t i = 0; i < whole; i++) {
			uint32_t idx = rec[i];
			if (idx < g->count && !(g->acked[idx / 8] & (1u << (idx % 8)))) {
				g->acked[idx / 8] |= (unsigned char)(1u << (idx % 8));
				n++;
			}
		}
		carry = have % sizeof *rec;
		memmove(rec, (char *)rec + whole * sizeof *rec, carry);
	}
	if (r < 0)
		diesys(1, "spool %s/%s", sp->dir, name);
	close(fd);
	return n;
}

/* Counts a segment's complete lines; a last line without LF (cut by a crash) is not one. */
static void seg_scan(struct spool *sp, struct sink_seg *g)
{
	char name[40], block[65536];
	seg_path(name, sizeof name, g->num, "ev");
	g->fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (g->fd < 0)
		diesys(1, "spool %s/%s", sp->dir, name);
	ssize_t r;
	off_t off = 0;
	while ((r = read(g->fd, block, sizeof block)) > 0) {
		for (char *p = block; (p = memchr(p, '\n', (size_t)(block + r - p))); p++)
			g->count++;
		off += r;
	}
	if (r < 0)
		diesys(1, "spool %s/%s", sp->dir, name);
	g->bytes = off;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The segment numbers in the directory, sorted; removes acknowledgement logs whose segment
 * is gone (a crash between the two unlinks). */
static size_t spool_list(struct spool *sp, uint64_t **nums)
{
	DIR *d = fdopendir(dup(sp->dirfd));
	if (!d)
		diesys(1, "spool %s", sp->dir);
	size_t n = 0, cap = 0;
	*nums = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		uint64_t num = strtoull(de->d_name, &end, 16);
		if (end != de->d_name + 16)
			continue;
		if (!strcmp(end, ".ack")) {
			char name[40];
			seg_path(name, sizeof name, num, "ev");
			if (faccessat(sp->dirfd, name, F_OK, 0) < 0 && errno == ENOENT)
				unlinkat(sp->dirfd, de->d_name, 0);
			continue;
		}
		if (strcmp(end, ".ev"))
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

static void spool_open(struct spool *sp)
{
	if (mkdir(sp->dir, 0700) < 0 && errno != EEXIST)
		diesys(1, "spool %s: mkdir", sp->dir);
	sp->dirfd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0)
		diesys(1, "spool %s", sp->dir);
	sp->lockfd = openat(sp->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (sp->lockfd < 0)
		diesys(1, "spool %s/lock", sp->dir);
	if (flock(sp->lockfd, LOCK_EX | LOCK_NB) < 0)
		die(1, "spool %s is in use by another process", sp->dir);
	uint64_t *nums;
	size_t n = spool_list(sp, &nums);
	for (size_t i = 0; i < n; i++) {
		struct sink_seg *g = seg_new(nums[i]);
		seg_scan(sp, g);
		g->unacked = g->count - seg_read_acks(sp, g);
		sp->bytes += (unsigned long long)g->bytes;
		sp->pending += g->unacked;
		spool_append_seg(sp, g);
		if (!g->unacked)
			g->loaded = g->count;	/* nothing to load: can go at once */
		else if (!sp->load)
			sp->load = g;
	}
	free(nums);
	spool_new_tail(sp);
	spool_collect(sp, 0);
}

/* Writes the batch of new lines to the tail segment: one write per batch. */
static void spool_flush(struct spool *sp)
{
	if (!sp->wbuf.n)
		return;
	struct sink_seg *g = sp->tail;
	size_t n = sp->wbuf.n;
	if (buf_write_fd(&sp->wbuf, g->fd) < 0)
		diesys(1, "spool %s: writing events", sp->dir);
	if (sp->sync && fdatasync(g->fd) < 0)
		warnsys("spool %s: fdatasync", sp->dir);
	g->bytes += (off_t)n;
	sp->bytes += n;		/* spool_collect takes a segment's bytes off again */
	g->count += sp->wcount;
	sp->wcount = 0;
	if (g->bytes >= SEG_BYTES) {
		spool_new_tail(sp);
		spool_collect(sp, 0);
	}
}

static void spool_ack(struct spool *sp, struct sink_item *it)
{
	struct sink_seg *g = it->seg;
	buf_add(&g->acks, &it->seg_idx, sizeof it->seg_idx);
	g->unacked--;
	sp->pending--;
}

static void spool_close(struct spool *sp)
{
	spool_flush(sp);
	spool_collect(sp, 1);
	while (sp->head) {
		struct sink_seg *g = sp->head;
		sp->head = g->next;
		seg_free(g);
	}
	buf_free(&sp->wbuf);
	buf_free(&sp->rbuf);
	close(sp->lockfd);
	close(sp->dirfd);
}

/* ---- queueing ---- */

static struct sink_item *item_new(struct sink *s, const char *line, size_t n, int event)
{
	struct sink_item *it = malloc(sizeof *it + n + 1);
	if (!it)
		die(1, "out of memory");
	*it = (struct sink_item){ .event = event, .seq = ++s->seq, .len = n };
	memcpy(it->line, line, n);
	it->line[n] = 0;
	return it;
}

static void item_free(struct sink *s, struct sink_item *it)
{
	s->nmem--;
	free(it);
}

static void enqueue(struct sink *s, struct sink_item *it)
{
	it->lane = s->drv->lane ? s->drv->lane(s->ctx, it) : 0;
	if (it->lane >= s->nlanes)
		it->lane = 0;
	lane_append(&s->lanes[it->lane], it);
	s->nmem++;
	s->nqueued++;
	s->fresh = 1;
}

/* Without a spool a full queue makes room by dropping its oldest event. */
static void drop_oldest(struct sink *s)
{
	struct lane *oldest = NULL;
	for (unsigned i = 0; i < s->nlanes; i++)
		if (s->lanes[i].head && (!oldest || s->lanes[i].head->seq < oldest->head->seq))
			oldest = &s->lanes[i];
	if (!oldest)
		return;
	struct sink_item *it = oldest->head;
	lane_remove(oldest, it);
	s->nqueued--;
	item_free(s, it);
	if (!s->n_dropped)
		warnx("queue full (%lu events): dropping the oldest (set queue_max or a spool)",
		      s->queue_max);
	s->n_dropped++;
}

/* A selected event just read. */
static void accept_event(struct sink *s, const char *line, size_t n, int event)
{
	if (!s->use_spool) {
		if (s->nmem >= s->queue_max)
			drop_oldest(s);
		enqueue(s, item_new(s, line, n, event));
		return;
	}
	struct spool *sp = &s->sp;
	if (sp->bytes + sp->wbuf.n + n + 1 > sp->max) {
		if (!sp->full)
			warnx("spool %s full (spool_max %llu bytes): dropping new events", sp->dir,
			      sp->max);
		sp->full = 1;
		s->n_dropped++;
		return;
	}
	if (sp->full)
		warnx("spool %s has room again", sp->dir);
	sp->full = 0;
	struct sink_seg *g = sp->tail;
	uint32_t idx = g->count + sp->wcount;
	if (!sp->load && s->nmem < s->queue_max) {
		struct sink_item *it = item_new(s, line, n, event);
		it->seg = g;
		it->seg_idx = idx;
		enqueue(s, it);
		g->loaded = idx + 1;
		g->load_off = g->bytes + (off_t)sp->wbuf.n + (off_t)n + 1;
	} else if (!sp->load) {
		sp->load = g;	/* from here on the events wait on disk */
	}
	buf_add(&sp->wbuf, line, n);
	buf_addc(&sp->wbuf, '\n');
	sp->wcount++;
	g->unacked++;
	sp->pending++;
}

/* Why an event line cannot be delivered, or -1 with its event; *why says it in words (an
 * attribute's own reason for BAD_ATTR). */
static int check_event(const char *line, size_t n, int *event, const char **why)
{
	struct event ev;
	unsigned escaped;
	int bad = -1;
	*why = NULL;
	size_t nfields = tsv_scan_event(line, n, &ev, &escaped);
	if (nfields < NFIELDS)
		bad = BAD_COLUMNS;
	for (int i = 0; bad < 0 && i < NFIELDS; i++)	/* only columns with a backslash or control */
		if ((escaped >> i & 1) && tsv_check(ev.f[i].p, ev.f[i].n, NULL) < 0)
			bad = BAD_ESCAPE;
	if (bad < 0 && nfields > NFIELDS && (*why = tsv_check_attrs(ev.attrs.p, ev.attrs.n)))
		return BAD_ATTR;
	if (bad < 0 && (*event = tsv_event_index(ev.f[F_EVENT].p, ev.f[F_EVENT].n)) < 0)
		bad = BAD_EVENT;
	if (bad >= 0)
		*why = bad_what[bad];
	return bad;
}

const char *sink_check_line(const char *line, size_t n, int *event)
{
	const char *why;
	check_event(line, n, event, &why);
	return why;
}

/* The bytes of g from load_off on, at least one whole line: from rbuf when it holds them (a
 * catching-up spool loads a few lines a turn, as acknowledgements make room: reading a block
 * per turn read each byte many times over), else read into it. */
static const char *seg_read(struct spool *sp, struct sink_seg *g, size_t *len)
{
	if (sp->rbuf.n && sp->rseg == g->num && g->load_off >= sp->roff &&
	    g->load_off < sp->roff + (off_t)sp->rbuf.n) {
		const char *p = sp->rbuf.p + (g->load_off - sp->roff);
		*len = sp->rbuf.n - (size_t)(g->load_off - sp->roff);
		if (memchr(p, '\n', *len))
			return p;
	}
	for (size_t want = 65536;; want *= 2) {
		buf_reset(&sp->rbuf);
		buf_reserve(&sp->rbuf, want);
		ssize_t r = pread(g->fd, sp->rbuf.p, want, g->load_off);
		if (r < 0)
			diesys(1, "spool %s: reading segment %016" PRIx64, sp->dir, g->num);
		sp->rbuf.n = (size_t)r;
		sp->rseg = g->num;
		sp->roff = g->load_off;
		if (memchr(sp->rbuf.p, '\n', (size_t)r)) {
			*len = (size_t)r;
			return sp->rbuf.p;
		}
		if ((size_t)r < want || want > 4 * LINES_MAX)
			die(1, "spool %s: segment %016" PRIx64 " ends in the middle of a line",
			    sp->dir, g->num);
	}
}

/* Loads events waiting on disk into memory while there is room, in order. */
static void spool_load(struct sink *s)
{
	struct spool *sp = &s->sp;
	while (sp->load && s->nmem < s->queue_max) {
		struct sink_seg *g = sp->load;
		if (g->loaded >= g->count) {
			if (g == sp->tail && !sp->wcount) {
				sp->load = NULL;	/* caught up: new events go straight in */
				return;
			}
			if (g == sp->tail)
				return;		/* the rest is still in wbuf */
			free(g->acked);
			g->acked = NULL;
			sp->load = g->next;
			continue;
		}
		size_t r;
		const char *p = seg_read(sp, g, &r), *end = p + r, *lf;
		while (g->loaded < g->count && s->nmem < s->queue_max &&
		       (lf = memchr(p, '\n', (size_t)(end - p)))) {
			uint32_t idx = g->loaded++;
			size_t n = (size_t)(lf - p);
			int event;
			if (!(g->acked && (g->acked[idx / 8] & (1u << (idx % 8))))) {
				const char *why;
				int bad = check_event(p, n, &event, &why);
				if (bad >= 0 || !(s->events & (1u << event))) {
					/* damaged on disk, or spooled when `events` chose it and no longer
					 * chosen: acknowledge it so the segment can go */
					if (bad >= 0)
						warnx("spool %s: segment %016" PRIx64 " line %" PRIu32 ": not an event; skipped",
						      sp->dir, g->num, idx + 1);
					else
						s->n_ignored++;
					struct sink_item tmp = { .seg = g, .seg_idx = idx };
					spool_ack(sp, &tmp);
				} else {
					struct sink_item *it = item_new(s, p, n, event);
					it->seg = g;
					it->seg_idx = idx;
					enqueue(s, it);
				}
			}
			g->load_off += (off_t)n + 1;
			p = lf + 1;
		}
	}
}

/* ---- the driver's side ---- */

struct sink_item *sink_take(struct sink *s, unsigned lane)
{
	if (s->stopping || lane >= s->nlanes)
		return NULL;
	struct lane *l = &s->lanes[lane];
	struct sink_item *it = l->head;
	if (!it || it->due > s->now)
		return NULL;
	lane_remove(l, it);
	s->nqueued--;
	lane_append(&s->inflight, it);
	it->drv = 0;
	it->drv_next = NULL;
	return it;
}

size_t sink_ready(const struct sink *s, unsigned lane)
{
	if (s->stopping || lane >= s->nlanes)
		return 0;
	const struct lane *l = &s->lanes[lane];
	return l->head && l->head->due <= s->now ? l->n : 0;
}

size_t sink_inflight(const struct sink *s) { return s->inflight.n; }
size_t sink_queued(const struct sink *s)
{
	return s->use_spool ? (size_t)(s->sp.pending - s->inflight.n) : s->nqueued;
}
unsigned sink_events(const struct sink *s) { return s->events; }

void sink_set_default_events(struct sink *s, unsigned events)
{
	if (!s->events_set)
		s->events = events;
}

static void dead_letter(struct sink *s, struct sink_item *it, const char *why)
{
	s->n_dead++;
	if (!why)
		why = "permanent failure";
	if (s->dead_fd < 0) {
		if (ratelimit_allow(&s->rl_dead, 10, "undeliverable-event diagnostics")) {
			buf_reset(&s->scratch);
			tsv_escape(&s->scratch, it->line, it->len < 80 ? it->len : 80);
			warnx("undeliverable: %s: %s", why, buf_str(&s->scratch));
		}
		return;
	}
	char stamp[RFC3339_LEN + 1];
	struct timespec ts;
	struct timecache tc = { 0 };
	clock_gettime(CLOCK_REALTIME, &ts);
	tsv_format_time(&tc, stamp, &ts);
	buf_reset(&s->scratch);
	buf_printf(&s->scratch, "# %s %s: ", stamp, s->drv->name);
	tsv_escape(&s->scratch, why, strlen(why));
	buf_addc(&s->scratch, '\n');
	buf_add(&s->scratch, it->line, it->len);
	buf_addc(&s->scratch, '\n');
	if (buf_write_fd(&s->scratch, s->dead_fd) < 0)
		warnsys("dead_letter %s", s->dead_path);
}

void sink_done(struct sink *s, struct sink_item *it, enum sink_result r, double delay,
	       const char *why)
{
	lane_remove(&s->inflight, it);
	if (r == SINK_RETRY) {
		s->n_retried++;
		if (delay < 0) {
			double base = 1.0;
			for (unsigned i = 0; i < it->attempts && base < s->backoff_max; i++)
				base *= 2;
			if (base > s->backoff_max)
				base = s->backoff_max;
			delay = base / 2 + jitter(s) * base / 2;
			it->attempts++;
		}
		it->due = now_mono() + delay;
		lane_insert(&s->lanes[it->lane], it);
		s->nqueued++;
		return;
	}
	s->progress = s->now;
	if (r == SINK_OK)
		s->n_delivered++;
	else
		dead_letter(s, it, why);
	if (it->seg)
		spool_ack(&s->sp, it);
	item_free(s, it);
}

/* ---- configuration ---- */

static const char *add_event_word(void *ctx, const char *word, size_t n)
{
	struct sink *s = ctx;
	int ev = tsv_event_index(word, n);
	if (ev < 0)
		return "unknown event name (session_start session_stop connection_open "
		       "connection_close task_failed task_aborted task_succeeded task_distributed "
		       "log qix_perf unknown)";
	s->events |= 1u << ev;
	return NULL;
}

static const char *conf_key(void *tool, const char *key, const char *value)
{
	struct sink *s = tool;
	unsigned long ul;
	if (!strcmp(key, "spool")) {
		free(s->spool_dir);
		s->spool_dir = *value ? xstrdup(value) : NULL;
	} else if (!strcmp(key, "spool_max")) {
		return conf_size(value, ~0ULL >> 1, &s->spool_max) ? "not a size (bytes, or with K, M or G)" : NULL;
	} else if (!strcmp(key, "spool_sync")) {
		return conf_bool(value, &s->spool_sync) ? "not yes or no" : NULL;
	} else if (!strcmp(key, "queue_max")) {
		if (conf_ulong(value, 1, 100000000, &ul))
			return "not a number from 1 to 100000000";
		s->queue_max = ul;
	} else if (!strcmp(key, "events")) {
		if (!s->events_set)
			s->events = 0;
		s->events_set = 1;
		return conf_words(value, add_event_word, s);
	} else if (!strcmp(key, "dead_letter")) {
		free(s->dead_path);
		s->dead_path = *value ? xstrdup(value) : NULL;
	} else if (!strcmp(key, "backoff_max")) {
		return conf_seconds(value, 86400, &s->backoff_max) || s->backoff_max < 1
			       ? "not seconds from 1 to 86400" : NULL;
	} else if (!strcmp(key, "drain_seconds")) {
		return conf_seconds(value, 86400, &s->drain_seconds) ? "not seconds up to 86400" : NULL;
	} else {
		return s->drv->conf_key(s->ctx, key, value);
	}
	return NULL;
}

struct sink *sink_new(const struct sink_driver *drv, void *ctx)
{
	struct sink *s = calloc(1, sizeof *s);
	if (!s)
		die(1, "out of memory");
	s->drv = drv;
	s->ctx = ctx;
	s->events = drv->default_events;
	s->queue_max = 100000;
	s->backoff_max = 60;
	s->drain_seconds = 30;
	s->spool_max = 1ULL << 30;
	s->nlanes = 1;
	s->dead_fd = -1;
	s->in.stdin_flags = -1;
	s->rng = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL) ^ 0x9e3779b97f4a7c15ULL;
	/* Signals are blocked but in ppoll, so no flag set between a check and the wait is
	 * missed. */
	sig_setup();
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		diesys(1, "sigprocmask");
	return s;
}

int sink_flag(struct sink *s, int opt, const char *arg)
{
	switch (opt) {
	case 't': s->passthrough = 1; return 1;
	case 'c': s->conf_file = arg; return 1;
	case 'S': s->flag_spool = xstrdup(arg); return 1;
	case 'e': s->flag_events = xstrdup(arg); return 1;
	}
	return 0;
}

void sink_configure(struct sink *s)
{
	if (conf_load(conf_path(s->conf_file), s->drv->name, conf_key, s) < 0)
		exit(2);
	if (s->flag_spool) {
		free(s->spool_dir);
		s->spool_dir = s->flag_spool;
		s->flag_spool = NULL;
	}
	if (s->flag_events) {
		for (char *p = s->flag_events; *p; p++)
			if (*p == ',')
				*p = ' ';
		s->events = 0;
		const char *why = conf_words(s->flag_events, add_event_word, s);
		if (why)
			die(2, "-e %s: %s", s->flag_events, why);
		free(s->flag_events);
		s->flag_events = NULL;
	}
}

void sink_set_lanes(struct sink *s, unsigned n)
{
	s->nlanes = n ? n : 1;
}

/* ---- input ---- */

static void flush_output(void *ctx)
{
	struct sink *s = ctx;
	if (s->use_spool)
		spool_flush(&s->sp);
	if (s->out.n && buf_write_fd(&s->out, 1) < 0) {
		warnsys("write stdout");
		buf_reset(&s->out);
		s->exit_status = 1;
		s->stopping = 1;
	}
}

static void report_bad(struct sink *s, enum bad bad, const char *why, const char *line, size_t n)
{
	s->n_bad[bad]++;
	if (!ratelimit_allow(&s->rl_bad[bad], 10, "bad-line diagnostics"))
		return;
	buf_reset(&s->scratch);
	tsv_escape(&s->scratch, line, n < 80 ? n : 80);
	if (s->in.name)
		warnx("%s: line %lu: %s: %s", s->in.name, s->in.lr.lineno, why, buf_str(&s->scratch));
	else
		warnx("line %lu: %s: %s", s->in.lr.lineno, why, buf_str(&s->scratch));
}

static void take_line(struct sink *s, const char *line, size_t n)
{
	if (s->passthrough) {
		buf_add(&s->out, line, n);
		buf_addc(&s->out, '\n');
	}
	if (n && line[0] == '#')
		return;
	const char *why = bad_what[BAD_LONG];
	int event = -1, bad = s->in.lr.overlong ? BAD_LONG : check_event(line, n, &event, &why);
	if (bad >= 0) {
		report_bad(s, (enum bad)bad, why, line, n);
		return;
	}
	s->n_read++;
	if (!(s->events & (1u << event))) {
		s->n_ignored++;
		return;
	}
	accept_event(s, line, n, event);
}

/* Opens the next input; 0 when there is none left. */
static int input_open(struct sink *s)
{
	struct input *in = &s->in;
	if (in->lr.buf)
		lines_free(&in->lr);
	if (in->fd > 0)
		close(in->fd);
	if (in->nfiles ? in->next >= in->nfiles : in->next > 0)
		return 0;
	const char *path = in->nfiles ? in->files[in->next] : "-";
	in->next++;
	in->name = strcmp(path, "-") ? path : NULL;
	in->fd = in->name ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	if (in->fd < 0) {
		warnsys("%s", path);
		s->exit_status = 1;
		return input_open(s);
	}
	struct stat st;
	in->is_file = fstat(in->fd, &st) == 0 && S_ISREG(st.st_mode);
	if (!in->is_file) {
		int fl = fcntl(in->fd, F_GETFL);
		if (fl >= 0 && !(fl & O_NONBLOCK) && fcntl(in->fd, F_SETFL, fl | O_NONBLOCK) == 0 &&
		    in->fd == 0)
			in->stdin_flags = fl;
	}
	in->eof = 0;
	lines_init(&in->lr, in->fd, flush_output, s);
	return 1;
}

/* Without a spool, a regular file waits while the queue holds FILE_AHEAD events (nothing is
 * lost by waiting, and memory stays small); a pipe never waits. */
static int input_paused(struct sink *s)
{
	return !s->use_spool && s->in.is_file &&
	       s->nmem >= (s->queue_max < FILE_AHEAD ? s->queue_max : FILE_AHEAD);
}

/* A file waiting for a destination that takes nothing for drain_seconds is given up, as the
 * end of input would be. */
static int input_stalled(struct sink *s)
{
	if (s->in.eof || s->stopping || !input_paused(s) ||
	    s->now - s->progress < s->drain_seconds)
		return 0;
	warnx("%s: stopped reading at line %lu: nothing delivered for drain_seconds (%g s)",
	      s->in.name ? s->in.name : "stdin", s->in.lr.lineno, s->drain_seconds);
	s->in.eof = 1;
	s->exit_status = 1;
	return 1;
}

static void read_input(struct sink *s)
{
	struct input *in = &s->in;
	for (int i = 0; i < LINES_PER_TURN && !in->eof && !input_paused(s); i++) {
		char *line;
		size_t n;
		int r = lines_next(&in->lr, &line, &n);
		if (r == LINES_OK) {
			s->progress = s->now;
			take_line(s, line, n);
		} else if (r == LINES_AGAIN) {
			break;
		} else if (r == LINES_ERR && errno == EINTR) {
			break;
		} else {
			if (r == LINES_ERR) {
				warnsys("read %s", in->name ? in->name : "stdin");
				s->exit_status = 1;
			}
			if (!input_open(s))
				in->eof = 1;
		}
	}
	flush_output(s);
}

/* ---- the loop ---- */

static void summary(struct sink *s, const char *when)
{
	struct buf b = { 0 };
	unsigned long long bad = 0;
	for (int i = 0; i < NBAD; i++)
		bad += s->n_bad[i];
	unsigned long long queued = sink_queued(s);
	buf_printf(&b, "%sread=%llu delivered=%llu retried=%llu queued=%llu dropped=%llu "
		   "dead=%llu inflight=%zu bad=%llu ignored=%llu", when, s->n_read, s->n_delivered,
		   s->n_retried, queued, s->n_dropped, s->n_dead, s->inflight.n, bad, s->n_ignored);
	if (s->drv->counters)
		s->drv->counters(s->ctx, &b);
	warnx("%s", buf_str(&b));
	buf_free(&b);
}

static int queue_empty(struct sink *s)
{
	return !s->nqueued && !s->inflight.n && !(s->use_spool && s->sp.load);
}

static void open_dead_letter(struct sink *s)
{
	if (!s->dead_path)
		return;
	int fd = open(s->dead_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		warnsys("dead_letter %s", s->dead_path);
		if (s->dead_fd < 0)
			exit(2);
		return;	/* SIGHUP: keep the old one */
	}
	if (s->dead_fd >= 0)
		close(s->dead_fd);
	s->dead_fd = fd;
}

static double next_due(struct sink *s)
{
	double due = -1;
	for (unsigned i = 0; i < s->nlanes; i++) {
		struct sink_item *h = s->lanes[i].head;
		if (h && h->due > s->now && (due < 0 || h->due < due))
			due = h->due;
	}
	return due;
}

static void wait_events(struct sink *s, double deadline)
{
	struct pollfd pfd[SINK_MAX_FDS + 1];
	int n = 0;
	double wait = -1, due = next_due(s);
	if (due > 0)
		wait = due - s->now;
	if (deadline > 0 && (wait < 0 || deadline - s->now < wait))
		wait = deadline - s->now;
	/* the input, when it can be read now or later */
	if (!s->in.eof && !input_paused(s) && !s->stopping) {
		if (lines_buffered(&s->in.lr))
			wait = 0;	/* lines read but left for the next turn */
		pfd[n++] = (struct pollfd){ .fd = s->in.fd, .events = POLLIN };
	}
	int first = n;
	if (s->drv->fds)
		n += s->drv->fds(s->ctx, pfd + n, SINK_MAX_FDS, &wait);
	/* Events just queued are handed to the driver in this turn, not after the next input:
	 * waiting for that cost a whole inter-arrival time of latency. */
	if (s->fresh)
		wait = 0;
	struct timespec ts, *tsp = NULL;
	if (wait >= 0) {
		ts.tv_sec = (time_t)wait;
		ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
		tsp = &ts;
	}
	sigset_t none;
	sigemptyset(&none);
	if (ppoll(pfd, (nfds_t)n, tsp, &none) < 0 && errno != EINTR)
		diesys(1, "poll");
	s->now = now_mono();
	s->fresh = 0;
	if (s->drv->pump)
		s->drv->pump(s->ctx, pfd + first, n - first, s->now);
}

static void handle_signals(struct sink *s, double *deadline)
{
	if (sig_usr1) {
		sig_usr1 = 0;
		summary(s, "");
	}
	if (sig_hup) {
		sig_hup = 0;
		open_dead_letter(s);
	}
	if (sig_term && !s->stopping) {
		s->stopping = 1;
		*deadline = s->now + STOP_WAIT;
	}
}

/* What is left at exit: kept in the spool, or lost. */
static void report_left(struct sink *s, int at_eof)
{
	if (s->use_spool) {
		if (s->sp.pending)
			warnx("%llu events kept in spool %s for the next run", s->sp.pending, s->sp.dir);
		return;
	}
	size_t lost = s->nqueued + s->inflight.n;
	if (!lost)
		return;
	warnx("%zu events not delivered (lost: no spool)", lost);
	if (at_eof && !s->exit_status)
		s->exit_status = 1;
}

static void free_all(struct sink *s)
{
	for (unsigned i = 0; s->lanes && i < s->nlanes; i++)	/* no lanes before sink_run */
		while (s->lanes[i].head) {
			struct sink_item *it = s->lanes[i].head;
			lane_remove(&s->lanes[i], it);
			free(it);
		}
	while (s->inflight.head) {
		struct sink_item *it = s->inflight.head;
		lane_remove(&s->inflight, it);
		free(it);
	}
	free(s->lanes);
	buf_free(&s->out);
	buf_free(&s->scratch);
	if (s->in.lr.buf)
		lines_free(&s->in.lr);
	free(s->spool_dir);
	free(s->dead_path);
}

void sink_transient(struct sink *s)
{
	free(s->spool_dir);
	s->spool_dir = NULL;
	free(s->dead_path);
	s->dead_path = NULL;
}

int sink_run(struct sink *s, int nfiles, char **files)
{
	s->lanes = calloc(s->nlanes, sizeof *s->lanes);
	if (!s->lanes)
		die(1, "out of memory");
	open_dead_letter(s);
	if (s->spool_dir) {
		s->use_spool = 1;
		s->sp.dir = s->spool_dir;
		s->sp.max = s->spool_max;
		s->sp.sync = s->spool_sync;
		spool_open(&s->sp);
	}
	s->in.files = files;
	s->in.nfiles = nfiles;
	if (!input_open(s))
		s->in.eof = 1;
	s->now = s->progress = now_mono();
	double deadline = -1;	/* drain (end of input) or stop (SIGTERM) bound */
	int at_eof = 0;
	for (;;) {
		handle_signals(s, &deadline);
		if (!s->in.eof && !s->stopping)
			read_input(s);
		if (s->use_spool)
			spool_load(s);
		if (input_stalled(s)) {
			at_eof = 1;
			deadline = s->now;
		}
		if (s->in.eof && !at_eof && !s->stopping) {
			at_eof = 1;
			deadline = s->now + s->drain_seconds;
		}
		if (s->stopping ? !s->inflight.n : (at_eof && queue_empty(s)))
			break;
		if (deadline > 0 && s->now >= deadline) {
			if (at_eof && !s->stopping)
				warnx("drain_seconds (%g s) passed with events still queued", s->drain_seconds);
			break;
		}
		wait_events(s, input_paused(s) ? s->progress + s->drain_seconds : deadline);
		if (s->use_spool)
			spool_collect(&s->sp, 0);
	}
	s->stopping = 1;
	if (s->drv->stop)
		s->drv->stop(s->ctx);
	flush_output(s);
	report_left(s, at_eof && !sig_term);
	unsigned long long bad = 0;
	for (int i = 0; i < NBAD; i++) {
		ratelimit_flush(&s->rl_bad[i], "bad-line diagnostics");
		bad += s->n_bad[i];
	}
	ratelimit_flush(&s->rl_dead, "undeliverable-event diagnostics");
	if (bad || s->n_dropped || s->n_dead)
		summary(s, "exit: ");
	if (s->use_spool)
		spool_close(&s->sp);
	if (s->in.stdin_flags >= 0)
		fcntl(0, F_SETFL, s->in.stdin_flags);
	if (s->dead_fd >= 0)
		close(s->dead_fd);
	int status = s->exit_status;
	sink_free(s);
	return status;
}

void sink_free(struct sink *s)
{
	free_all(s);
	free(s);
}
