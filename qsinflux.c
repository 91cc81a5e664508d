/* qsinflux: writes events into InfluxDB (1.x, 2.x, 3.x, or anything that takes line protocol
 * over HTTP: VictoriaMetrics), one point each, in Butler SOS's schema (influx.h). The sink
 * runtime (sink.h) reads and queues; points go in batches (batch points, or what came in
 * batch_wait seconds), several in flight, each a transfer of the libcurl runtime (xfer.h) in
 * the sink's loop. A batch the server rejects in part (400) or finds too large (413) is split
 * in two and each half sent again, down to single points: so the points it rejects are
 * dead-lettered with its reason and the rest are written (InfluxDB overwrites a point written
 * twice with itself: at least once is harmless). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "diag.h"
#include "influx.h"
#include "sink.h"
#include "xfer.h"

static const char usage[] =
	"qsinflux [-tn] [-c FILE] [-h URL] [-d DB] [-S DIR] [-e EVENTS] [-M FILE] [FILE...]\n"
	"  -t         pass every input line through to stdout\n"
	"  -n         print the points instead of writing them (no server, no spool)\n"
	"  -c FILE    config file, section [qsinflux] (else $QSPIPE_CONF)\n"
	"  -h URL     the server (url =), e.g. http://localhost:8086\n"
	"  -d DB      the database (db =), or the bucket with api = v2\n"
	"  -S DIR     spool directory: events kept on disk until written\n"
	"  -e EVENTS  the events to write, comma-separated (events =)\n"
	"  -M FILE    write the counters to FILE in Prometheus' text format (metrics =)\n"
	"  -V         version";

enum api { API_V1, API_V2, API_V3 };
enum gzip { GZIP_AUTO, GZIP_YES, GZIP_NO };

#define GZIP_MIN 1024		/* bytes: smaller bodies are sent as they are */
#define REASON_MAX 300		/* of a server's answer, what a dead letter keeps */

/* Items to send again as one batch: the halves of a split one, or one sent without gzip. */
struct redo {
	struct redo *next;
	size_t n;
	struct sink_item *items[];
};

/* One batch in flight: a transfer slot. */
struct slot {
	struct xfer_job job;
	struct sink_item **items;
	size_t n;
	int gzipped;
	struct buf body, gz;
	struct qsinflux *q;
};

struct qsinflux {
	struct sink *sink;
	struct influx ix;
	/* configuration */
	char *url, *db, *rp, *org, *bucket, *username;
	struct buf password, token;
	enum api api;
	enum gzip gzip;
	unsigned long batch, inflight;
	double batch_wait, timeout;
	int dry_run, tee;
	char why[200];
	/* the transport */
	char *write_url;
	char label[96];			/* the URL as messages show it */
	struct curl_slist *headers, *headers_gz;
	struct xfer *xfer;
	struct slot *slots;
	struct redo *redo, **redo_tail;
	double ready_since;		/* when items were first seen waiting; -1: none */
	double pause_until;		/* no batch before (429, 503 with Retry-After) */
	int gzip_off;			/* the server would not take gzip (auto) */
	int auth_said;			/* the refusal was said since the last success */
	int gzip_known;			/* a gzip body was answered (auto): more may go at once */
	struct buf out;			/* -n */
	struct ratelimit rl_fail, rl_dead;
	/* counters */
	unsigned long long points, batches, bytes, splits, rejected, failures, paused, refused;
};

/* ---- configuration ---- */

static void set_str(char **dst, const char *value)
{
	free(*dst);
	*dst = *value ? xstrdup(value) : NULL;
}

static const char *secret(struct qsinflux *q, struct buf *dst, const char *value, int from_file)
{
	return conf_secret(dst, value, from_file, q->why, sizeof q->why);
}

