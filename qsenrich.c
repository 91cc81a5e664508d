/* qsenrich: adds what the Qlik Sense repository (QRS API) knows to reload-task results: the
 * execution's status, node, times and history, the tail of its script log, the app's owner
 * (with an email address), stream, tags and custom properties (qspipe-events(5), enrichment
 * attributes). A filter: every event read is written, once. Events it does not enrich go out at
 * once; the ones it enriches go out when their lookups are done, or when wait_seconds have
 * passed, with what was learned and enrich_error saying what was not: so an enriched event may
 * follow events that came after it. Lookups run concurrently on one thread (xfer.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "diag.h"
#include "jsonr.h"
#include "lines.h"
#include "metrics.h"
#include "logtail.h"
#include "qrs.h"
#include "sig.h"
#include "tsv.h"
#include "xfer.h"

static const char usage[] =
	"qsenrich [-c FILE] [-M FILE] [-e EVENT]... [-w SECONDS]\n"
	"  -c FILE     the config file (else $QSPIPE_CONF); section [qsenrich], which needs qrs\n"
	"  -M FILE     write the counters to FILE in Prometheus' text format (metrics =)\n"
	"  -e EVENT    enrich this task result (default task_failed task_aborted)\n"
	"  -w SECONDS  how long an event may wait for its lookups (default 10)\n"
	"  -V          the version; --help this text";

#define DEFAULT_EVENTS (1u << EV_TASK_FAILED | 1u << EV_TASK_ABORTED)
#define TASK_EVENTS (1u << EV_TASK_FAILED | 1u << EV_TASK_ABORTED | 1u << EV_TASK_SUCCEEDED | \
		     1u << EV_TASK_DISTRIBUTED)
#define HELD_MAX 10000		/* events waiting for lookups, at most */
#define LOG_LINE_MAX 2000	/* bytes kept of one script log line */
#define JSON_MAX (4u << 20)	/* bytes of a QRS JSON answer */
#define ATTRS_BYTES_MAX (256u << 10)	/* what qsenrich adds to one line, escaped */
#define MATCH_SECONDS 300.0	/* an execution that stopped this near the event is its own */
#define CACHE_SLOTS 128

/* ---- configuration ---- */

struct config {
	char *qrs, *cert, *key, *ca, *qrs_user;
	struct buf key_password;	/* a secret: never printed */
	unsigned long head_lines, tail_lines, max_lookups;
	double wait_seconds, cache_seconds;
	unsigned events;
	int events_set;
	struct metrics metrics;		/* metrics = FILE, metrics_interval; -M FILE */
	char why[160];
};

struct flags {
	const char *conf, *metrics;
	char **events;
	size_t nevents;
	double wait;
	int wait_set;
};

static void config_free(struct config *c)
{
	free(c->qrs);
	free(c->cert);
	free(c->key);
	free(c->ca);
	free(c->qrs_user);
	if (c->key_password.p)
		memset(c->key_password.p, 0, c->key_password.cap);
	buf_free(&c->key_password);
	metrics_free(&c->metrics);
}

static const char *add_event(void *ctx, const char *word, size_t n)
{
	struct config *c = ctx;
	int i = tsv_event_index(word, n);
	if (i < 0 || !((1u << i) & TASK_EVENTS)) {
		snprintf(c->why, sizeof c->why, "'%.*s' is not a task result event",
			 (int)(n > 40 ? 40 : n), word);
		return c->why;
	}
	c->events |= 1u << i;
	return NULL;
}

static const char *set_string(char **dst, const char *value)
{
	free(*dst);
	*dst = xstrdup(value);
	return NULL;
}

static const char *on_key(void *tool, const char *key, const char *value)
{
	struct config *c = tool;
	const char *why = metrics_conf_key(&c->metrics, key, value);
	if (why != conf_unknown_key)
		return why;
	if (!strcmp(key, "qrs")) {
		if (strncmp(value, "https://", 8) || xfer_check_url(value))
			return "not an https:// URL (the QRS API: https://HOST:4242)";
		set_string(&c->qrs, value);
		size_t n = strlen(c->qrs);
		while (n > 8 && c->qrs[n - 1] == '/')
			c->qrs[--n] = '\0';
		return NULL;
	}
	if (!strcmp(key, "cert"))
		return set_string(&c->cert, value);
	if (!strcmp(key, "key"))
		return set_string(&c->key, value);
	if (!strcmp(key, "ca"))
		return set_string(&c->ca, value);
	if (!strcmp(key, "key_password") || !strcmp(key, "key_password_file"))
		return conf_secret(&c->key_password, value, key[12] == '_', c->why, sizeof c->why);
	if (!strcmp(key, "qrs_user")) {
		struct buf b = { 0 };
		const char *ok = qrs_user_header(value, &b);
		buf_free(&b);
		return ok ? set_string(&c->qrs_user, value) : "not DIRECTORY\\USERID";
	}
	if (!strcmp(key, "head_lines"))
		return conf_ulong(value, 0, 1000, &c->head_lines) ? "not a whole number from 0 to 1000"
								    : NULL;
	if (!strcmp(key, "tail_lines"))
		return conf_ulong(value, 0, 1000, &c->tail_lines) ? "not a whole number from 0 to 1000"
								    : NULL;
	if (!strcmp(key, "max_lookups"))
		return conf_ulong(value, 1, 1000, &c->max_lookups) ? "not a whole number from 1 to 1000"
								     : NULL;
	if (!strcmp(key, "wait_seconds"))
		return conf_seconds(value, 3600, &c->wait_seconds) || c->wait_seconds < 0.1
			       ? "not a number of seconds from 0.1 to 3600" : NULL;
	if (!strcmp(key, "cache_seconds"))
		return conf_seconds(value, 86400, &c->cache_seconds)
			       ? "not a number of seconds from 0 to 86400" : NULL;
	if (!strcmp(key, "events")) {
		if (!c->events_set)
			c->events = 0;
		c->events_set = 1;
		return conf_words(value, add_event, c);
	}
	return conf_unknown_key;
}

