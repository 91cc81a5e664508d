/* qsroute: decides which events (qspipe-events(5)) go on. Drops the events the rules exclude,
 * the repeated datagrams Sense sends for one task result and the `log` twin of a task result
 * (same exec_id), and what exceeds a rate limit per task or user; writes the rest unchanged,
 * attributes and all (but the values pseudonymize names). Windows are measured on the events'
 * own time column. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "diag.h"
#include "glob.h"
#include "lines.h"
#include "metrics.h"
#include "pseudo.h"
#include "sig.h"
#include "tsv.h"

static const char usage[] =
	"qsroute [-c FILE] [-M FILE] [-x USER]... [-X EVENT]... [-i EVENT]... [-A NAME=PATTERN]...\n"
	"        [-D SECONDS] [-L SECONDS]\n"
	"  -c FILE     the config file (default $QSPIPE_CONF), section [qsroute]\n"
	"  -M FILE     write the counters to FILE in Prometheus' text format (metrics =)\n"
	"  -x USER     drop user and log events of users matching this DIR\\id glob (repeatable)\n"
	"  -X EVENT    drop events of this name (repeatable)\n"
	"  -i EVENT    pass only events of the names given (repeatable)\n"
	"  -A NAME=PATTERN  drop events whose attribute NAME matches the glob (repeatable)\n"
	"  -D SECONDS  the de-duplication window (default 600; 0 off)\n"
	"  -L SECONDS  the rate-limit window (default 0: off)\n"
	"  -V          print the version; --help this text";

#define USER_EVENTS 0x00fu
#define TASK_EVENTS 0x0f0u
#define MAX_WINDOW 31536000.0	/* a year */
#define MAX_KEYS 50000000ul

/* The patterns for one attribute's value (exclude_attr = NAME=PATTERN). */
struct attr_rule {
	char name[TSV_ATTR_NAME_MAX + 1];
	size_t n;
	struct glob_list values;
};

/* What the config file and the flags ask for; replaced whole on reload. */
struct rules {
	struct glob_list user, host, app, task;
	struct attr_rule *attr;
	size_t nattr;
	unsigned exclude_events, include_events;	/* include: an allow-list when not 0 */
	unsigned rate_events;
	int rate_events_set;	/* the file named them: the default is replaced, not added to */
	double dedup_seconds, rate_seconds;
	int dedup_log;		/* drop a log event whose exec_id is a task result's in the window */
	unsigned long max_keys;
	/* pseudonymize: the columns (bit 1 << column) and attributes whose values go out as
	 * keyed pseudonyms, under the key of pseudonym_key_file */
	unsigned pseudo_cols;
	char (*pseudo_attr)[TSV_ATTR_NAME_MAX + 1];
	size_t npseudo_attr;
	char *pseudo_key_file;
	struct pseudo *pseudo;
	struct metrics metrics;	/* metrics = FILE, metrics_interval */
	char why[160];		/* the reason for the last complaint */
};

/* The command line, applied again after every reload. */
struct flags {
	const char *conf, *metrics;
	char **users, **excluded, **included, **attrs;
	size_t nusers, nexcluded, nincluded, nattrs;
	double dedup_seconds, rate_seconds;
	int dedup_set, rate_set;
};

/* Windows: a fixed-size table of 64-bit key hashes, with the least recently used key given up
 * when it is full. Dedup and rate-limit keys share it; their hashes start from different seeds. */
#define NIL UINT32_MAX
struct key {
	uint64_t hash;
	double last;		/* when its window last opened (dedup or rate limit) */
	uint32_t suppressed;	/* events held back by the rate limit since then */
	uint32_t chain;		/* next key in the same bucket */
	uint32_t newer, older;	/* the LRU list */
};

struct keytab {
	struct key *k;
	uint32_t *bucket;
	uint32_t mask, used, max, newest, oldest;
};

struct counters {
	unsigned long read, passed, user, event, host, app, task, attr, dedup, tasklog, ratelimit;
	unsigned long malformed;
	unsigned long pseudonym;	/* dropped: a pseudonym could not be made */
};

/* The event being routed: its columns and attributes, which of them hold escapes (bit 1 <<
 * column, 1 << NFIELDS for the attributes), and the index of its name in tsv_event_names (-1
 * for a name qspipe-events(5) does not have). */
struct current {
	struct event ev;
	unsigned escaped;
	int index;
};

struct route {
	struct rules rules;
	struct flags flags;
	struct tsv_tails tails;	/* attribute tails seen, to check the next ones quickly */
	struct keytab keys;
	struct counters count;
	struct ratelimit rl_columns, rl_escape, rl_attr, rl_overlong, rl_pseudo;
	struct buf out, subject;
	struct lines lr;
};

/* ---- configuration ---- */

struct pattern_target {
	struct rules *rules;
	struct glob_list *list;
};

static const char *add_pattern(void *ctx, const char *word, size_t n)
{
	struct pattern_target *t = ctx;
	if (glob_list_add(t->list, word, n, t->rules->why, sizeof t->rules->why) < 0)
		return t->rules->why;
	return NULL;
}