static const char *conf_key(void *tool, const char *key, const char *value)
{
	struct qsinflux *q = tool;
	if (!strncmp(key, "measurement.", 12)) {
		int kind = tsv_event_index(key + 12, strlen(key + 12));
		if (kind < 0)
			return "unknown event (measurement.EVENT takes an event name)";
		return influx_measurement(&q->ix, kind, value);
	}
	if (!strcmp(key, "url")) {
		const char *bad = xfer_check_url(value);
		if (bad)
			return bad;
		set_str(&q->url, value);
	} else if (!strcmp(key, "api")) {
		if (!strcmp(value, "v1"))
			q->api = API_V1;
		else if (!strcmp(value, "v2"))
			q->api = API_V2;
		else if (!strcmp(value, "v3"))
			q->api = API_V3;
		else
			return "not v1, v2 or v3";
	} else if (!strcmp(key, "db") || !strcmp(key, "database"))
		set_str(&q->db, value);
	else if (!strcmp(key, "rp"))
		set_str(&q->rp, value);
	else if (!strcmp(key, "org"))
		set_str(&q->org, value);
	else if (!strcmp(key, "bucket"))
		set_str(&q->bucket, value);
	else if (!strcmp(key, "username"))
		set_str(&q->username, value);
	else if (!strcmp(key, "password") || !strcmp(key, "password_file"))
		return secret(q, &q->password, value, key[8] == '_');
	else if (!strcmp(key, "token") || !strcmp(key, "token_file"))
		return secret(q, &q->token, value, key[5] == '_');
	else if (!strcmp(key, "tag"))
		return influx_static_tag(&q->ix, value);
	else if (!strcmp(key, "batch"))
		return conf_ulong(value, 1, 1000000, &q->batch) ? "not a number from 1 to 1000000" : NULL;
	else if (!strcmp(key, "batch_wait"))
		return conf_seconds(value, 3600, &q->batch_wait) ? "not seconds up to 3600" : NULL;
	else if (!strcmp(key, "inflight"))
		return conf_ulong(value, 1, 32, &q->inflight) ? "not a number from 1 to 32" : NULL;
	else if (!strcmp(key, "timeout"))
		return conf_seconds(value, 3600, &q->timeout) || q->timeout < 1
			       ? "not seconds from 1 to 3600" : NULL;
	else if (!strcmp(key, "gzip")) {
		int on;
		if (!strcmp(value, "auto"))
			q->gzip = GZIP_AUTO;
		else if (conf_bool(value, &on))
			return "not auto, yes or no";
		else
			q->gzip = on ? GZIP_YES : GZIP_NO;
	} else
		return conf_unknown_key;
	return NULL;
}

/* Appends "&name=value", the value URL-encoded; nothing when value is NULL. */
static void add_param(struct buf *b, const char *name, const char *value)
{
	if (!value)
		return;
	char *enc = curl_easy_escape(NULL, value, 0);
	if (!enc)
		die(1, "out of memory");
	buf_printf(b, "%c%s=%s", memchr(b->p, '?', b->n) ? '&' : '?', name, enc);
	curl_free(enc);
}

/* The write endpoint from url (a base: a path in it is kept, for a server behind a proxy). */
static void make_write_url(struct qsinflux *q)
{
	struct buf b = { 0 };
	const char *u = q->url;
	size_t n = strlen(u);
	while (n && u[n - 1] == '/')
		n--;
	buf_add(&b, u, n);
	switch (q->api) {
	case API_V1:
		buf_adds(&b, "/write");
		add_param(&b, "db", q->db);
		add_param(&b, "rp", q->rp);
		add_param(&b, "precision", "ns");
		break;
	case API_V2:
		buf_adds(&b, "/api/v2/write");
		add_param(&b, "org", q->org);
		add_param(&b, "bucket", q->bucket);
		add_param(&b, "precision", "ns");
		break;
	case API_V3:
		buf_adds(&b, "/api/v3/write_lp");
		add_param(&b, "db", q->db);
		add_param(&b, "precision", "nanosecond");
		break;
	}
	q->write_url = xstrdup(buf_str(&b));
	buf_reset(&b);
	xfer_redact_url(&b, q->url, 0);
	snprintf(q->label, sizeof q->label, "%s", buf_str(&b));
	buf_free(&b);
}

static void check_config(struct qsinflux *q)
{
	if (!q->url)
		die(2, "no url (the InfluxDB server: url = http://localhost:8086, or -h URL)");
	if (q->api == API_V2 && !q->bucket)
		die(2, "api = v2 needs a bucket");
	if (q->api != API_V2 && !q->db)
		die(2, "api = %s needs a db (the database)", q->api == API_V1 ? "v1" : "v3");
	if (q->api == API_V1 && q->token.n)
		die(2, "token is for api = v2 and v3 (v1 takes username and password)");
	if (q->api != API_V1 && (q->username || q->password.n))
		die(2, "username and password are for api = v1 (v2 and v3 take a token)");
	if (q->api != API_V2 && q->org)
		die(2, "org is for api = v2");
	if (q->api != API_V1 && q->rp)
		die(2, "rp is for api = v1");
	if (q->password.n && !q->username)
		die(2, "a password needs a username");
	q->ix.v3 = q->api == API_V3;
}