/* Defaults, the file, the flags; 0 ok, -1 after saying why. */
static int config_load(struct config *c, const struct flags *fl)
{
	*c = (struct config){ .tail_lines = 25, .max_lookups = 16, .wait_seconds = 10,
			      .cache_seconds = 60, .events = DEFAULT_EVENTS };
	c->qrs_user = xstrdup("INTERNAL\\sa_repository");
	metrics_init(&c->metrics, "qsenrich");
	const char *path = conf_path(fl->conf);
	if (conf_load(path, "qsenrich", on_key, c) < 0)
		goto fail;
	if (fl->metrics)
		metrics_set_path(&c->metrics, fl->metrics);
	if (fl->nevents) {
		c->events = 0;
		for (size_t i = 0; i < fl->nevents; i++) {
			if (add_event(c, fl->events[i], strlen(fl->events[i]))) {
				warnx("-e %s: %s", fl->events[i], c->why);
				goto fail;
			}
		}
	}
	if (fl->wait_set)
		c->wait_seconds = fl->wait;
	conf_secret_env(&c->key_password, "QSENRICH_KEY_PASSWORD");
	if (!c->qrs) {
		warnx("%s: no qrs = https://HOST:4242 in [qsenrich]", path ? path : "no config file");
		goto fail;
	}
	if (!c->cert || !c->key) {
		warnx("%s: [qsenrich] needs cert and key (client.pem and client_key.pem exported "
		      "from the QMC)", path ? path : "no config file");
		goto fail;
	}
	const char *files[] = { c->cert, c->key, c->ca };
	for (size_t i = 0; i < 3; i++) {
		if (files[i] && access(files[i], R_OK) < 0) {
			warnsys("%s", files[i]);
			goto fail;
		}
	}
	return 0;
fail:
	config_free(c);
	return -1;
}

/* ---- lookups ---- */

/* The requests of a lookup; each slot runs one at a time: S_APP the app, then its owner; S_REF
 * the script log's file reference, then S_DOWNLOAD the log itself. */
enum slot_kind { S_TASK, S_EXEC, S_APP, S_REF, S_DOWNLOAD, NSLOTS };
enum req { R_TASK, R_EXEC, R_APP, R_USER, R_REF_OLD, R_REF_NEW, R_DOWNLOAD };
static const char *const req_names[] = {
	"task", "execution", "app", "app owner", "script log", "script log", "script log",
};

enum slot_state { IDLE, BUSY, WAITING, DONE };

struct lookup;
struct slot {
	struct xfer_job job;
	int made;
	struct lookup *lk;
	enum req req;
	enum slot_state state;
	double retry_at;
	unsigned tries, rounds;		/* requests answered; retries scheduled */
	struct curl_slist *headers;
	char error[160];		/* why it failed, for enrich_error; "" when it did not */
};

struct lookup {
	struct lookup *prev, *next;
	char *line;
	size_t len;
	struct event ev;
	char task_id[QRS_GUID_LEN + 1], app_id[QRS_GUID_LEN + 1], exec_id[QRS_GUID_LEN + 1];
	char owner_id[QRS_GUID_LEN + 1];
	struct timespec time;
	int has_time, started;
	double deadline;
	struct qrs_facts f, last_f;	/* last_f: the task's last execution, not yet matched */
	struct qrs_exec last, matched;
	int task_answered, exec_answered, exec_empty, has_last, exec_state; /* 1 final, 2 not */
	char match_why[80];		/* why no execution is matched yet */
	int log_started, ref_other;	/* the other script-log endpoint was tried this round */
	enum req ref_way;
	struct buf ref;
	struct logtail lt;
	struct slot s[NSLOTS];
};

struct cache_entry {
	char key[QRS_GUID_LEN + 1];
	double expires;
	struct qrs_facts f;
};

struct counters {
	unsigned long read, passed, enriched, partial, malformed, requests, cache_hits, held_over;
};

struct enrich {
	struct config conf;
	struct flags flags;
	struct tsv_tails tails;	/* attribute tails seen, to check the next ones quickly */
	struct xfer *x;
	struct lookup *head, *tail;	/* in arrival order */
	size_t nheld, nrunning;
	struct lines lr;
	struct buf out, tmp, hdr;
	struct jsonr json;
	struct cache_entry exec_cache[CACHE_SLOTS], app_cache[CACHE_SLOTS];
	enum req ref_pref;		/* the script-log endpoint that worked last */
	char qrs_trouble[200];		/* said on stderr until the QRS answers again */
	struct counters count;
	struct ratelimit rl_bad;
	int eof, stdin_flags, starting;
	double now;
};

static struct enrich *E;	/* for xfer's callbacks, which get a slot */

static void flush_out(void *ctx)
{
	struct enrich *e = ctx;
	if (buf_write_fd(&e->out, 1) < 0)
		diesys(1, "write stdout");
}

/* ---- the cache: a few recent answers per execution and per app ---- */

static struct cache_entry *cache_find(struct enrich *e, struct cache_entry *c, const char *key)
{
	if (!*key || e->conf.cache_seconds <= 0)
		return NULL;
	for (int i = 0; i < CACHE_SLOTS; i++)
		if (c[i].expires > e->now && !strcmp(c[i].key, key))
			return &c[i];
	return NULL;
}

static void cache_put(struct enrich *e, struct cache_entry *c, const char *key,
		      const struct qrs_facts *f, unsigned mask)
{
	if (!*key || e->conf.cache_seconds <= 0)
		return;
	struct cache_entry *slot = cache_find(e, c, key);
	if (!slot) {
		/* the entry put longest ago, expired or not: every entry lives as long */
		slot = &c[0];
		for (int i = 1; i < CACHE_SLOTS; i++)
			if (c[i].expires < slot->expires)
				slot = &c[i];
	}
	memcpy(slot->key, key, QRS_GUID_LEN + 1);
	slot->expires = e->now + e->conf.cache_seconds;
	qrs_facts_clear(&slot->f, ~0u);
	qrs_facts_copy(&slot->f, f, mask);
}

/* ---- writing events ---- */

/* Appends the attribute unless the line has it already or is full. */
static void add_attr(struct enrich *e, const struct event *ev, unsigned *nattrs, unsigned cap,
		     const char *name, const char *value, size_t n)
{
	struct slice have;
	if (!n || *nattrs >= cap || tsv_attr_find(ev, name, strlen(name), &have))
		return;
	tsv_attr_append(&e->out, name, value, n);
	++*nattrs;
}

static unsigned count_attrs(const struct event *ev)
{
	struct slice rest = ev->attrs, name, value;
	unsigned n = 0;
	while (rest.p && tsv_attr_next(&rest, &name, &value))
		n++;
	return n;
}

/* The length of s escaped as qspipe-events(5) escapes. */
static size_t escaped_len(const char *s, size_t n)
{
	size_t len = n;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (tsv_escape_needed[c])
			len += c == '\\' || c == '\t' || c == '\n' || c == '\r' ? 1 : 3;
	}
	return len;
}