static const char *add_patterns(struct rules *r, struct glob_list *list, const char *value)
{
	struct pattern_target t = { r, list };
	return conf_words(value, add_pattern, &t);
}

struct event_target {
	struct rules *rules;
	unsigned *mask;
};

static const char *add_event(void *ctx, const char *word, size_t n)
{
	struct event_target *t = ctx;
	int i = tsv_event_index(word, n);
	if (i < 0) {
		snprintf(t->rules->why, sizeof t->rules->why, "unknown event name '%.*s'",
			 (int)(n > 40 ? 40 : n), word);
		return t->rules->why;
	}
	*t->mask |= 1u << i;
	return NULL;
}

static const char *add_events(struct rules *r, unsigned *mask, const char *value)
{
	struct event_target t = { r, mask };
	return conf_words(value, add_event, &t);
}

/* NAME=PATTERN: the pattern joins NAME's rule (made on its first pattern). */
static const char *add_attr_pattern(void *ctx, const char *word, size_t n)
{
	struct rules *r = ctx;
	const char *eq = memchr(word, '=', n);
	size_t len = eq ? (size_t)(eq - word) : 0;
	/* the name as an attribute with an empty value, checked by tsv's own rules */
	if (!eq || tsv_check_attrs(word, len + 1)) {
		snprintf(r->why, sizeof r->why, "'%.*s': not NAME=PATTERN with an attribute name",
			 (int)(n > 60 ? 60 : n), word);
		return r->why;
	}
	size_t i = 0;
	while (i < r->nattr && !(r->attr[i].n == len && !memcmp(r->attr[i].name, word, len)))
		i++;
	if (i == r->nattr) {
		struct attr_rule *a = realloc(r->attr, (r->nattr + 1) * sizeof *a);
		if (!a)
			die(1, "exclude_attr: out of memory");
		r->attr = a;
		a[i] = (struct attr_rule){ .n = len };
		memcpy(a[i].name, word, len);
		r->nattr++;
	}
	if (glob_list_add(&r->attr[i].values, eq + 1, n - len - 1, r->why, sizeof r->why) < 0)
		return r->why;
	return NULL;
}

/* A column or attribute to pseudonymize: not time or event, which the format needs. */
static const char *add_pseudo_name(void *ctx, const char *word, size_t n)
{
	struct rules *r = ctx;
	int col = tsv_field_index(word, n);
	if (col == F_TIME || col == F_EVENT) {
		snprintf(r->why, sizeof r->why, "'%.*s' cannot be pseudonymized (the format needs it)",
			 (int)n, word);
		return r->why;
	}
	if (col >= 0) {
		r->pseudo_cols |= 1u << col;
		return NULL;
	}
	char attr[TSV_ATTR_NAME_MAX + 2];
	if (n > TSV_ATTR_NAME_MAX || (memcpy(attr, word, n), attr[n] = '=',
				      tsv_check_attrs(attr, n + 1))) {
		snprintf(r->why, sizeof r->why, "'%.*s': neither a column nor an attribute name",
			 (int)(n > 60 ? 60 : n), word);
		return r->why;
	}
	for (size_t i = 0; i < r->npseudo_attr; i++)
		if (strlen(r->pseudo_attr[i]) == n && !memcmp(r->pseudo_attr[i], word, n))
			return NULL;
	void *a = realloc(r->pseudo_attr, (r->npseudo_attr + 1) * sizeof *r->pseudo_attr);
	if (!a)
		die(1, "pseudonymize: out of memory");
	r->pseudo_attr = a;
	memcpy(r->pseudo_attr[r->npseudo_attr], word, n);
	r->pseudo_attr[r->npseudo_attr++][n] = 0;
	return NULL;
}

static const char *seconds(const char *value, double *out)
{
	return conf_seconds(value, MAX_WINDOW, out) ? "not a number of seconds from 0 to 31536000"
						     : NULL;
}

static const char *on_key(void *tool, const char *key, const char *value)
{
	struct rules *r = tool;
	const char *why = metrics_conf_key(&r->metrics, key, value);
	if (why != conf_unknown_key)
		return why;
	if (!strcmp(key, "exclude_user"))
		return add_patterns(r, &r->user, value);
	if (!strcmp(key, "exclude_host"))
		return add_patterns(r, &r->host, value);
	if (!strcmp(key, "exclude_app"))
		return add_patterns(r, &r->app, value);
	if (!strcmp(key, "exclude_task"))
		return add_patterns(r, &r->task, value);
	if (!strcmp(key, "exclude_event"))
		return add_events(r, &r->exclude_events, value);
	if (!strcmp(key, "exclude_attr"))
		return conf_words(value, add_attr_pattern, r);
	if (!strcmp(key, "include_event"))
		return add_events(r, &r->include_events, value);
	if (!strcmp(key, "rate_limit_events")) {
		if (!r->rate_events_set)
			r->rate_events = 0;
		r->rate_events_set = 1;
		return add_events(r, &r->rate_events, value);
	}
	if (!strcmp(key, "dedup_seconds"))
		return seconds(value, &r->dedup_seconds);
	if (!strcmp(key, "dedup_log"))
		return conf_bool(value, &r->dedup_log) ? "not yes or no" : NULL;
	if (!strcmp(key, "rate_limit_seconds"))
		return seconds(value, &r->rate_seconds);
	if (!strcmp(key, "pseudonymize"))
		return conf_words(value, add_pseudo_name, r);
	if (!strcmp(key, "pseudonym_key_file")) {
		free(r->pseudo_key_file);
		r->pseudo_key_file = xstrdup(value);
		return NULL;
	}
	if (!strcmp(key, "max_keys"))
		return conf_ulong(value, 1, MAX_KEYS, &r->max_keys) ?
			"not a whole number from 1 to 50000000" : NULL;
	return conf_unknown_key;
}