/* The request headers, with and without gzip; the token's is a secret, never shown. */
static void make_headers(struct qsinflux *q)
{
	struct curl_slist *h = NULL, *g = NULL;
	/* no 100-continue round trip before each batch */
	const char *common[] = { "Content-Type: text/plain; charset=utf-8", "Expect:" };
	for (size_t i = 0; i < 2; i++) {
		h = curl_slist_append(h, common[i]);
		g = curl_slist_append(g, common[i]);
	}
	if (q->token.n) {
		struct buf b = { 0 };
		buf_printf(&b, "Authorization: %s %s", q->api == API_V3 ? "Bearer" : "Token",
			   buf_str(&q->token));
		h = curl_slist_append(h, buf_str(&b));
		g = curl_slist_append(g, buf_str(&b));
		memset(b.p, 0, b.n);
		buf_free(&b);
	}
	g = curl_slist_append(g, "Content-Encoding: gzip");
	if (!h || !g)
		die(1, "out of memory");
	q->headers = h;
	q->headers_gz = g;
}

/* ---- batches ---- */

static void counters(void *ctx, struct buf *out)
{
	struct qsinflux *q = ctx;
	buf_printf(out, " points=%llu batches=%llu bytes=%llu splits=%llu rejected=%llu "
		   "failures=%llu paused=%llu refused=%llu gzip=%s", q->points, q->batches,
		   q->bytes, q->splits, q->rejected, q->failures, q->paused, q->refused,
		   q->gzip == GZIP_NO || q->gzip_off ? "no" : "yes");
}

/* Builds the slot's body from its items; items whose point cannot be made are dead-lettered
 * and dropped from it. */
static void build(struct qsinflux *q, struct slot *s)
{
	size_t kept = 0;
	buf_reset(&s->body);
	for (size_t i = 0; i < s->n; i++) {
		struct sink_item *it = s->items[i];
		struct event ev;
		sink_item_event(it, &ev);
		const char *why = influx_point(&q->ix, &ev, it->event, &s->body);
		if (why) {
			q->rejected++;
			sink_done(q->sink, it, SINK_PERMANENT, 0, why);
			continue;
		}
		s->items[kept++] = it;
	}
	s->n = kept;
}

/* Compresses the body into s->gz; 0 ok, -1 when zlib fails (then it goes as it is). */
static int compress_body(struct slot *s)
{
	z_stream z = { 0 };
	/* 31: a gzip wrapper; level 1: most of the gain (line protocol repeats itself) for the
	 * least CPU */
	if (deflateInit2(&z, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	buf_reset(&s->gz);
	buf_reserve(&s->gz, deflateBound(&z, s->body.n));
	z.next_in = (unsigned char *)s->body.p;
	z.avail_in = (unsigned)s->body.n;
	z.next_out = (unsigned char *)s->gz.p;
	z.avail_out = (unsigned)(s->gz.cap);
	int rc = deflate(&z, Z_FINISH);
	s->gz.n = z.total_out;
	deflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -1;
}

static void send_batch(struct qsinflux *q, struct slot *s)
{
	build(q, s);
	if (!s->n)
		return;
	const struct buf *body = &s->body;
	s->gzipped = 0;
	if (q->gzip != GZIP_NO && !q->gzip_off && s->body.n >= GZIP_MIN && compress_body(s) == 0) {
		body = &s->gz;
		s->gzipped = 1;
	}
	CURL *e = s->job.easy;
	if (curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->gzipped ? q->headers_gz : q->headers) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->n) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body->p) != CURLE_OK || xfer_start(&s->job) < 0)
		die(1, "libcurl: starting a write to %s failed", q->label);
	q->batches++;
	q->bytes += body->n;
}

/* Queues items[0..n) to go again as one batch, before anything new. */
static void redo(struct qsinflux *q, struct sink_item **items, size_t n, int first)
{
	struct redo *r = malloc(sizeof *r + n * sizeof *items);
	if (!r)
		die(1, "out of memory");
	r->n = n;
	memcpy(r->items, items, n * sizeof *items);
	if (first || !q->redo) {
		/* keeps input order: the first half goes before the second */
		r->next = q->redo;
		q->redo = r;
		if (!r->next)
			q->redo_tail = &r->next;
	} else {
		r->next = NULL;
		*q->redo_tail = r;
		q->redo_tail = &r->next;
	}
}