/* The text's lines cut from the front until it fits in room bytes, escaped. */
static void fit_lines(struct buf *b, size_t room)
{
	size_t from = 0;
	while (from < b->n && escaped_len(b->p + from, b->n - from) > room) {
		const char *lf = memchr(b->p + from, '\n', b->n - from);
		from = lf ? (size_t)(lf - b->p) + 1 : b->n;
	}
	if (from)
		memmove(b->p, b->p + from, b->n - from);
	b->n -= from;
}

/* The text cut to max bytes, on a character, marked "...". */
static void fit_text(struct buf *b, size_t max)
{
	if (b->n <= max)
		return;
	size_t n = max;
	while (n && ((unsigned char)b->p[n] & 0xc0) == 0x80)
		n--;
	b->n = n;
	buf_adds(b, "...");
}

#define FACT_MAX 4096		/* bytes of a description, a list of tags, ... */
#define DETAILS_MAX (16u << 10)	/* of the execution's history: its last lines */

/* What the lookup learned cut to fit the line: each fact to its size, the script log to what
 * is left of ATTRS_BYTES_MAX, and all of it so that the line stays within LINES_MAX (what the
 * next stage reads whole). */
static void fit_facts(struct qrs_facts *f, size_t line_len, size_t error_len)
{
	size_t limit = LINES_MAX - 1, other = 0;
	limit = limit > line_len + error_len * 4 + 64 ? limit - line_len - error_len * 4 - 64 : 0;
	for (int i = 0; i < QA_NATTRS; i++) {
		if (i == QA_SCRIPT_LOG_HEAD || i == QA_SCRIPT_LOG_TAIL)
			continue;
		if (i == QA_EXEC_DETAILS)
			fit_lines(&f->v[i], DETAILS_MAX);
		else
			fit_text(&f->v[i], FACT_MAX);
		other += escaped_len(f->v[i].p, f->v[i].n) + TSV_ATTR_NAME_MAX + 2;
	}
	if (other > limit) {	/* only a line near 1 MiB already: it goes on as it came */
		qrs_facts_clear(f, ~0u);
		return;
	}
	size_t room = limit - other < ATTRS_BYTES_MAX ? limit - other : ATTRS_BYTES_MAX;
	struct buf *head = &f->v[QA_SCRIPT_LOG_HEAD], *tail = &f->v[QA_SCRIPT_LOG_TAIL];
	/* the tail first: it says why the reload failed */
	fit_lines(tail, head->n ? room / 2 : room);
	size_t used = escaped_len(tail->p, tail->n);
	fit_lines(head, room > used ? room - used : 0);
}

/* Writes the line with what the lookup learned, and enrich_error when error is not empty. */
static void write_enriched(struct enrich *e, const char *line, size_t len, const struct event *ev,
			   struct qrs_facts *f, const char *error)
{
	unsigned nattrs = count_attrs(ev);
	fit_facts(f, len, strlen(error));
	buf_add(&e->out, line, len);
	/* room is kept for enrich_error: a line has no room for it only when it came with 64 */
	unsigned cap = TSV_ATTRS_MAX - (*error ? 1 : 0);
	for (int i = 0; i < QA_NATTRS; i++)
		add_attr(e, ev, &nattrs, cap, qrs_attr_names[i], f->v[i].p, f->v[i].n);
	/* a line that came near LINES_MAX goes on as it came */
	if (*error && len + escaped_len(error, strlen(error)) + 16 < LINES_MAX)
		add_attr(e, ev, &nattrs, TSV_ATTRS_MAX, "enrich_error", error, strlen(error));
	buf_addc(&e->out, '\n');
}

/* ---- requests ---- */

static void on_done(void *ctx, struct xfer_job *job, const struct xfer_result *r);
static size_t on_log_data(char *p, size_t size, size_t n, void *ctx);

/* Said once until the QRS answers again, whatever goes wrong meanwhile. */
static void say_trouble(struct enrich *e, const char *what)
{
	if (e->qrs_trouble[0])
		return;
	snprintf(e->qrs_trouble, sizeof e->qrs_trouble, "%s", what);
	buf_reset(&e->tmp);
	xfer_redact_url(&e->tmp, e->conf.qrs, 0);
	warnx("QRS %s: %s; events pass on with enrich_error until it answers (said once)",
	      buf_str(&e->tmp), what);
}

static void trouble_over(struct enrich *e)
{
	if (!e->qrs_trouble[0])
		return;
	e->qrs_trouble[0] = '\0';
	warnx("the QRS answers again");
}

static int slot_setup(struct enrich *e, struct slot *s)
{
	if (s->made)
		return 0;
	if (xfer_job_init(e->x, &s->job, e->conf.wait_seconds, "qsenrich/" QSPIPE_VERSION,
			  on_done, s) < 0)
		return -1;
	CURL *c = s->job.easy;
	s->made = 1;
	s->job.answer_max = JSON_MAX;
	return curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK &&
	       curl_easy_setopt(c, CURLOPT_SSLCERT, e->conf.cert) == CURLE_OK &&
	       curl_easy_setopt(c, CURLOPT_SSLKEY, e->conf.key) == CURLE_OK &&
	       (!e->conf.ca || curl_easy_setopt(c, CURLOPT_CAINFO, e->conf.ca) == CURLE_OK) &&
	       /* always one, if empty: OpenSSL would otherwise ask a terminal for it */
	       curl_easy_setopt(c, CURLOPT_KEYPASSWD, buf_str(&e->conf.key_password)) == CURLE_OK &&
	       curl_easy_setopt(c, CURLOPT_HTTPGET, 1L) == CURLE_OK ? 0 : -1;
}

/* The path and query of a request, without the xrfkey. */
static void req_path(struct lookup *lk, enum req r, struct buf *b)
{
	switch (r) {
	case R_TASK: buf_printf(b, "/qrs/reloadtask/%s?", lk->task_id); break;
	case R_EXEC:
		buf_printf(b, "/qrs/executionresult/full?filter=executionID%%20eq%%20%s&",
			   lk->exec_id);
		break;
	case R_APP: buf_printf(b, "/qrs/app/%s?", lk->app_id); break;
	case R_USER: buf_printf(b, "/qrs/user/%s?", lk->owner_id); break;
	case R_REF_OLD:
		buf_printf(b, "/qrs/reloadtask/%s/scriptlog?fileReferenceId=%s&", lk->task_id,
			   lk->matched.file_ref);
		break;
	case R_REF_NEW:
		buf_printf(b, "/qrs/reloadtask/%s/scriptlogfile?executionResultId=%s&", lk->task_id,
			   lk->matched.id);
		break;
	case R_DOWNLOAD:
		buf_printf(b, "/qrs/download/reloadtask/%s/scriptlog.txt?", buf_str(&lk->ref));
		break;
	}
}