static void rules_free(struct rules *r)
{
	glob_list_free(&r->user);
	glob_list_free(&r->host);
	glob_list_free(&r->app);
	glob_list_free(&r->task);
	for (size_t i = 0; i < r->nattr; i++)
		glob_list_free(&r->attr[i].values);
	free(r->attr);
	free(r->pseudo_attr);
	free(r->pseudo_key_file);
	pseudo_free(r->pseudo);
	metrics_free(&r->metrics);
}

/* The key for pseudonymize: the first line of pseudonym_key_file (warned about when others may
 * read it). 0, or -1 after saying why. */
static int pseudo_load(struct rules *r)
{
	if (!r->pseudo_cols && !r->npseudo_attr)
		return 0;
	if (!r->pseudo_key_file) {
		warnx("pseudonymize needs pseudonym_key_file (the key: e.g. openssl rand -hex 32)");
		return -1;
	}
	struct buf key = { 0 };
	char why[128];
	if (conf_read_secret(r->pseudo_key_file, &key) < 0) {
		warnsys("pseudonym_key_file %s", r->pseudo_key_file);
		buf_free(&key);
		return -1;
	}
	r->pseudo = pseudo_new(key.p, key.n, why, sizeof why);
	if (key.p)	/* an empty file leaves no buffer */
		memset(key.p, 0, key.cap);	/* no copy of the key lingers in freed memory */
	buf_free(&key);
	if (!r->pseudo) {
		warnx("pseudonym_key_file %s: %s", r->pseudo_key_file, why);
		return -1;
	}
	return 0;
}

/* Flags add to the file's lists and replace its numbers. NULL, or what is wrong. */
static const char *apply_flags(struct rules *r, const struct flags *fl)
{
	for (size_t i = 0; i < fl->nusers; i++)
		if (glob_list_add(&r->user, fl->users[i], strlen(fl->users[i]), r->why,
				  sizeof r->why) < 0)
			return r->why;
	for (size_t i = 0; i < fl->nexcluded; i++)
		if (add_event(&(struct event_target){ r, &r->exclude_events }, fl->excluded[i],
			      strlen(fl->excluded[i])))
			return r->why;
	for (size_t i = 0; i < fl->nincluded; i++)
		if (add_event(&(struct event_target){ r, &r->include_events }, fl->included[i],
			      strlen(fl->included[i])))
			return r->why;
	for (size_t i = 0; i < fl->nattrs; i++)
		if (add_attr_pattern(r, fl->attrs[i], strlen(fl->attrs[i])))
			return r->why;
	if (fl->metrics)
		metrics_set_path(&r->metrics, fl->metrics);
	if (fl->dedup_set)
		r->dedup_seconds = fl->dedup_seconds;
	if (fl->rate_set)
		r->rate_seconds = fl->rate_seconds;
	return NULL;
}

/* Builds the rules from the defaults, the file and the flags. 0 ok; -1 after saying why. */
static int rules_load(struct rules *r, const struct flags *fl)
{
	*r = (struct rules){ .rate_events = TASK_EVENTS, .dedup_seconds = 600, .dedup_log = 1,
			     .max_keys = 100000 };
	metrics_init(&r->metrics, "qsroute");
	if (conf_load(conf_path(fl->conf), "qsroute", on_key, r) < 0) {
		rules_free(r);
		return -1;
	}
	const char *why = apply_flags(r, fl);
	if (why) {
		warnx("command line: %s", why);
		rules_free(r);
		return -1;
	}
	if (pseudo_load(r) < 0) {
		rules_free(r);
		return -1;
	}
	return 0;
}

/* ---- the window table ---- */

/* 0, or -1 (and a warning) when out of memory: a reload keeps the old table then. */
static int keytab_init(struct keytab *kt, unsigned long max)
{
	uint32_t nbuckets = 1;
	while (nbuckets < max)
		nbuckets <<= 1;
	*kt = (struct keytab){ .mask = nbuckets - 1, .max = (uint32_t)max,
			       .newest = NIL, .oldest = NIL };
	kt->k = malloc(max * sizeof *kt->k);
	kt->bucket = malloc(nbuckets * sizeof *kt->bucket);
	if (!kt->k || !kt->bucket) {
		free(kt->k);
		free(kt->bucket);
		warnx("allocating a table of %lu keys: out of memory", max);
		return -1;
	}
	memset(kt->bucket, 0xff, nbuckets * sizeof *kt->bucket);
	return 0;
}