/* The server's answer in one line for messages: status and the start of its body. */
static void reason(char *out, size_t len, const struct xfer_result *r)
{
	struct buf b = { 0 };
	buf_printf(&b, "HTTP %ld", r->status);
	if (r->n) {
		buf_addc(&b, ' ');
		size_t n = r->n < REASON_MAX ? r->n : REASON_MAX;
		while (n && (r->body[n - 1] == '\n' || r->body[n - 1] == '\r'))
			n--;
		tsv_escape(&b, r->body, n);
		if (n < r->n && r->n > REASON_MAX)
			buf_adds(&b, "...");
	}
	snprintf(out, len, "%s", buf_str(&b));
	buf_free(&b);
}

/* Gives every item of the slot back for a retry: the first takes the backoff (or the pause)
 * and holds the lane; the others come due with it. */
static void give_back(struct qsinflux *q, struct slot *s, double delay)
{
	for (size_t i = 0; i < s->n; i++) {
		sink_done(q->sink, s->items[i], SINK_RETRY, delay, NULL);
		if (delay < 0)
			delay = 0;
	}
	s->n = 0;
}

/* A 4xx about the points themselves: split, or dead-letter the one point. */
static void rejected(struct qsinflux *q, struct slot *s, const struct xfer_result *r)
{
	if (s->n > 1) {
		size_t half = s->n / 2;
		q->splits++;
		redo(q, s->items + half, s->n - half, 1);
		redo(q, s->items, half, 1);
		s->n = 0;
		return;
	}
	char why[REASON_MAX + 40];
	reason(why, sizeof why, r);
	q->rejected++;
	sink_done(q->sink, s->items[0], SINK_PERMANENT, 0, why);
	s->n = 0;
}

static void on_done(void *ctx, struct xfer_job *job, const struct xfer_result *r)
{
	(void)job;
	struct slot *s = ctx;
	struct qsinflux *q = s->q;
	long st = r->code == CURLE_OK ? r->status : 0;
	char why[REASON_MAX + 40];
	if (s->gzipped && st && st != 415)
		q->gzip_known = 1;
	if (st >= 200 && st < 300) {
		q->points += s->n;
		q->auth_said = 0;
		for (size_t i = 0; i < s->n; i++)
			sink_done(q->sink, s->items[i], SINK_OK, 0, NULL);
		s->n = 0;
		return;
	}
	if (st == 415 && s->gzipped && q->gzip == GZIP_AUTO) {
		if (!q->gzip_off)
			warnx("%s does not take gzip (HTTP 415): sending uncompressed", q->label);
		q->gzip_off = 1;
		redo(q, s->items, s->n, 1);
		s->n = 0;
		return;
	}
	if (st == 415 && s->gzipped) {	/* gzip = yes: the configuration's doing, not the points' */
		q->refused++;
		if (!q->auth_said)
			warnx("%s does not take gzip (HTTP 415): set gzip = auto or no; events kept, retrying with backoff",
			      q->label);
		q->auth_said = 1;
		give_back(q, s, SINK_BACKOFF);
		return;
	}
	if (st == 401 || st == 403 || st == 404 || (st >= 300 && st < 400)) {
		/* the configuration, not the points: kept, and said once until a success */
		q->refused++;
		if (!q->auth_said) {
			reason(why, sizeof why, r);
			warnx(st == 401 || st == 403
			      ? "%s refused the credentials (%s): check username and password, or token; events kept, retrying with backoff"
			      : "%s has no such database or endpoint (%s): check url, api, db, org and bucket; events kept, retrying with backoff",
			      q->label, why);
		}
		q->auth_said = 1;
		give_back(q, s, SINK_BACKOFF);
		return;
	}
	if (st >= 400 && st < 500 && st != 408 && st != 429) {
		rejected(q, s, r);
		return;
	}
	struct xfer_answer a;
	xfer_classify(r, &a);
	if (a.verdict == XFER_PAUSE) {
		q->paused++;
		double until = now_mono() + a.pause;
		if (q->pause_until < until)
			q->pause_until = until;
		warnx("%s: %s: pausing %.0f s", q->label, a.reason, a.pause);
		give_back(q, s, a.pause);
		return;
	}
	q->failures++;
	if (ratelimit_allow(&q->rl_fail, 5, "write failure diagnostics"))
		warnx("%s: %s: retrying with backoff", q->label, st ? (reason(why, sizeof why, r), why) : a.reason);
	give_back(q, s, SINK_BACKOFF);
}