static void slot_fail(struct slot *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void slot_fail(struct slot *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->error, sizeof s->error, fmt, ap);
	va_end(ap);
	s->state = DONE;
}

/* Starts request r in slot s now. */
static void request(struct enrich *e, struct slot *s, enum req r)
{
	struct lookup *lk = s->lk;
	char key[17];
	s->req = r;
	s->error[0] = '\0';
	if (slot_setup(e, s) < 0) {
		slot_fail(s, "libcurl refused a request");
		return;
	}
	if (qrs_xrfkey(key) < 0) {
		slot_fail(s, "no random bytes for the Xrfkey");
		return;
	}
	buf_reset(&e->tmp);
	buf_adds(&e->tmp, e->conf.qrs);
	req_path(lk, r, &e->tmp);
	buf_printf(&e->tmp, "xrfkey=%s", key);
	curl_slist_free_all(s->headers);
	s->headers = NULL;
	buf_reset(&e->hdr);
	buf_printf(&e->hdr, "X-Qlik-Xrfkey: %s", key);
	struct curl_slist *h = curl_slist_append(NULL, buf_str(&e->hdr));
	if (h)
		s->headers = h;
	if (h && !(h = curl_slist_append(h, qrs_user_header(e->conf.qrs_user, &e->hdr))))
		curl_slist_free_all(s->headers), s->headers = NULL;
	if (h && !(h = curl_slist_append(h, r == R_DOWNLOAD ? "Accept: */*"
							     : "Accept: application/json")))
		curl_slist_free_all(s->headers), s->headers = NULL;
	double left = lk->deadline - e->now;
	long ms = (long)((left < 0.2 ? 0.2 : left) * 1000);
	CURL *c = s->job.easy;
	int ok = s->headers && curl_easy_setopt(c, CURLOPT_URL, buf_str(&e->tmp)) == CURLE_OK &&
		 curl_easy_setopt(c, CURLOPT_HTTPHEADER, s->headers) == CURLE_OK &&
		 curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms) == CURLE_OK &&
		 curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms) == CURLE_OK;
	/* The script log is streamed into the lookup's logtail, never held whole. */
	if (ok && r == R_DOWNLOAD) {
		logtail_reset(&lk->lt);
		ok = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_log_data) == CURLE_OK &&
		     curl_easy_setopt(c, CURLOPT_WRITEDATA, s) == CURLE_OK;
	}
	if (!ok || xfer_start(&s->job) < 0) {
		slot_fail(s, "libcurl refused a request");
		return;
	}
	s->state = BUSY;
	e->count.requests++;
}

/* ---- answers ---- */

static size_t on_log_data(char *p, size_t size, size_t n, void *ctx)
{
	struct slot *s = ctx;
	logtail_feed(&s->lk->lt, p, size * n);
	return size * n;
}

enum verdict { V_OK, V_RETRY, V_NOTYET, V_FAIL };

/* What an answer means for the request; sets s->error unless V_OK. */
static enum verdict judge(struct enrich *e, struct slot *s, const struct xfer_result *r)
{
	if (r->code != CURLE_OK) {
		const char *what = curl_easy_strerror(r->code);
		snprintf(s->error, sizeof s->error, "no answer: %s", what);
		switch (r->code) {
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_SSL_CIPHER:
			snprintf(s->error, sizeof s->error, "no answer: %s (check cert, key and ca)",
				 what);
			say_trouble(e, s->error + strlen("no answer: "));
			return V_FAIL;
		case CURLE_OPERATION_TIMEDOUT:
			/* its timeout is what is left of wait_seconds */
			snprintf(s->error, sizeof s->error, "no answer in wait_seconds (%g s)",
				 e->conf.wait_seconds);
			say_trouble(e, "no answer in wait_seconds");
			return V_RETRY;
		default:
			say_trouble(e, what);
			return V_RETRY;
		}
	}
	long st = r->status;
	if (st == 401 || st == 403) {
		snprintf(s->error, sizeof s->error, "HTTP %ld", st);
		say_trouble(e, st == 401 ? "HTTP 401: not authenticated (is cert the QMC's "
					   "client.pem?)"
					 : "HTTP 403: refused (check qrs_user and the certificate)");
		return V_FAIL;
	}
	trouble_over(e);
	if (st >= 200 && st < 300) {
		if (r->cut) {
			snprintf(s->error, sizeof s->error, "an answer longer than %u bytes", JSON_MAX);
			return V_FAIL;
		}
		return V_OK;
	}
	snprintf(s->error, sizeof s->error, "HTTP %ld", st);
	if (st == 404)
		return s->req >= R_REF_OLD ? V_NOTYET : V_FAIL;
	if (st >= 500 || st == 408 || st == 429)
		return V_RETRY;
	return V_FAIL;
}

/* Tries request r in slot s again after a backoff, unless that is past the deadline; the
 * error stays as the reason if it never succeeds. */
static void retry_later(struct enrich *e, struct slot *s, enum req r)
{
	/* 0.25 s doubling to 1 s: a script log is often there a second or two after the end */
	double delay = 0.25;
	for (unsigned i = 0; i < s->rounds && delay < 1; i++)
		delay *= 2;
	if (delay > 1)
		delay = 1;
	s->rounds++;
	s->req = r;
	double left = s->lk->deadline - e->now - 0.25;	/* room for a last answer */
	if (left < delay)
		delay = left;
	if (delay < 0.05) {
		s->state = DONE;
		return;
	}
	s->state = WAITING;
	s->retry_at = e->now + delay;
}

static int slot_active(const struct slot *s)
{
	return s->state == BUSY || s->state == WAITING;
}

/* Parses the answer into e->json; -1 with s->error set. */
static int parse_answer(struct enrich *e, struct slot *s, const struct xfer_result *r)
{
	if (jsonr_parse(&e->json, r->body, r->n) == 0)
		return 0;
	snprintf(s->error, sizeof s->error, "malformed JSON from the QRS (%s at byte %zu)",
		 e->json.why, e->json.error_at);
	s->state = DONE;
	return -1;
}

static void start_log(struct enrich *e, struct lookup *lk);
static void request_ref(struct enrich *e, struct lookup *lk, enum req way);

static int time_match(const struct lookup *lk)
{
	if (!lk->has_time || !lk->last.has_stop)
		return 0;
	double d = (double)(lk->time.tv_sec - lk->last.stop.tv_sec) +
		   (double)(lk->time.tv_nsec - lk->last.stop.tv_nsec) / 1e9;
	return d > -MATCH_SECONDS && d < MATCH_SECONDS;
}