static void keytab_free(struct keytab *kt)
{
	free(kt->k);
	free(kt->bucket);
}

static void lru_unlink(struct keytab *kt, uint32_t i)
{
	struct key *k = &kt->k[i];
	if (k->newer != NIL)
		kt->k[k->newer].older = k->older;
	else
		kt->newest = k->older;
	if (k->older != NIL)
		kt->k[k->older].newer = k->newer;
	else
		kt->oldest = k->newer;
}

static void lru_push(struct keytab *kt, uint32_t i)
{
	kt->k[i].newer = NIL;
	kt->k[i].older = kt->newest;
	if (kt->newest != NIL)
		kt->k[kt->newest].newer = i;
	else
		kt->oldest = i;
	kt->newest = i;
}

/* Takes the least recently used key out of its bucket, for reuse. */
static uint32_t evict_oldest(struct keytab *kt)
{
	uint32_t i = kt->oldest, *link = &kt->bucket[kt->k[i].hash & kt->mask];
	while (*link != i)
		link = &kt->k[*link].chain;
	*link = kt->k[i].chain;
	lru_unlink(kt, i);
	return i;
}

/* The key with this hash, or NULL; nothing added, nothing made more recent. */
static const struct key *keytab_find(const struct keytab *kt, uint64_t hash)
{
	for (uint32_t i = kt->bucket[hash & kt->mask]; i != NIL; i = kt->k[i].chain)
		if (kt->k[i].hash == hash)
			return &kt->k[i];
	return NULL;
}

/* The key with this hash, made the most recently used; *fresh when it was not there. */
static struct key *keytab_get(struct keytab *kt, uint64_t hash, int *fresh)
{
	uint32_t *head = &kt->bucket[hash & kt->mask], i;
	for (i = *head; i != NIL; i = kt->k[i].chain) {
		if (kt->k[i].hash == hash) {
			lru_unlink(kt, i);
			lru_push(kt, i);
			*fresh = 0;
			return &kt->k[i];
		}
	}
	i = kt->used < kt->max ? kt->used++ : evict_oldest(kt);
	kt->k[i] = (struct key){ .hash = hash, .chain = *head };
	*head = i;
	lru_push(kt, i);
	*fresh = 1;
	return &kt->k[i];
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93u;
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93u;
	return h ^ h >> 32;
}

/* Adds a column's bytes (escaped: the escapes are one-to-one) and its length to a key hash. */
static uint64_t hash_add(uint64_t h, struct slice s)
{
	const unsigned char *p = (const unsigned char *)s.p;
	size_t n = s.n;
	h = mix(h ^ n);
	for (; n >= 8; p += 8, n -= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = mix(h ^ w);
	}
	uint64_t w = 0;
	memcpy(&w, p, n);
	return mix(h ^ w);
}

#define SEED_DEDUP 0x6a09e667f3bcc908u
#define SEED_RATE 0xbb67ae8584caa73bu

/* A task result's identity: its exec_id, else what tells one failure from another. */
static uint64_t dedup_key(const struct event *ev)
{
	uint64_t h = SEED_DEDUP;
	if (ev->f[F_EXEC_ID].n)
		return hash_add(h, ev->f[F_EXEC_ID]);
	static const int cols[] = { F_HOST, F_EVENT, F_TASK_ID, F_MESSAGE };
	for (size_t i = 0; i < sizeof cols / sizeof *cols; i++)
		h = hash_add(h, ev->f[cols[i]]);
	return h;
}

/* What one rate limit counts: the event name and its task, user, or host and logger. */
static uint64_t rate_key(const struct event *ev, int index)
{
	static const int task[] = { F_TASK_ID, -1 }, task_named[] = { F_HOST, F_TASK_NAME, -1 },
			 user[] = { F_USER_DIR, F_USER_ID, -1 },
			 log[] = { F_HOST, F_LEVEL, F_LOGGER, -1 }, other[] = { F_HOST, -1 };
	const int *cols = other;
	if ((1u << index) & TASK_EVENTS)
		cols = ev->f[F_TASK_ID].n ? task : task_named;
	else if ((1u << index) & USER_EVENTS)
		cols = user;
	else if (index == EV_LOG)
		cols = log;
	uint64_t h = hash_add(SEED_RATE, ev->f[F_EVENT]);
	for (; *cols >= 0; cols++)
		h = hash_add(h, ev->f[*cols]);
	return h;
}

/* ---- routing one line ---- */