/* Fills a free slot: a batch to redo, or new items when a whole batch is ready or the oldest
 * has waited batch_wait. 0 when there was nothing to send. */
static int fill(struct qsinflux *q, struct slot *s, double now)
{
	if (q->redo) {
		struct redo *r = q->redo;
		q->redo = r->next;
		if (!q->redo)
			q->redo_tail = &q->redo;
		memcpy(s->items, r->items, r->n * sizeof *s->items);
		s->n = r->n;
		free(r);
		send_batch(q, s);
		return 1;
	}
	size_t ready = sink_ready(q->sink, 0);
	if (!ready) {
		q->ready_since = -1;
		return 0;
	}
	if (q->ready_since < 0)
		q->ready_since = now;
	if (ready < q->batch && now - q->ready_since < q->batch_wait)
		return 0;
	struct sink_item *it;
	s->n = 0;
	while (s->n < q->batch && (it = sink_take(q->sink, 0)))
		s->items[s->n++] = it;
	q->ready_since = sink_ready(q->sink, 0) ? now : -1;
	send_batch(q, s);
	return 1;
}

/* Whether another batch may go now: a slot is free, and with gzip = auto not before the server
 * has answered a gzip body (one batch at a time until then, so that a server without gzip
 * refuses one batch, not every one in flight). */
static int can_send(const struct qsinflux *q)
{
	unsigned busy = xfer_busy(q->xfer);
	if (busy >= q->inflight)
		return 0;
	return !(busy && q->gzip == GZIP_AUTO && !q->gzip_known && !q->gzip_off);
}

static void pump(void *ctx, const struct pollfd *pfd, int npfd, double now)
{
	struct qsinflux *q = ctx;
	xfer_pump(q->xfer, pfd, npfd, now);
	if (now < q->pause_until)
		return;
	for (unsigned long i = 0; i < q->inflight && can_send(q); i++)
		if (!q->slots[i].job.busy && !fill(q, &q->slots[i], now))
			break;
}

static int fds(void *ctx, struct pollfd *pfd, int max, double *wait)
{
	struct qsinflux *q = ctx;
	int n = xfer_fds(q->xfer, pfd, max, wait);
	double now = now_mono(), at = -1;
	/* a batch to start: come back when it is due (never while every slot is busy: that would
	 * spin until a write ends, which the transfers' sockets report) */
	if (can_send(q) && (q->redo || sink_ready(q->sink, 0)))
		at = q->ready_since < 0 || q->redo ? now : q->ready_since + q->batch_wait;
	if (at >= 0 && q->pause_until > at)
		at = q->pause_until;
	if (at >= 0) {
		double left = at > now ? at - now : 0;
		if (*wait < 0 || left < *wait)
			*wait = left;
	}
	return n;
}

static void stop(void *ctx)
{
	struct qsinflux *q = ctx;
	for (unsigned long i = 0; i < q->inflight; i++) {
		xfer_job_free(&q->slots[i].job);
		q->slots[i].n = 0;
	}
	xfer_free(q->xfer);
	q->xfer = NULL;
	while (q->redo) {	/* their items are the runtime's: kept in the spool, or counted */
		struct redo *r = q->redo;
		q->redo = r->next;
		free(r);
	}
	ratelimit_flush(&q->rl_fail, "write failure diagnostics");
}