/* After an answer about the execution: start on the script log once it is matched and ended,
 * else look again later. */
static void decide(struct enrich *e, struct lookup *lk)
{
	struct slot *ts = &lk->s[S_TASK], *xs = &lk->s[S_EXEC];
	int by_task = !*lk->exec_id || lk->exec_empty;
	if (lk->exec_state != 1 && by_task && lk->task_answered && lk->has_last &&
	    qrs_status_final(lk->last.status) && time_match(lk)) {
		qrs_facts_copy(&lk->f, &lk->last_f, QA_EXEC_GROUP);
		lk->matched = lk->last;
		lk->exec_state = 1;
	}
	if (lk->exec_state == 1) {
		if (!lk->log_started)
			start_log(e, lk);
		return;
	}
	if (slot_active(ts) || slot_active(xs))
		return;
	/* Not this event's execution yet, or not ended: ask again. */
	if (*lk->exec_id && lk->exec_answered) {
		if (lk->exec_empty)
			snprintf(lk->match_why, sizeof lk->match_why, "not found (yet)");
		else
			snprintf(lk->match_why, sizeof lk->match_why, "not ended (%s)",
				 buf_str(&lk->f.v[QA_EXEC_STATUS]));
		retry_later(e, xs, R_EXEC);
		if (lk->exec_empty && lk->task_answered)
			retry_later(e, ts, R_TASK);
	} else if (!*lk->exec_id && lk->task_answered) {
		snprintf(lk->match_why, sizeof lk->match_why, "the task's last execution is not "
			 "this event's");
		retry_later(e, ts, R_TASK);
	}
}

static void app_done(struct enrich *e, struct lookup *lk)
{
	cache_put(e, e->app_cache, lk->app_id, &lk->f, QA_APP_GROUP);
}

static void on_task(struct enrich *e, struct slot *s, const struct xfer_result *r)
{
	struct lookup *lk = s->lk;
	char app_id[QRS_GUID_LEN + 1];
	int last;
	if (parse_answer(e, s, r) < 0)
		return;
	const char *why = qrs_task(&e->json, &lk->f, app_id, &last);
	if (why) {
		slot_fail(s, "%s", why);
		return;
	}
	s->state = DONE;
	lk->task_answered = 1;
	lk->has_last = last >= 0 && qrs_exec_read(&e->json, last, &lk->last) == 0;
	if (lk->has_last)
		qrs_exec_facts(&e->json, last, &lk->last_f);
	if (!*lk->app_id && *app_id) {
		memcpy(lk->app_id, app_id, sizeof app_id);
		struct cache_entry *c = cache_find(e, e->app_cache, lk->app_id);
		if (c) {
			qrs_facts_copy(&lk->f, &c->f, QA_APP_GROUP);
			e->count.cache_hits++;
		} else {
			request(e, &lk->s[S_APP], R_APP);
		}
	}
}

static void on_exec(struct enrich *e, struct slot *s, const struct xfer_result *r)
{
	struct lookup *lk = s->lk;
	int node;
	if (parse_answer(e, s, r) < 0)
		return;
	const char *why = qrs_exec_list(&e->json, &node);
	if (why) {
		slot_fail(s, "%s", why);
		return;
	}
	s->state = DONE;
	lk->exec_answered = 1;
	lk->exec_empty = node < 0;
	if (node < 0)
		return;
	qrs_exec_read(&e->json, node, &lk->matched);
	qrs_exec_facts(&e->json, node, &lk->f);
	lk->exec_state = qrs_status_final(lk->matched.status) ? 1 : 2;
}

static void on_app(struct enrich *e, struct slot *s, const struct xfer_result *r)
{
	struct lookup *lk = s->lk;
	if (parse_answer(e, s, r) < 0)
		return;
	if (s->req == R_USER) {
		const char *why = qrs_user(&e->json, &lk->f);
		if (why) {
			slot_fail(s, "%s", why);
			return;
		}
		s->state = DONE;
		app_done(e, lk);
		return;
	}
	const char *why = qrs_app(&e->json, &lk->f, lk->owner_id);
	if (why) {
		slot_fail(s, "%s", why);
		return;
	}
	s->state = DONE;
	s->tries = s->rounds = 0;	/* the owner's tries are its own */
	if (*lk->owner_id)
		request(e, s, R_USER);
	else
		app_done(e, lk);
}

static enum req other_way(enum req way)
{
	return way == R_REF_OLD ? R_REF_NEW : R_REF_OLD;
}

static int way_possible(const struct lookup *lk, enum req way)
{
	return way == R_REF_OLD ? !!*lk->matched.file_ref : !!*lk->matched.id;
}

static void request_ref(struct enrich *e, struct lookup *lk, enum req way)
{
	lk->ref_way = way;
	request(e, &lk->s[S_REF], way);
}

static void start_log(struct enrich *e, struct lookup *lk)
{
	struct slot *s = &lk->s[S_REF];
	lk->log_started = 1;
	if (!e->conf.head_lines && !e->conf.tail_lines)
		return;
	enum req way = e->ref_pref;
	if (!way_possible(lk, way))
		way = other_way(way);
	if (!way_possible(lk, way)) {
		slot_fail(s, "the execution has no script log reference");
		return;
	}
	lk->ref_other = 0;
	request_ref(e, lk, way);
}

/* The script log's reference failed, or its download did: the other endpoint, else later. */
static void log_failed(struct enrich *e, struct lookup *lk, enum verdict v)
{
	struct slot *s = &lk->s[S_REF];
	enum req other = other_way(lk->ref_way);
	if (!lk->ref_other && way_possible(lk, other)) {
		lk->ref_other = 1;
		request_ref(e, lk, other);
		return;
	}
	if (v == V_FAIL) {
		s->state = DONE;
		return;
	}
	lk->ref_other = 0;
	retry_later(e, s, e->ref_pref == lk->ref_way || !way_possible(lk, e->ref_pref)
				  ? lk->ref_way : e->ref_pref);
}

static void on_ref(struct enrich *e, struct slot *s, const struct xfer_result *r)
{
	struct lookup *lk = s->lk;
	if (parse_answer(e, s, r) < 0) {
		log_failed(e, lk, V_FAIL);
		return;
	}
	const char *why = qrs_value(&e->json, &lk->ref);
	if (why) {
		snprintf(s->error, sizeof s->error, "%s", why);
		log_failed(e, lk, V_FAIL);
		return;
	}
	s->state = DONE;
	request(e, &lk->s[S_DOWNLOAD], R_DOWNLOAD);
	if (lk->s[S_DOWNLOAD].state == DONE)
		snprintf(s->error, sizeof s->error, "%s", lk->s[S_DOWNLOAD].error);
}