/* The event's time column in seconds; the wall clock when the column is not a time. */
static double event_time(const struct event *ev)
{
	struct timespec ts;
	if (tsv_parse_time(ev->f[F_TIME].p, ev->f[F_TIME].n, &ts) < 0)
		clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void write_metrics(struct route *rt, double now)
{
	struct metrics *m = &rt->rules.metrics;
	const struct counters *c = &rt->count;
	const struct { const char *reason; unsigned long n; } dropped[] = {
		{ "user", c->user }, { "event", c->event }, { "host", c->host }, { "app", c->app },
		{ "task", c->task }, { "attr", c->attr }, { "dedup", c->dedup },
		{ "tasklog", c->tasklog }, { "ratelimit", c->ratelimit }, { "malformed", c->malformed },
		{ "pseudonym", c->pseudonym },
	};
	struct buf l = { 0 };
	metrics_begin(m);
	metrics_sample(m, "read", 1, "Lines read.", NULL, (double)c->read);
	metrics_sample(m, "passed", 1, "Events written on.", NULL, (double)c->passed);
	for (size_t i = 0; i < sizeof dropped / sizeof *dropped; i++) {
		buf_reset(&l);
		metrics_label(&l, "reason", dropped[i].reason, strlen(dropped[i].reason));
		metrics_sample(m, "dropped", 1, "Events dropped, by the rule or reason.", buf_str(&l),
			       (double)dropped[i].n);
	}
	metrics_sample(m, "keys", 0, "Keys the windows remember now.", NULL, (double)rt->keys.used);
	buf_free(&l);
	metrics_write(m, now);
}

/* Before every read that may block: the batch's output, and the metrics when due. */
static void flush_out(void *ctx)
{
	struct route *rt = ctx;
	if (buf_write_fd(&rt->out, 1) < 0)
		diesys(1, "write stdout");
	if (rt->rules.metrics.path) {
		double now = now_mono();
		if (metrics_due(&rt->rules.metrics, now))
			write_metrics(rt, now);
	}
}

static void report(struct route *rt, struct ratelimit *rl, const char *what, const char *reason,
		   const char *line, size_t n)
{
	if (!ratelimit_allow(rl, 10, what))
		return;
	buf_reset(&rt->subject);
	tsv_escape(&rt->subject, line, n > 80 ? 80 : n);
	warnx("line %lu: %s: %s", rt->lr.lineno, reason, buf_str(&rt->subject));
}

/* Splits and checks an event line; 0 ok, -1 after reporting it. */
static int parse_line(struct route *rt, const char *line, size_t n, struct event *ev,
		      unsigned *escaped)
{
	char reason[80];
	const char *why;
	size_t nfields;
	if (rt->lr.overlong) {
		snprintf(reason, sizeof reason, "line longer than %d bytes", LINES_MAX);
		report(rt, &rt->rl_overlong, "overlong-line diagnostics", reason, line, n);
		return -1;
	}
	nfields = tsv_scan_event(line, n, ev, escaped, &rt->tails, &why);
	if (nfields < NFIELDS) {
		snprintf(reason, sizeof reason, "%zu columns, not %d", nfields, NFIELDS);
		report(rt, &rt->rl_columns, "column-count diagnostics", reason, line, n);
		return -1;
	}
	for (int i = 0; i < NFIELDS; i++) {
		if ((*escaped >> i & 1) && tsv_check(ev->f[i].p, ev->f[i].n, NULL) < 0) {
			snprintf(reason, sizeof reason, "malformed escape or control byte in %s",
				 tsv_field_names[i]);
			report(rt, &rt->rl_escape, "escape diagnostics", reason, line, n);
			return -1;
		}
	}
	if (why) {
		report(rt, &rt->rl_attr, "attribute diagnostics", why, line, n);
		return -1;
	}
	return 0;
}

/* The column as a glob subject, decoded into rt->subject when it holds escapes. */
static void column_subject(struct route *rt, const struct current *cur, int col,
			   struct glob_subject *s)
{
	struct slice f = cur->ev.f[col];
	if (!(cur->escaped >> col & 1)) {
		glob_subject(s, f.p, f.n);
		return;
	}
	buf_reset(&rt->subject);
	tsv_unescape(&rt->subject, f.p, f.n, NULL);
	glob_subject(s, rt->subject.p, rt->subject.n);
}

static int matches_column(struct route *rt, const struct glob_list *l, const struct current *cur,
			  int col)
{
	struct glob_subject s;
	if (!l->n)
		return 0;
	column_subject(rt, cur, col, &s);
	return glob_list_match(l, &s);
}

/* user_dir\user_id, decoded. */
static int matches_user(struct route *rt, const struct current *cur)
{
	struct glob_subject s;
	const struct slice *f = cur->ev.f;
	if (!rt->rules.user.n)
		return 0;
	buf_reset(&rt->subject);
	tsv_unescape(&rt->subject, f[F_USER_DIR].p, f[F_USER_DIR].n, NULL);
	buf_addc(&rt->subject, '\\');
	tsv_unescape(&rt->subject, f[F_USER_ID].p, f[F_USER_ID].n, NULL);
	glob_subject(&s, rt->subject.p, rt->subject.n);
	return glob_list_match(&rt->rules.user, &s);
}

/* Whether an attribute the event has matches its exclude_attr patterns; an event without the
 * attribute is never dropped by them. */
static int matches_attr(struct route *rt, const struct current *cur)
{
	const struct rules *r = &rt->rules;
	struct slice value;
	if (!r->nattr || !cur->ev.attrs.p)
		return 0;
	for (size_t i = 0; i < r->nattr; i++) {
		if (!tsv_attr_find(&cur->ev, r->attr[i].name, r->attr[i].n, &value))
			continue;
		struct glob_subject s;
		if (cur->escaped >> NFIELDS & 1) {
			buf_reset(&rt->subject);
			tsv_unescape(&rt->subject, value.p, value.n, NULL);
			value = (struct slice){ rt->subject.p, rt->subject.n };
		}
		glob_subject(&s, value.p, value.n);
		if (glob_list_match(&r->attr[i].values, &s))
			return 1;
	}
	return 0;
}

/* The counter of the exclusion rule that drops the event, or NULL. In the order the man page
 * gives: event name, user (not for task results: their user is the account that ran the task),
 * host, app, task, attribute. */
static unsigned long *excluded_by(struct route *rt, const struct current *cur)
{
	const struct rules *r = &rt->rules;
	unsigned bit = cur->index < 0 ? 0 : 1u << cur->index;
	if ((bit & r->exclude_events) || (r->include_events && !(bit & r->include_events)))
		return &rt->count.event;
	if (!(bit & TASK_EVENTS) && matches_user(rt, cur))
		return &rt->count.user;
	if (matches_column(rt, &r->host, cur, F_HOST))
		return &rt->count.host;
	if (matches_column(rt, &r->app, cur, F_APP_NAME) || matches_column(rt, &r->app, cur, F_APP_ID))
		return &rt->count.app;
	if (matches_column(rt, &r->task, cur, F_TASK_NAME))
		return &rt->count.task;
	if (matches_attr(rt, cur))
		return &rt->count.attr;
	return NULL;
}

/* Whether key's window (opened by the last event let through) still runs at time t. */
static int in_window(const struct key *k, int fresh, double t, double window)
{
	return !fresh && t - k->last < window;
}

/* The counter of the window that holds the event back (dedup, then rate limit), or NULL with
 * *suppressed set to what the rate limit held back before it. */
static unsigned long *held_back(struct route *rt, const struct current *cur, uint32_t *suppressed)
{
	const struct rules *r = &rt->rules;
	unsigned bit = cur->index < 0 ? 0 : 1u << cur->index;
	/* The scheduler's warnings appender of older appender files also sends a failed reload's
	 * lines: a log event with the exec_id of a task result let through in the window is its
	 * twin. Looked up, never added: only task results open the window. */
	if (cur->index == EV_LOG && r->dedup_log && r->dedup_seconds > 0 &&
	    cur->ev.f[F_EXEC_ID].n) {
		const struct key *k = keytab_find(&rt->keys, dedup_key(&cur->ev));
		if (k && in_window(k, 0, event_time(&cur->ev), r->dedup_seconds))
			return &rt->count.tasklog;
	}
	int dedup = (bit & TASK_EVENTS) && r->dedup_seconds > 0;
	int limit = (bit & r->rate_events) && r->rate_seconds > 0;
	int fresh;
	struct key *k;
	*suppressed = 0;
	if (!dedup && !limit)
		return NULL;
	double t = event_time(&cur->ev);
	if (dedup) {
		k = keytab_get(&rt->keys, dedup_key(&cur->ev), &fresh);
		if (in_window(k, fresh, t, r->dedup_seconds))
			return &rt->count.dedup;
		k->last = t;
	}
	if (limit) {
		k = keytab_get(&rt->keys, rate_key(&cur->ev, cur->index), &fresh);
		if (in_window(k, fresh, t, r->rate_seconds)) {
			k->suppressed += k->suppressed < UINT32_MAX;
			return &rt->count.ratelimit;
		}
		*suppressed = k->suppressed;
		k->suppressed = 0;
		k->last = t;
	}
	return NULL;
}

/* Appends the pseudonym of an escaped value (empty stays empty: not known is not a name).
 * 0, or -1 when libcrypto failed. */
static int put_pseudonym(struct route *rt, struct slice v)
{
	if (!v.n)
		return 0;
	const char *s = v.p;
	size_t n = v.n;
	if (memchr(v.p, '\\', v.n)) {	/* the name itself, not one of its escaped forms */
		buf_reset(&rt->subject);
		if (tsv_unescape(&rt->subject, v.p, v.n, NULL) == 0)
			s = rt->subject.p, n = rt->subject.n;
	}
	char out[PSEUDO_LEN + 1];
	if (pseudo_make(rt->rules.pseudo, s, n, out) < 0)
		return -1;
	buf_add(&rt->out, out, PSEUDO_LEN);
	return 0;
}

static int pseudo_attr(const struct rules *r, struct slice name)
{
	for (size_t i = 0; i < r->npseudo_attr; i++)
		if (strlen(r->pseudo_attr[i]) == name.n && !memcmp(r->pseudo_attr[i], name.p, name.n))
			return 1;
	return 0;
}

/* The message with every DIR\id of the event's user replaced by its pseudonyms, when both
 * user_dir and user_id are pseudonymized: Sense writes "Start session for user LAB\alice". */
static int put_message(struct route *rt, const struct event *ev)
{
	struct slice m = ev->f[F_MESSAGE], dir = ev->f[F_USER_DIR], id = ev->f[F_USER_ID];
	unsigned both = 1u << F_USER_DIR | 1u << F_USER_ID;
	if ((rt->rules.pseudo_cols & both) != both || !dir.n || !id.n) {
		buf_add(&rt->out, m.p, m.n);
		return 0;
	}
	const char *p = m.p, *end = m.p + m.n;
	while (p < end) {
		const char *d = memmem(p, (size_t)(end - p), dir.p, dir.n);
		const char *after = d ? d + dir.n : NULL;
		if (!d || (size_t)(end - after) < 2 + id.n || memcmp(after, "\\\\", 2) ||
		    memcmp(after + 2, id.p, id.n)) {
			const char *upto = d ? d + 1 : end;
			buf_add(&rt->out, p, (size_t)(upto - p));
			p = upto;
			continue;
		}
		buf_add(&rt->out, p, (size_t)(d - p));
		if (put_pseudonym(rt, dir) < 0)
			return -1;
		buf_adds(&rt->out, "\\\\");
		if (put_pseudonym(rt, id) < 0)
			return -1;
		p = after + 2 + id.n;
	}
	return 0;
}

/* The line with the named columns and attributes as pseudonyms. 0, or -1 (nothing written)
 * when libcrypto failed: a clear name never goes out in place of its pseudonym. */
static int write_pseudonymized(struct route *rt, const struct event *ev, uint32_t suppressed)
{
	size_t start = rt->out.n;
	const struct rules *r = &rt->rules;
	int bad = 0;
	for (int i = 0; i < NFIELDS && !bad; i++) {
		if (i)
			buf_addc(&rt->out, '\t');
		if (r->pseudo_cols & 1u << i)
			bad = put_pseudonym(rt, ev->f[i]);
		else if (i == F_MESSAGE)
			bad = put_message(rt, ev);
		else
			buf_add(&rt->out, ev->f[i].p, ev->f[i].n);
		if (i == F_MESSAGE && suppressed)
			buf_printf(&rt->out, "%s[+%u suppressed]", ev->f[i].n ? " " : "", suppressed);
	}
	struct slice rest = ev->attrs, name, value;
	while (!bad && tsv_attr_next(&rest, &name, &value)) {
		buf_addc(&rt->out, '\t');
		buf_add(&rt->out, name.p, name.n);
		buf_addc(&rt->out, '=');
		if (pseudo_attr(r, name))
			bad = put_pseudonym(rt, value);
		else
			buf_add(&rt->out, value.p, value.n);
	}
	if (bad) {
		rt->out.n = start;
		return -1;
	}
	buf_addc(&rt->out, '\n');
	return 0;
}

static void write_event(struct route *rt, const char *line, size_t n, const struct event *ev,
			uint32_t suppressed)
{
	if (ev && rt->rules.pseudo) {
		if (write_pseudonymized(rt, ev, suppressed) < 0) {
			rt->count.passed--;
			rt->count.pseudonym++;
			if (ratelimit_allow(&rt->rl_pseudo, 1, "pseudonym failures"))
				warnx("an event dropped: its pseudonyms could not be made (out of memory?)");
		}
		return;
	}
	if (!suppressed) {
		buf_add(&rt->out, line, n);
		buf_addc(&rt->out, '\n');
		return;
	}
	/* The note needs no escaping: it holds no byte that qspipe-events(5) escapes. */
	const char *end = ev->f[F_MESSAGE].p + ev->f[F_MESSAGE].n;
	buf_add(&rt->out, line, (size_t)(end - line));
	buf_printf(&rt->out, "%s[+%u suppressed]", ev->f[F_MESSAGE].n ? " " : "", suppressed);
	buf_add(&rt->out, end, (size_t)(line + n - end));
	buf_addc(&rt->out, '\n');
}

static void route_line(struct route *rt, const char *line, size_t n)
{
	struct current cur;
	uint32_t suppressed;
	rt->count.read++;
	if (n && line[0] == '#' && !rt->lr.overlong) {
		rt->count.passed++;
		write_event(rt, line, n, NULL, 0);
		return;
	}
	if (parse_line(rt, line, n, &cur.ev, &cur.escaped) < 0) {
		rt->count.malformed++;
		return;
	}
	cur.index = tsv_event_index(cur.ev.f[F_EVENT].p, cur.ev.f[F_EVENT].n);
	unsigned long *rule = excluded_by(rt, &cur);
	if (!rule)
		rule = held_back(rt, &cur, &suppressed);
	if (rule) {
		++*rule;
		return;
	}
	rt->count.passed++;
	write_event(rt, line, n, &cur.ev, suppressed);
}

/* ---- signals and the main loop ---- */

static void print_counters(struct route *rt)
{
	const struct counters *c = &rt->count;
	ratelimit_flush(&rt->rl_columns, "column-count diagnostics");
	ratelimit_flush(&rt->rl_escape, "escape diagnostics");
	ratelimit_flush(&rt->rl_attr, "attribute diagnostics");
	ratelimit_flush(&rt->rl_overlong, "overlong-line diagnostics");
	warnx("read %lu, passed %lu, dropped: user %lu event %lu host %lu app %lu task %lu "
	      "attr %lu dedup %lu tasklog %lu ratelimit %lu malformed %lu",
	      c->read, c->passed, c->user, c->event, c->host, c->app, c->task, c->attr, c->dedup,
	      c->tasklog, c->ratelimit, c->malformed);
	if (rt->rules.pseudo)
		warnx("pseudonymized %lu events, dropped %lu whose pseudonyms could not be made",
		      c->passed, c->pseudonym);
}

/* New rules from the file; the old ones stay when it is wrong. The windows survive unless the
 * table's size changes. */
static void reload(struct route *rt)
{
	struct rules fresh;
	const char *path = conf_path(rt->flags.conf);
	if (rules_load(&fresh, &rt->flags) < 0) {
		warnx("reload: keeping the old rules");
		return;
	}
	if (fresh.max_keys != rt->rules.max_keys) {
		struct keytab keys;
		if (keytab_init(&keys, fresh.max_keys) < 0) {
			rules_free(&fresh);
			warnx("reload: keeping the old rules");
			return;
		}
		keytab_free(&rt->keys);
		rt->keys = keys;
	}
	rules_free(&rt->rules);
	rt->rules = fresh;
	if (rt->rules.metrics.path)
		sig_every(rt->rules.metrics.interval);
	warnx("reload: rules from %s", path ? path : "the command line only");
}

static void seconds_flag(char flag, double *out, int *set)
{
	const char *why = seconds(optarg, out);
	if (why)
		die(2, "-%c %s: %s", flag, optarg, why);
	*set = 1;
}

static void parse_flags(struct flags *fl, int argc, char **argv)
{
	int c;
	fl->users = calloc((size_t)argc, sizeof *fl->users);
	fl->excluded = calloc((size_t)argc, sizeof *fl->excluded);
	fl->included = calloc((size_t)argc, sizeof *fl->included);
	fl->attrs = calloc((size_t)argc, sizeof *fl->attrs);
	if (!fl->users || !fl->excluded || !fl->included || !fl->attrs)
		die(1, "parsing flags: out of memory");
	while ((c = getopt(argc, argv, "c:M:x:X:i:A:D:L:")) != -1) {
		switch (c) {
		case 'c': fl->conf = optarg; break;
		case 'M': fl->metrics = optarg; break;
		case 'x': fl->users[fl->nusers++] = optarg; break;
		case 'X': fl->excluded[fl->nexcluded++] = optarg; break;
		case 'i': fl->included[fl->nincluded++] = optarg; break;
		case 'A': fl->attrs[fl->nattrs++] = optarg; break;
		case 'D': seconds_flag('D', &fl->dedup_seconds, &fl->dedup_set); break;
		case 'L': seconds_flag('L', &fl->rate_seconds, &fl->rate_set); break;
		default: diag_usage(usage);
		}
	}
	if (optind != argc)
		diag_usage(usage);
}

int main(int argc, char **argv)
{
	static struct route rt;
	diag_init("qsroute");
	diag_std_flags(argc, argv, usage);
	parse_flags(&rt.flags, argc, argv);
	if (rules_load(&rt.rules, &rt.flags) < 0)
		return 2;
	if (keytab_init(&rt.keys, rt.rules.max_keys) < 0)
		exit(1);
	sig_setup();
	if (rt.rules.metrics.path)
		sig_every(rt.rules.metrics.interval);
	lines_init(&rt.lr, 0, flush_out, &rt);
	for (;;) {
		char *line;
		size_t n;
		if (sig_hup) {
			sig_hup = 0;
			reload(&rt);
		}
		if (sig_usr1) {
			sig_usr1 = 0;
			print_counters(&rt);
		}
		/* On SIGTERM, route what is already read, then stop. */
		if (sig_term && !lines_buffered(&rt.lr))
			break;
		int r = lines_next(&rt.lr, &line, &n);
		if (r == LINES_OK)
			route_line(&rt, line, n);
		else if (r == LINES_EOF)
			break;
		else if (errno != EINTR)
			diesys(1, "read stdin");
	}
	flush_out(&rt);
	print_counters(&rt);
	if (rt.rules.metrics.path)
		write_metrics(&rt, now_mono());
	lines_free(&rt.lr);
	keytab_free(&rt.keys);
	rules_free(&rt.rules);
	free(rt.flags.users);
	free(rt.flags.excluded);
	free(rt.flags.included);
	free(rt.flags.attrs);
	buf_free(&rt.out);
	buf_free(&rt.subject);
	return 0;
}
