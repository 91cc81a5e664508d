/* sink: the runtime of the sink tools; see sink.h. The spool, the disk side of the queue, is
 * spool.c; this file decides what goes to it and what waits in memory. */
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
#include "metrics.h"
#include "sig.h"
#include "sink.h"
#include "spool.h"

#define STOP_WAIT 5.0		/* seconds SIGTERM waits for in-flight acknowledgements */
#define LINES_PER_TURN 4096	/* input lines read before the destination gets a turn */
#define FILE_AHEAD 4096		/* events queued from a regular file at most */

enum bad { BAD_COLUMNS, BAD_ESCAPE, BAD_EVENT, BAD_LONG, BAD_ATTR, NBAD };
static const char *const bad_what[NBAD] = {
	"not 16 columns", "malformed escape", "unknown event name", "longer than 1 MiB",
	"bad attribute",
};
static const char *const bad_label[NBAD] = {	/* the reason label of the metrics */
	"columns", "escape", "event_name", "too_long", "attribute",
};

struct lane {
	struct sink_item *head, *tail;
	size_t n;
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
	struct tsv_tails tails;	/* attribute tails seen, to check the next ones quickly */
	/* configuration */
	const char *conf_file;
	int passthrough;
	char *spool_dir;
	unsigned events;
	int events_set;			/* events= seen: later ones add */
	char *flag_events, *flag_spool, *flag_metrics;
	struct metrics metrics;		/* metrics = FILE, metrics_interval; -M FILE */
	unsigned long queue_max;
	double backoff_max, drain_seconds;
	char *dead_path;
	struct spool *sp;
	int use_spool;
	int spool_full;			/* new events are held in memory only */
	int full_said;
	struct sink_item *held, *held_tail;	/* those, oldest first */
	size_t nheld;
	struct buf batch;		/* items of the spool's batch kept in memory */
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
	unsigned long long n_ignored, n_damaged;
	unsigned long long n_dropped_held;	/* of n_dropped, past a full spool and queue_max */
	unsigned long long n_lost;		/* not delivered at exit, kept nowhere */
	double last_delivery;			/* wall clock; the start until the first */
	int exit_status;
};

/* ---- small parts ---- */

void sink_item_event(const struct sink_item *it, struct event *ev)
{
	unsigned escaped;
	tsv_scan_event(it->line, it->len, ev, &escaped, NULL, NULL);
}

static double jitter(struct sink *s)
{
	/* xorshift64: good enough to spread retries, no shared state */
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return (double)(s->rng >> 11) / (double)(1ULL << 53);
}

static double wall_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

static void held_remove(struct sink *s, struct sink_item *it);