static void on_download(struct enrich *e, struct slot *s, const struct xfer_result *r)
{
	struct lookup *lk = s->lk;
	struct logtail *lt = &lk->lt;
	(void)r;
	s->state = DONE;
	logtail_end(lt);
	qrs_facts_clear(&lk->f, QA_LOG_GROUP);
	buf_printf(&lk->f.v[QA_SCRIPT_LOG_ROWS], "%llu", lt->rows);
	logtail_head(lt, &lk->f.v[QA_SCRIPT_LOG_HEAD]);
	logtail_tail(lt, &lk->f.v[QA_SCRIPT_LOG_TAIL]);
	lk->s[S_REF].error[0] = '\0';
	if (e->ref_pref != lk->ref_way) {
		e->ref_pref = lk->ref_way;
		warnx("script logs: using the %s endpoint",
		      lk->ref_way == R_REF_OLD ? "scriptlog?fileReferenceId (before May 2025)"
					       : "scriptlogfile?executionResultId (May 2025 on)");
	}
}

static void lookup_check(struct enrich *e, struct lookup *lk);

static void on_done(void *ctx, struct xfer_job *job, const struct xfer_result *r)
{
	struct slot *s = ctx;
	struct lookup *lk = s->lk;
	struct enrich *e = E;
	(void)job;
	e->now = now_mono();
	s->state = IDLE;
	s->tries++;
	enum verdict v = judge(e, s, r);
	if (v == V_OK) {
		switch (s->req) {
		case R_TASK: on_task(e, s, r); break;
		case R_EXEC: on_exec(e, s, r); break;
		case R_APP:
		case R_USER: on_app(e, s, r); break;
		case R_REF_OLD:
		case R_REF_NEW: on_ref(e, s, r); break;
		case R_DOWNLOAD: on_download(e, s, r); break;
		}
	} else if (s->req == R_DOWNLOAD) {
		s->state = DONE;
		struct slot *ref = &lk->s[S_REF];
		snprintf(ref->error, sizeof ref->error, "download: %.140s", s->error);
		s->error[0] = '\0';
		ref->tries++;
		ref->req = R_DOWNLOAD;
		log_failed(e, lk, v);
	} else if (s->req >= R_REF_OLD) {
		log_failed(e, lk, v);
	} else if (v == V_FAIL) {
		s->state = DONE;
	} else {
		retry_later(e, s, s->req);
	}
	if (s->req == R_TASK || s->req == R_EXEC)
		decide(e, lk);
	lookup_check(e, lk);
}

/* ---- the lookups' lives ---- */

static void lookup_free(struct lookup *lk)
{
	for (int i = 0; i < NSLOTS; i++) {
		if (lk->s[i].made)
			xfer_job_free(&lk->s[i].job);
		curl_slist_free_all(lk->s[i].headers);
	}
	qrs_facts_free(&lk->f);
	qrs_facts_free(&lk->last_f);
	logtail_free(&lk->lt);
	buf_free(&lk->ref);
	free(lk->line);
	free(lk);
}

/* enrich_error: what was not learned, and why. */
static void compose_error(struct lookup *lk, const char *extra, struct buf *out)
{
	buf_reset(out);
	if (extra)
		buf_adds(out, extra);
	/* no execution, and no failed request to say why */
	if (lk->exec_state != 1 && (lk->match_why[0] || (!lk->s[S_EXEC].error[0] &&
							 (lk->task_answered || lk->exec_answered)))) {
		buf_printf(out, "%sexecution: %s", out->n ? "; " : "",
			   lk->match_why[0] ? lk->match_why : "not known");
	}
	static const int order[] = { S_TASK, S_EXEC, S_REF, S_DOWNLOAD, S_APP };
	for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
		const struct slot *s = &lk->s[order[i]];
		if (!s->error[0])
			continue;
		buf_printf(out, "%s%s: %s", out->n ? "; " : "", req_names[s->req], s->error);
		if (s->tries > 1)
			buf_printf(out, " (%u tries)", s->tries);
	}
	buf_str(out);
}

static void start_pending(struct enrich *e);

/* Writes the event with what is known, and lets it go. */
static void finish(struct enrich *e, struct lookup *lk, const char *extra)
{
	struct buf err = { 0 };
	int whole = !extra && lk->exec_state == 1 && *lk->exec_id;
	for (int i = 0; i < NSLOTS; i++)
		whole &= !lk->s[i].error[0] && !slot_active(&lk->s[i]);
	if (whole)	/* kept for repeats of this event */
		cache_put(e, e->exec_cache, lk->exec_id, &lk->f,
			  QA_EXEC_GROUP | QA_LOG_GROUP | QA_TASK_GROUP);
	compose_error(lk, extra, &err);
	write_enriched(e, lk->line, lk->len, &lk->ev, &lk->f, err.n ? err.p : "");
	e->count.passed++;
	if (err.n)
		e->count.partial++;
	else
		e->count.enriched++;
	buf_free(&err);
	if (lk->prev)
		lk->prev->next = lk->next;
	else
		e->head = lk->next;
	if (lk->next)
		lk->next->prev = lk->prev;
	else
		e->tail = lk->prev;
	e->nheld--;
	if (lk->started)
		e->nrunning--;
	lookup_free(lk);
}

static void lookup_check(struct enrich *e, struct lookup *lk)
{
	for (int i = 0; i < NSLOTS; i++)
		if (slot_active(&lk->s[i]))
			return;
	finish(e, lk, NULL);
	start_pending(e);
}

static void start_lookup(struct enrich *e, struct lookup *lk)
{
	lk->started = 1;
	e->nrunning++;
	struct cache_entry *c = cache_find(e, e->exec_cache, lk->exec_id);
	if (c) {
		qrs_facts_copy(&lk->f, &c->f, QA_EXEC_GROUP | QA_LOG_GROUP | QA_TASK_GROUP);
		lk->exec_state = 1;
		lk->log_started = 1;
		e->count.cache_hits++;
	} else {
		request(e, &lk->s[S_TASK], R_TASK);
		if (*lk->exec_id)
			request(e, &lk->s[S_EXEC], R_EXEC);
	}
	if (*lk->app_id) {
		if ((c = cache_find(e, e->app_cache, lk->app_id))) {
			qrs_facts_copy(&lk->f, &c->f, QA_APP_GROUP);
			e->count.cache_hits++;
		} else {
			request(e, &lk->s[S_APP], R_APP);
		}
	}
	lookup_check(e, lk);
}