static void setup(struct qsinflux *q)
{
	make_write_url(q);
	make_headers(q);
	if (!strncmp(q->url, "http://", 7) && !xfer_is_loopback(q->url) &&
	    (q->password.n || q->token.n))
		warnx("%s is plain http: the password or token travels unencrypted", q->label);
	q->xfer = xfer_new();
	q->slots = calloc(q->inflight, sizeof *q->slots);
	if (!q->slots)
		die(1, "out of memory");
	for (unsigned long i = 0; i < q->inflight; i++) {
		struct slot *s = &q->slots[i];
		s->q = q;
		s->items = calloc(q->batch, sizeof *s->items);
		if (!s->items)
			die(1, "out of memory");
		CURL *e;
		if (xfer_job_init(q->xfer, &s->job, q->timeout, "qsinflux/" QSPIPE_VERSION, on_done, s) < 0 ||
		    curl_easy_setopt(e = s->job.easy, CURLOPT_URL, q->write_url) != CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK ||
		    (q->username && (curl_easy_setopt(e, CURLOPT_USERNAME, q->username) != CURLE_OK ||
				     curl_easy_setopt(e, CURLOPT_PASSWORD, buf_str(&q->password)) != CURLE_OK)))
			die(1, "libcurl: setting up writes to %s failed", q->label);
	}
	q->redo_tail = &q->redo;
}

/* ---- -n: the points on stdout ---- */

static void dry_pump(void *ctx, const struct pollfd *pfd, int npfd, double now)
{
	struct qsinflux *q = ctx;
	(void)pfd, (void)npfd, (void)now;
	struct sink_item *it;
	while ((it = sink_take(q->sink, 0))) {
		struct event ev;
		sink_item_event(it, &ev);
		const char *why = influx_point(&q->ix, &ev, it->event, &q->out);
		if (why)
			q->rejected++;
		else
			q->points++;
		sink_done(q->sink, it, why ? SINK_PERMANENT : SINK_OK, 0, why);
	}
	if (q->out.n && buf_write_fd(&q->out, 1) < 0)
		diesys(1, "write stdout");
}

static void free_all(struct qsinflux *q)
{
	for (unsigned long i = 0; q->slots && i < q->inflight; i++) {
		free(q->slots[i].items);
		buf_free(&q->slots[i].body);
		buf_free(&q->slots[i].gz);
	}
	free(q->slots);
	curl_slist_free_all(q->headers);
	curl_slist_free_all(q->headers_gz);
	influx_free(&q->ix);
	if (q->password.n)
		memset(q->password.p, 0, q->password.n);
	if (q->token.n)
		memset(q->token.p, 0, q->token.n);
	buf_free(&q->password);
	buf_free(&q->token);
	buf_free(&q->out);
	free(q->url), free(q->db), free(q->rp), free(q->org), free(q->bucket), free(q->username);
	free(q->write_url);
}

int main(int argc, char **argv)
{
	static struct sink_driver driver = {
		.name = "qsinflux", .conf_key = conf_key, .fds = fds, .pump = pump, .stop = stop,
		.counters = counters,
		.default_events = SINK_ALL_EVENTS & ~(1u << EV_UNKNOWN),
	};
	struct qsinflux q = { .batch = 5000, .inflight = 4, .batch_wait = 1, .timeout = 30,
			      .ready_since = -1 };
	const char *flag_url = NULL, *flag_db = NULL;
	diag_init("qsinflux");
	diag_std_flags(argc, argv, usage);
	influx_init(&q.ix);
	q.sink = sink_new(&driver, &q);
	int c;
	while ((c = getopt(argc, argv, SINK_FLAGS "nh:d:")) != -1) {
		if (c == 't')
			q.tee = 1;
		if (sink_flag(q.sink, c, optarg))
			continue;
		switch (c) {
		case 'n': q.dry_run = 1; break;
		case 'h': flag_url = optarg; break;
		case 'd': flag_db = optarg; break;
		default: diag_usage(usage);
		}
	}
	if (q.dry_run && q.tee)
		die(2, "-n and -t both write stdout: give one");
	sink_configure(q.sink);
	if (flag_url) {
		const char *bad = xfer_check_url(flag_url);
		if (bad)
			die(2, "-h: %s", bad);
		set_str(&q.url, flag_url);
	}
	if (flag_db)
		set_str(q.api == API_V2 ? &q.bucket : &q.db, flag_db);
	conf_secret_env(&q.password, "QSINFLUX_PASSWORD");
	conf_secret_env(&q.token, "QSINFLUX_TOKEN");
	q.ix.v3 = q.api == API_V3;
	if (q.dry_run) {
		/* prints what it would write: no server, no spool, no dead-letter file */
		sink_transient(q.sink);
		driver.pump = dry_pump;
		driver.fds = NULL;
		driver.stop = NULL;
	} else {
		check_config(&q);
		setup(&q);
	}
	int status = sink_run(q.sink, argc - optind, argv + optind);
	free_all(&q);
	return status;
}