static void item_free(struct sink *s, struct sink_item *it)
{
	if (s->use_spool && !it->seg)
		held_remove(s, it);
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

/* ---- the spool's side: what is on disk, and what waits in memory while it is full ---- */

/* An event spooled and kept in memory too. */
static void enqueue_spooled(struct sink *s, struct sink_item *it, struct spool_ref ref)
{
	it->seg = ref.seg;
	it->rec = ref.seq;
	buf_add(&s->batch, &it, sizeof it);
	enqueue(s, it);
}

static void held_append(struct sink *s, struct sink_item *it)
{
	it->hnext = NULL;
	it->hprev = s->held_tail;
	if (s->held_tail)
		s->held_tail->hnext = it;
	else
		s->held = it;
	s->held_tail = it;
	s->nheld++;
}

static void held_remove(struct sink *s, struct sink_item *it)
{
	if (it->hprev)
		it->hprev->hnext = it->hnext;
	else
		s->held = it->hnext;
	if (it->hnext)
		it->hnext->hprev = it->hprev;
	else
		s->held_tail = it->hprev;
	s->nheld--;
}

/* Past both limits (the spool full, queue_max events held): the oldest held event not in
 * delivery goes. */
static void drop_oldest_held(struct sink *s)
{
	struct sink_item *it = s->held;
	while (it && it->taken)
		it = it->hnext;
	if (!it)
		return;
	lane_remove(&s->lanes[it->lane], it);
	s->nqueued--;
	item_free(s, it);
	if (!s->n_dropped)
		warnx("spool %s full and %lu events held in memory (queue_max): dropping the oldest",
		      spool_dir(s->sp), s->queue_max);
	s->n_dropped++;
	s->n_dropped_held++;
}

/* An event the spool could not take waits in memory only. */
static void hold(struct sink *s, struct sink_item *it)
{
	if (s->nheld >= s->queue_max)
		drop_oldest_held(s);
	it->seg = NULL;
	held_append(s, it);
	enqueue(s, it);
}

/* Said once until it has room again (retries that fail say nothing). */
static void spool_is_full(struct sink *s)
{
	s->spool_full = 1;
	if (s->full_said)
		return;
	s->full_said = 1;
	warnx("spool %s full (%llu bytes): %llu events wait in it, %zu in memory only; new ones "
	      "wait in memory (up to queue_max, %lu) until it has room", spool_dir(s->sp),
	      spool_bytes(s->sp), spool_pending(s->sp), s->nheld, s->queue_max);
}

/* A failed flush gives back its batch: what was kept in memory is held now, the rest is
 * made again from the records. The batch's items are in s->batch, in the records' order. */
struct take_back {
	struct sink *s;
	size_t i, n;
};

static void take_back(void *ctx, const char *line, size_t n, struct spool_ref ref)
{
	struct take_back *tb = ctx;
	struct sink *s = tb->s;
	struct sink_item **items = (struct sink_item **)s->batch.p;
	if (tb->i < tb->n && items[tb->i]->seg == ref.seg && items[tb->i]->rec == ref.seq) {
		struct sink_item *it = items[tb->i++];
		it->seg = NULL;
		if (s->nheld >= s->queue_max)
			drop_oldest_held(s);
		held_append(s, it);
		return;
	}
	int event;
	if (sink_check_line(line, n, &event))
		return;		/* cannot be: it was checked on the way in */
	hold(s, item_new(s, line, n, event));
}

static void spool_write(struct sink *s)
{
	if (spool_flush(s->sp) < 0) {
		struct take_back tb = { s, 0, s->batch.n / sizeof(struct sink_item *) };
		spool_unflushed(s->sp, take_back, &tb);
		spool_is_full(s);
	}
	buf_reset(&s->batch);
}

/* The spool has room again: what waits in memory goes to it, oldest first. */
static void spool_retry(struct sink *s)
{
	if (!s->spool_full || !spool_room(s->sp, s->now))
		return;
	s->spool_full = 0;
	size_t moved = 0;
	for (struct sink_item *it = s->held, *next; it; it = next) {
		next = it->hnext;
		if (it->taken)
			continue;
		int mem = spool_caught_up(s->sp);
		struct spool_ref ref;
		if (spool_add(s->sp, it->line, it->len, mem, &ref) < 0) {
			spool_is_full(s);
			break;
		}
		moved++;
		held_remove(s, it);
		if (mem) {
			it->seg = ref.seg;
			it->rec = ref.seq;
			buf_add(&s->batch, &it, sizeof it);
		} else {	/* handed back from the disk in its turn */
			lane_remove(&s->lanes[it->lane], it);
			s->nqueued--;
			it->seg = ref.seg;	/* not held: item_free must not unlink it again */
			item_free(s, it);
		}
	}
	spool_write(s);
	if (!s->spool_full) {
		warnx("spool %s has room again: %zu events held in memory written to it",
		      spool_dir(s->sp), moved);
		s->full_said = 0;
	}
}

/* Loads events waiting on disk into memory while there is room, in order. */
static void spool_load(struct sink *s)
{
	const char *line;
	size_t n;
	struct spool_ref ref;
	while (s->nmem - s->nheld < s->queue_max && spool_next(s->sp, &line, &n, &ref)) {
		int event;
		const char *bad = sink_check_line(line, n, &event);
		if (bad || !(s->events & (1u << event))) {
			/* not an event (a line of the previous spool format), or spooled when
			 * `events` chose it and no longer chosen: acknowledged so the segment can go */
			if (bad)
				warnx("spool %s: record %" PRIu64 ": %s; skipped", spool_dir(s->sp),
				      ref.seq, bad);
			else
				s->n_ignored++;
			spool_ack(s->sp, ref);
			continue;
		}
		struct sink_item *it = item_new(s, line, n, event);
		it->seg = ref.seg;
		it->rec = ref.seq;
		enqueue(s, it);
	}
}

/* Damaged bytes found in the spool: to the dead-letter file, escaped (one line). */
static void spool_damaged(void *ctx, const char *file, off_t off, const char *p, size_t n,
			  unsigned long long records)
{
	struct sink *s = ctx;
	s->n_damaged += records;
	if (s->dead_fd < 0 || !n)
		return;
	char stamp[RFC3339_LEN + 1];
	struct timespec ts;
	struct timecache tc = { 0 };
	clock_gettime(CLOCK_REALTIME, &ts);
	tsv_format_time(&tc, stamp, &ts);
	buf_reset(&s->scratch);
	buf_printf(&s->scratch, "# %s %s: spool %s/%s offset %jd: %zu bytes damaged (%llu records), "
		   "escaped:\n", stamp, s->drv->name, s->spool_dir, file, (intmax_t)off, n, records);
	tsv_escape(&s->scratch, p, n);
	buf_addc(&s->scratch, '\n');
	if (buf_write_fd(&s->scratch, s->dead_fd) < 0)
		warnsys("dead_letter %s", s->dead_path);
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
	if (!s->spool_full) {
		int mem = spool_caught_up(s->sp) && s->nmem - s->nheld < s->queue_max;
		struct spool_ref ref;
		if (spool_add(s->sp, line, n, mem, &ref) == 0) {
			if (mem)
				enqueue_spooled(s, item_new(s, line, n, event), ref);
			return;
		}
		spool_is_full(s);
	}
	hold(s, item_new(s, line, n, event));
}

/* Why an event line cannot be delivered, or -1 with its event; *why says it in words (an
 * attribute's own reason for BAD_ATTR). */
static int check_event(const char *line, size_t n, struct tsv_tails *tails, int *event,
		       const char **why)
{
	struct event ev;
	unsigned escaped;
	int bad = -1;
	const char *attr_why;
	*why = NULL;
	size_t nfields = tsv_scan_event(line, n, &ev, &escaped, tails, &attr_why);
	if (nfields < NFIELDS)
		bad = BAD_COLUMNS;
	for (int i = 0; bad < 0 && i < NFIELDS; i++)	/* only columns with a backslash or control */
		if ((escaped >> i & 1) && tsv_check(ev.f[i].p, ev.f[i].n, NULL) < 0)
			bad = BAD_ESCAPE;
	if (bad < 0 && attr_why) {
		*why = attr_why;
		return BAD_ATTR;
	}
	if (bad < 0 && (*event = tsv_event_index(ev.f[F_EVENT].p, ev.f[F_EVENT].n)) < 0)
		bad = BAD_EVENT;
	if (bad >= 0)
		*why = bad_what[bad];
	return bad;
}

const char *sink_check_line(const char *line, size_t n, int *event)
{
	const char *why;
	check_event(line, n, NULL, event, &why);
	return why;
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
	it->taken = 1;
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
	return s->use_spool ? (size_t)(spool_pending(s->sp) + s->nheld - s->inflight.n) : s->nqueued;
}
unsigned sink_events(const struct sink *s) { return s->events; }

void sink_set_default_events(struct sink *s, unsigned events)
{
	if (!s->events_set)
		s->events = events;
}

static void dead_letter(struct sink *s, const struct sink_item *it, const char *why)
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

void sink_dead_letter(struct sink *s, const struct sink_item *it, const char *why)
{
	dead_letter(s, it, why);
}

double sink_backoff(struct sink *s, unsigned attempts)
{
	double base = 1.0;
	for (unsigned i = 0; i < attempts && base < s->backoff_max; i++)
		base *= 2;
	if (base > s->backoff_max)
		base = s->backoff_max;
	return base / 2 + jitter(s) * base / 2;
}

int sink_ending(const struct sink *s)
{
	return s->stopping ? 2 : s->in.eof ? 1 : 0;
}

void sink_done(struct sink *s, struct sink_item *it, enum sink_result r, double delay,
	       const char *why)
{
	lane_remove(&s->inflight, it);
	it->taken = 0;
	if (r == SINK_RETRY) {
		s->n_retried++;
		if (delay < 0) {
			delay = sink_backoff(s, it->attempts);
			it->attempts++;
		}
		it->due = now_mono() + delay;
		lane_insert(&s->lanes[it->lane], it);
		s->nqueued++;
		return;
	}
	s->progress = s->now;
	if (r == SINK_OK) {
		s->n_delivered++;
		s->last_delivery = wall_clock();
	} else
		dead_letter(s, it, why);
	if (it->seg)
		spool_ack(s->sp, (struct spool_ref){ it->seg, it->rec });
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
		const char *why = metrics_conf_key(&s->metrics, key, value);
		return why != conf_unknown_key ? why : s->drv->conf_key(s->ctx, key, value);
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
	s->nlanes = 1;
	s->dead_fd = -1;
	s->in.stdin_flags = -1;
	metrics_init(&s->metrics, drv->name);
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
	case 'e': free(s->flag_events); s->flag_events = xstrdup(arg); return 1;	/* the last wins */
	case 'M': s->flag_metrics = xstrdup(arg); return 1;
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
	if (s->flag_metrics) {
		metrics_set_path(&s->metrics, s->flag_metrics);
		free(s->flag_metrics);
		s->flag_metrics = NULL;
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
		spool_write(s);
	if (s->out.n && buf_write_fd(&s->out, 1) < 0) {
		warnsys("write stdout");
		buf_reset(&s->out);
		s->exit_status = 1;
		s->stopping = 1;
	}
	if (s->in.lr.buf)
		lines_commit(&s->in.lr);	/* what was read is safe now */
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
	int event = -1, bad = s->in.lr.overlong ? BAD_LONG : check_event(line, n, &s->tails, &event, &why);
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
	/* A pipe kept open across restarts (by s6-fdholder, systemd, a FIFO's holder) keeps the
	 * bytes of lines until they are spooled: a kill between the two loses none. */
	if (s->use_spool && !in->is_file)
		lines_hold(&in->lr);
	return 1;
}

/* Without a spool (or with a full one), a regular file waits while the queue holds FILE_AHEAD
 * events (nothing is lost by waiting, and memory stays small); a pipe never waits. */
static int input_paused(struct sink *s)
{
	return (!s->use_spool || s->spool_full) && s->in.is_file &&
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
	/* With a spool, every line of a read is taken and spooled (flush_output) before the
	 * turn ends, and a read brings no more than the spool takes: what was read is on disk
	 * before anything else is done with it. */
	for (int i = 0; (i < LINES_PER_TURN || (s->use_spool && lines_buffered(&in->lr))) &&
			!in->eof && !input_paused(s); i++) {
		char *line;
		size_t n;
		if (s->use_spool)
			in->lr.read_max = spool_read_max(s->sp);
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
	if (s->use_spool)
		buf_printf(&b, " damaged=%llu held=%zu", s->n_damaged, s->nheld);
	if (s->drv->counters)
		s->drv->counters(s->ctx, &b);
	warnx("%s", buf_str(&b));
	buf_free(&b);
}

/* The counters and gauges for Prometheus (metrics.h), the driver's own after them. */
static void write_metrics(struct sink *s)
{
	struct metrics *m = &s->metrics;
	struct buf l = { 0 };
	metrics_begin(m);
	metrics_sample(m, "read", 1, "Event lines read.", NULL, (double)s->n_read);
	metrics_sample(m, "ignored", 1, "Events read and not chosen by events.", NULL,
		       (double)s->n_ignored);
	metrics_sample(m, "delivered", 1, "Events delivered (acknowledged).", NULL,
		       (double)s->n_delivered);
	metrics_sample(m, "retried", 1, "Deliveries failed and tried again later.", NULL,
		       (double)s->n_retried);
	const struct { const char *reason; unsigned long long n; } dropped[] = {
		{ "queue_full", s->n_dropped - s->n_dropped_held },
		{ "spool_full", s->n_dropped_held },
		{ "damaged_spool", s->n_damaged },
		{ "lost_at_exit", s->n_lost },
	};
	const char *help = "Events dropped, by reason (bad input lines by what is wrong).";
	for (size_t i = 0; i < sizeof dropped / sizeof *dropped; i++) {
		buf_reset(&l);
		metrics_label(&l, "reason", dropped[i].reason, strlen(dropped[i].reason));
		metrics_sample(m, "dropped", 1, help, buf_str(&l), (double)dropped[i].n);
	}
	for (int i = 0; i < NBAD; i++) {
		buf_reset(&l);
		metrics_label(&l, "reason", bad_label[i], strlen(bad_label[i]));
		metrics_sample(m, "dropped", 1, help, buf_str(&l), (double)s->n_bad[i]);
	}
	metrics_sample(m, "dead_lettered", 1, "Events the destination refused for good.", NULL,
		       (double)s->n_dead);
	metrics_sample(m, "queued", 0, "Events waiting to be delivered, in memory or spooled.",
		       NULL, (double)sink_queued(s));
	metrics_sample(m, "inflight", 0, "Events being delivered, not yet acknowledged.", NULL,
		       (double)s->inflight.n);
	if (s->use_spool) {
		metrics_sample(m, "spool_bytes", 0, "Bytes in the spool.", NULL,
			       (double)spool_bytes(s->sp));
		metrics_sample(m, "spool_events", 0, "Events in the spool not yet acknowledged.",
			       NULL, (double)spool_pending(s->sp));
		metrics_sample(m, "held", 0, "Events held in memory only, the spool full.", NULL,
			       (double)s->nheld);
	}
	metrics_sample(m, "last_delivery_timestamp_seconds", 0,
		       "When an event was last delivered (unix seconds; the start before the first).",
		       NULL, s->last_delivery);
	if (s->drv->metrics)
		s->drv->metrics(s->ctx, m);
	buf_free(&l);
	metrics_write(m, s->now);
}

static int queue_empty(struct sink *s)
{
	return !s->nqueued && !s->inflight.n && !(s->use_spool && !spool_caught_up(s->sp));
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
	double mwait = metrics_wait(&s->metrics, s->now);
	if (mwait >= 0 && (wait < 0 || mwait < wait))
		wait = mwait;
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
		if (spool_pending(s->sp))
			warnx("%llu events kept in spool %s for the next run", spool_pending(s->sp),
			      s->spool_dir);
		if (!s->nheld)
			return;
		warnx("%zu events held in memory while the spool was full not delivered (lost)",
		      s->nheld);
		s->n_lost = s->nheld;
		if (at_eof && !s->exit_status)
			s->exit_status = 1;
		return;
	}
	size_t lost = s->nqueued + s->inflight.n;
	if (!lost)
		return;
	warnx("%zu events not delivered (lost: no spool)", lost);
	s->n_lost = lost;
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
	buf_free(&s->batch);
	buf_free(&s->scratch);
	if (s->in.lr.buf)
		lines_free(&s->in.lr);
	free(s->spool_dir);
	free(s->dead_path);
	free(s->flag_metrics);
	metrics_free(&s->metrics);
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
		struct spool_conf sc = { .dir = s->spool_dir, .max = s->spool_max,
					 .sync = s->spool_sync, .damaged = spool_damaged, .ctx = s };
		s->sp = spool_open(&sc);
	}
	s->in.files = files;
	s->in.nfiles = nfiles;
	if (!input_open(s))
		s->in.eof = 1;
	s->now = s->progress = now_mono();
	s->last_delivery = wall_clock();
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
		if (s->use_spool) {
			spool_retry(s);
			spool_collect(s->sp);
		}
		if (metrics_due(&s->metrics, s->now))
			write_metrics(s);
	}
	s->stopping = 1;
	if (s->drv->stop)
		s->drv->stop(s->ctx);
	flush_output(s);
	report_left(s, at_eof && !sig_term);
	for (int i = 0; i < NBAD; i++)
		ratelimit_flush(&s->rl_bad[i], "bad-line diagnostics");
	ratelimit_flush(&s->rl_dead, "undeliverable-event diagnostics");
	summary(s, "exit: ");	/* always: what this run did, as every tool says at exit */
	if (s->metrics.path) {
		s->now = now_mono();
		write_metrics(s);
	}
	if (s->use_spool)
		spool_close(s->sp);
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