/* Starts waiting lookups, oldest first, while there is room. Not re-entered: a lookup
 * answered at once from the cache finishes inside start_lookup, which would start others. */
static void start_pending(struct enrich *e)
{
	if (e->starting)
		return;
	e->starting = 1;
	while (e->nrunning < e->conf.max_lookups) {
		struct lookup *lk = e->head;
		while (lk && lk->started)
			lk = lk->next;
		if (!lk)
			break;
		start_lookup(e, lk);
	}
	e->starting = 0;
}

/* Deadlines and retries that are due; the time of the next one (or -1) in *next. */
static void run_timers(struct enrich *e, double *next)
{
	struct lookup *lk = e->head;
	*next = -1;
	while (lk) {
		struct lookup *after = lk->next;
		if (e->now >= lk->deadline) {
			for (int i = 0; i < NSLOTS; i++) {
				struct slot *s = &lk->s[i];
				if (s->state != BUSY)
					continue;
				snprintf(s->error, sizeof s->error, "no answer in wait_seconds (%g s)",
					 e->conf.wait_seconds);
				say_trouble(e, "no answer in wait_seconds");
			}
			finish(e, lk, lk->started ? NULL : "not looked up in wait_seconds (too many "
							  "lookups at once: max_lookups)");
			lk = after;
			continue;
		}
		int active = 0;
		for (int i = 0; lk->started && i < NSLOTS; i++) {
			struct slot *s = &lk->s[i];
			if (s->state == WAITING && e->now >= s->retry_at)
				request(e, s, s->req);
			if (s->state == WAITING && (*next < 0 || s->retry_at < *next))
				*next = s->retry_at;
			active |= slot_active(s);
		}
		if (lk->started && !active) {	/* a retry that could not even start */
			finish(e, lk, NULL);
			lk = after;
			continue;
		}
		if (*next < 0 || lk->deadline < *next)
			*next = lk->deadline;
		lk = after;
	}
	start_pending(e);
}

/* ---- reading events ---- */

static void report(struct enrich *e, const char *reason, const char *line, size_t n)
{
	if (!ratelimit_allow(&e->rl_bad, 10, "malformed-line diagnostics"))
		return;
	buf_reset(&e->tmp);
	tsv_escape(&e->tmp, line, n > 80 ? 80 : n);
	warnx("line %lu: %s: %s", e->lr.lineno, reason, buf_str(&e->tmp));
}

/* Splits and checks an event line; 0 ok, -1 after reporting it. */
static int parse_line(struct enrich *e, const char *line, size_t n, struct event *ev)
{
	char reason[96];
	unsigned escaped;
	if (e->lr.overlong) {
		snprintf(reason, sizeof reason, "line longer than %d bytes", LINES_MAX);
		report(e, reason, line, n);
		return -1;
	}
	const char *why;
	size_t nfields = tsv_scan_event(line, n, ev, &escaped, &e->tails, &why);
	if (nfields < NFIELDS) {
		snprintf(reason, sizeof reason, "%zu columns, not %d or more", nfields, NFIELDS);
		report(e, reason, line, n);
		return -1;
	}
	for (int i = 0; i < NFIELDS; i++) {
		if ((escaped >> i & 1) && tsv_check(ev->f[i].p, ev->f[i].n, NULL) < 0) {
			snprintf(reason, sizeof reason, "malformed escape or control byte in %s",
				 tsv_field_names[i]);
			report(e, reason, line, n);
			return -1;
		}
	}
	if (why) {
		report(e, why, line, n);
		return -1;
	}
	return 0;
}

static void guid_col(const struct event *ev, int col, char out[QRS_GUID_LEN + 1])
{
	out[0] = '\0';
	if (qrs_is_guid(ev->f[col].p, ev->f[col].n)) {
		memcpy(out, ev->f[col].p, QRS_GUID_LEN);
		out[QRS_GUID_LEN] = '\0';
	}
}

static void pass_line(struct enrich *e, const char *line, size_t n)
{
	buf_add(&e->out, line, n);
	buf_addc(&e->out, '\n');
	e->count.passed++;
}

/* An event passed on at once with only enrich_error added. */
static void pass_error(struct enrich *e, const char *line, size_t n, const struct event *ev,
		       const char *why)
{
	struct qrs_facts none = { 0 };
	write_enriched(e, line, n, ev, &none, why);
	e->count.passed++;
	e->count.partial++;
}

static void handle_line(struct enrich *e, const char *line, size_t n, int stopping)
{
	struct event ev;
	e->count.read++;
	if (n && line[0] == '#' && !e->lr.overlong) {
		pass_line(e, line, n);
		return;
	}
	if (parse_line(e, line, n, &ev) < 0) {
		e->count.malformed++;
		return;
	}
	int kind = tsv_event_index(ev.f[F_EVENT].p, ev.f[F_EVENT].n);
	if (kind < 0 || !(e->conf.events >> kind & 1)) {
		pass_line(e, line, n);
		return;
	}
	if (stopping) {
		pass_error(e, line, n, &ev, "qsenrich stopped before looking it up");
		return;
	}
	if (!qrs_is_guid(ev.f[F_TASK_ID].p, ev.f[F_TASK_ID].n)) {
		pass_error(e, line, n, &ev, ev.f[F_TASK_ID].n ? "task_id is not a GUID"
						 : "no task_id in the event (an old appender format)");
		return;
	}
	struct lookup *lk = calloc(1, sizeof *lk);
	if (!lk || !(lk->line = malloc(n + 1)))
		die(1, "holding an event: out of memory");
	memcpy(lk->line, line, n);
	lk->line[n] = '\0';
	lk->len = n;
	tsv_parse_event(lk->line, n, &lk->ev, NULL);
	guid_col(&lk->ev, F_TASK_ID, lk->task_id);
	guid_col(&lk->ev, F_APP_ID, lk->app_id);
	guid_col(&lk->ev, F_EXEC_ID, lk->exec_id);
	lk->has_time = tsv_parse_time(ev.f[F_TIME].p, ev.f[F_TIME].n, &lk->time) == 0;
	lk->deadline = e->now + e->conf.wait_seconds;
	logtail_init(&lk->lt, (unsigned)e->conf.head_lines, (unsigned)e->conf.tail_lines,
		     LOG_LINE_MAX);
	for (int i = 0; i < NSLOTS; i++)
		lk->s[i].lk = lk;
	lk->prev = e->tail;
	if (e->tail)
		e->tail->next = lk;
	else
		e->head = lk;
	e->tail = lk;
	e->nheld++;
	if (e->nrunning < e->conf.max_lookups)
		start_lookup(e, lk);
}

/* ---- signals and the main loop ---- */

static void write_metrics(struct enrich *e)
{
	struct metrics *m = &e->conf.metrics;
	const struct counters *c = &e->count;
	metrics_begin(m);
	metrics_sample(m, "read", 1, "Lines read.", NULL, (double)c->read);
	metrics_sample(m, "passed", 1, "Events written on.", NULL, (double)c->passed);
	metrics_sample(m, "enriched", 1, "Task results written with everything looked up.", NULL,
		       (double)c->enriched);
	metrics_sample(m, "partial", 1, "Task results written with enrich_error (part or none).",
		       NULL, (double)c->partial);
	metrics_sample(m, "malformed", 1, "Lines dropped as not events.", NULL, (double)c->malformed);
	metrics_sample(m, "requests", 1, "Requests to the QRS.", NULL, (double)c->requests);
	metrics_sample(m, "cache_hits", 1, "Lookups answered from the cache.", NULL,
		       (double)c->cache_hits);
	metrics_sample(m, "held", 0, "Events waiting for their lookups now.", NULL, (double)e->nheld);
	metrics_sample(m, "lookups", 0, "Lookups running now.", NULL, (double)e->nrunning);
	metrics_write(m, e->now);
}

static void print_counters(struct enrich *e)
{
	const struct counters *c = &e->count;
	ratelimit_flush(&e->rl_bad, "malformed-line diagnostics");
	warnx("read %lu, passed %lu (enriched %lu, with enrich_error %lu), malformed %lu, "
	      "in flight %zu, QRS requests %lu, cache hits %lu",
	      c->read, c->passed, c->enriched, c->partial, c->malformed, e->nheld, c->requests,
	      c->cache_hits);
}

static void reload(struct enrich *e)
{
	struct config fresh;
	if (config_load(&fresh, &e->flags) < 0) {
		warnx("reload: keeping the old configuration");
		return;
	}
	config_free(&e->conf);
	e->conf = fresh;
	warnx("reload: configuration read again (lookups in flight keep their settings)");
}

static void parse_flags(struct flags *fl, int argc, char **argv)
{
	int c;
	if (!(fl->events = calloc((size_t)argc, sizeof *fl->events)))
		die(1, "parsing flags: out of memory");
	while ((c = getopt(argc, argv, "c:M:e:w:")) != -1) {
		switch (c) {
		case 'c': fl->conf = optarg; break;
		case 'M': fl->metrics = optarg; break;
		case 'e': fl->events[fl->nevents++] = optarg; break;
		case 'w':
			if (conf_seconds(optarg, 3600, &fl->wait) || fl->wait < 0.1)
				die(2, "-w %s: not a number of seconds from 0.1 to 3600", optarg);
			fl->wait_set = 1;
			break;
		default: diag_usage(usage);
		}
	}
	if (optind != argc)
		diag_usage(usage);
}

/* Reads what input there is now, at most a batch; stops reading while HELD_MAX wait. */
static void read_input(struct enrich *e)
{
	for (int i = 0; i < 512 && !e->eof && e->nheld < HELD_MAX; i++) {
		char *line;
		size_t n;
		int r = lines_next(&e->lr, &line, &n);
		if (r == LINES_OK)
			handle_line(e, line, n, 0);
		else if (r == LINES_EOF)
			e->eof = 1;
		else if (r == LINES_AGAIN || errno == EINTR)
			return;
		else
			diesys(1, "read stdin");
	}
}

static void wait_and_pump(struct enrich *e, double next)
{
	struct pollfd pfd[1 + XFER_MAX_FDS];
	int n = 0, reading = !e->eof && e->nheld < HELD_MAX;
	double wait = next < 0 ? -1 : next - e->now;
	if (wait < 0 && next >= 0)
		wait = 0;
	if (reading) {
		pfd[n++] = (struct pollfd){ .fd = 0, .events = POLLIN };
		if (lines_buffered(&e->lr))
			wait = 0;
	}
	int first = n;
	n += xfer_fds(e->x, pfd + n, XFER_MAX_FDS, &wait);
	double mw = metrics_wait(&e->conf.metrics, e->now);
	if (mw >= 0 && (wait < 0 || mw < wait))
		wait = mw;
	flush_out(e);
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
	e->now = now_mono();
	xfer_pump(e->x, pfd + first, n - first, e->now);
}

/* SIGTERM: what is read is passed on, the events in flight with what they have. */
static void stop(struct enrich *e)
{
	char *line;
	size_t n;
	while (lines_buffered(&e->lr) && lines_next(&e->lr, &line, &n) == LINES_OK)
		handle_line(e, line, n, 1);
	while (e->head)
		finish(e, e->head, "qsenrich stopped before the lookup was complete");
}

int main(int argc, char **argv)
{
	static struct enrich e;
	E = &e;
	diag_init("qsenrich");
	diag_std_flags(argc, argv, usage);
	parse_flags(&e.flags, argc, argv);
	if (config_load(&e.conf, &e.flags) < 0)
		return 2;
	e.ref_pref = R_REF_OLD;
	e.stdin_flags = -1;
	e.x = xfer_new();
	sig_setup();
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		diesys(1, "sigprocmask");
	int fl = fcntl(0, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK) && fcntl(0, F_SETFL, fl | O_NONBLOCK) == 0)
		e.stdin_flags = fl;
	lines_init(&e.lr, 0, NULL, NULL);
	e.now = now_mono();
	for (;;) {
		double next;
		if (sig_hup) {
			sig_hup = 0;
			reload(&e);
		}
		if (sig_usr1) {
			sig_usr1 = 0;
			print_counters(&e);
		}
		if (sig_term)
			break;
		read_input(&e);
		e.now = now_mono();
		run_timers(&e, &next);
		if (metrics_due(&e.conf.metrics, e.now))
			write_metrics(&e);
		if (e.eof && !e.head)
			break;
		wait_and_pump(&e, next);
	}
	if (sig_term)
		stop(&e);
	flush_out(&e);
	print_counters(&e);
	if (e.conf.metrics.path) {
		e.now = now_mono();
		write_metrics(&e);
	}
	if (e.stdin_flags >= 0)
		fcntl(0, F_SETFL, e.stdin_flags);
	lines_free(&e.lr);
	xfer_free(e.x);
	jsonr_free(&e.json);
	for (int i = 0; i < CACHE_SLOTS; i++) {
		qrs_facts_free(&e.exec_cache[i].f);
		qrs_facts_free(&e.app_cache[i].f);
	}
	buf_free(&e.out);
	buf_free(&e.tmp);
	buf_free(&e.hdr);
	config_free(&e.conf);
	free(e.flags.events);
	return 0;
}
