/* qshttp: events in, HTTP posts to any webhook out (qspipe-events(5)). The sink runtime
 * (sink.h) reads, queues, spools and retries; httpbody.h builds the bodies (JSON, NDJSON, a
 * JSON array, a template); post.h posts them: a lane, a kept-alive connection and one post in
 * flight per URL, a batch of what waits in each. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "diag.h"
#include "httpbody.h"
#include "post.h"
#include "sink.h"
#include "xfer.h"

static const char usage[] =
	"qshttp [-t] [-c FILE] [-u URL] [-S DIR] [-e EVENTS] [-M FILE] [-n] [FILE...]\n"
	"  -t         pass every input line through to stdout at once\n"
	"  -c FILE    the config file (else $QSPIPE_CONF); section [qshttp]\n"
	"  -u URL     the default URL (else $QSHTTP_URL, else url/url_file)\n"
	"  -S DIR     spool directory: queued events survive restarts\n"
	"  -e EVENTS  only these events (default all but qix_perf)\n"
	"  -M FILE    write the counters to FILE in Prometheus' text format (metrics =)\n"
	"  -n         print each body, one a line, and post nothing\n"
	"  -V         the version; --help this text";

#define BATCH_MAX 1000

struct qshttp {
	struct post post;	/* first: post.h's hooks take the sink ctx as it */
	struct sink *sink;
	struct post_urls urls;
	struct httpbody body;
	int format_set, escape_set, method_set, has_content_type;
	unsigned long batch;
	double rate, timeout;
	const char *flag_url;
	int dry_run, tee;
	struct curl_slist *headers;
	struct event *events;
	struct buf preview, header;
	char why[320];
};
_Static_assert(offsetof(struct qshttp, post) == 0, "post.h's hooks need the post first");

/* ---- configuration ---- */

/* header = Name: value, header_file = Name: FILE, header_env = Name: VARIABLE. The value is
 * treated as a secret in every form (an API key): never shown. */
static const char *header_key(struct qshttp *q, const char *how, const char *value)
{
	size_t name = strcspn(value, ":");
	if (!value[name] || !name)
		return "not Name: value";
	for (size_t i = 0; i < name; i++)
		if (!isalnum((unsigned char)value[i]) && !strchr("!#$%&'*+-.^_`|~", value[i]))
			return "the header's name holds a byte a name cannot have";
	const char *v = value + name + 1;
	v += strspn(v, " \t");
	struct buf *h = &q->header;
	buf_reset(h);
	buf_add(h, value, name);
	buf_adds(h, ": ");
	if (!*how) {
		buf_adds(h, v);
	} else if (!strcmp(how, "_file")) {
		struct buf secret = { 0 };
		if (conf_read_secret(v, &secret) < 0) {
			snprintf(q->why, sizeof q->why, "cannot read %s: %s", v, strerror(errno));
			return q->why;
		}
		buf_add(h, secret.p, secret.n);
		buf_free(&secret);
	} else if (!strcmp(how, "_env")) {
		const char *env = getenv(v);
		if (!env || !*env) {
			snprintf(q->why, sizeof q->why, "%.100s is not set in the environment", v);
			return q->why;
		}
		buf_adds(h, env);
	} else {
		return conf_unknown_key;
	}
	for (size_t i = name + 2; i < h->n; i++)
		if ((unsigned char)h->p[i] < ' ' || h->p[i] == 0x7f)
			return "the header's value holds a control byte (the value is a secret: not shown)";
	if (name == 12 && !strncasecmp(value, "Content-Type", 12))
		q->has_content_type = 1;
	struct curl_slist *l = curl_slist_append(q->headers, buf_str(h));
	if (!l)
		die(1, "out of memory");
	q->headers = l;
	return NULL;
}

static const char *on_key(void *tool, const char *key, const char *value)
{
	struct qshttp *q = tool;
	struct httpbody *b = &q->body;
	const char *why = post_urls_key(&q->urls, key, value);
	if (why != conf_unknown_key)
		return why;
	if (!strncmp(key, "header", 6))
		return header_key(q, key + 6, value);
	if (!strcmp(key, "method")) {
		if (q->method_set++)
			return "given twice";
		if (strcmp(value, "POST") && strcmp(value, "PUT"))
			return "not POST or PUT";
		q->post.method = !strcmp(value, "PUT") ? "PUT" : NULL;
		return NULL;
	}
	if (!strcmp(key, "format")) {
		int f = httpbody_format(value);
		if (q->format_set++)
			return "given twice";
		if (f < 0)
			return "not json, ndjson, json-array or template";
		b->format = (enum httpbody_format)f;
		return NULL;
	}
	if (!strcmp(key, "escape")) {
		if (q->escape_set++)
			return "given twice";
		if (strcmp(value, "json") && strcmp(value, "none"))
			return "not json or none";
		b->raw = !strcmp(value, "none");
		return NULL;
	}
	if (!strcmp(key, "template"))
		return httpbody_template(b, value, q->why, sizeof q->why) < 0 ? q->why : NULL;
	if (!strcmp(key, "head"))
		return httpbody_literal(&b->head, value, q->why, sizeof q->why) < 0 ? q->why : NULL;
	if (!strcmp(key, "separator"))
		return httpbody_literal(&b->sep, value, q->why, sizeof q->why) < 0 ? q->why : NULL;
	if (!strcmp(key, "tail"))
		return httpbody_literal(&b->tail, value, q->why, sizeof q->why) < 0 ? q->why : NULL;
	if (!strcmp(key, "batch"))
		return conf_ulong(value, 1, BATCH_MAX, &q->batch) ? "not a number from 1 to 1000" : NULL;
	if (!strcmp(key, "rate"))
		return conf_seconds(value, 1000, &q->rate) || q->rate <= 0 ?
			"not a number of posts a second above 0 (at most 1000)" : NULL;
	if (!strcmp(key, "timeout"))
		return conf_seconds(value, 3600, &q->timeout) || q->timeout <= 0 ?
			"not a number of seconds above 0 (at most 3600)" : NULL;
	return conf_unknown_key;
}

/* ---- bodies ---- */

static const char *build(void *ctx, const struct post_dest *d, struct sink_item *const *items,
			 size_t n, struct buf *body)
{
	(void)d;
	struct qshttp *q = ctx;
	for (size_t i = 0; i < n; i++)
		sink_item_event(items[i], &q->events[i]);
	return httpbody_build(&q->body, body, q->events, n) < 0 ? "a malformed escape" : NULL;
}

static void print_bodies(void *ctx, const struct pollfd *pfd, int npfd, double now)
{
	(void)pfd, (void)npfd, (void)now;
	struct qshttp *q = ctx;
	post_print(&q->post, &q->preview);
}

/* ---- posting: post.h ---- */

static void setup_body(struct qshttp *q)
{
	const char *why = httpbody_ready(&q->body, q->batch);
	if (why)
		die(2, "[qshttp]: %s", why);
	q->events = calloc(q->batch, sizeof *q->events);
	if (!q->events)
		die(1, "out of memory");
}

static void setup_post(struct qshttp *q)
{
	struct curl_slist *l = q->headers;
	if (!q->has_content_type) {
		buf_reset(&q->header);
		buf_printf(&q->header, "Content-Type: %s", httpbody_content_type(&q->body));
		l = curl_slist_append(l, buf_str(&q->header));
	}
	/* No "Expect: 100-continue" round trip for a large batch. */
	l = l ? curl_slist_append(l, "Expect:") : NULL;
	if (!l)
		die(1, "libcurl: out of memory");
	q->headers = l;
	q->post.headers = l;
	q->post.timeout = q->timeout;
	q->post.interval = q->rate > 0 ? 1 / q->rate : 0;
	q->post.batch_max = q->batch;
	post_setup(&q->post);
}

static int release(struct qshttp *q, int status)
{
	post_urls_free(&q->urls);
	post_free(&q->post);
	httpbody_free(&q->body);
	curl_slist_free_all(q->headers);
	free(q->events);
	buf_free(&q->preview);
	buf_free(&q->header);
	return status;
}

int main(int argc, char **argv)
{
	diag_init("qshttp");
	diag_std_flags(argc, argv, usage);
	struct qshttp q = { .timeout = 10, .batch = 1 };
	struct sink_driver driver = {
		.name = "qshttp", .default_events = SINK_DEFAULT_EVENTS, .conf_key = on_key,
		.lane = post_hook_lane, .fds = post_hook_fds, .pump = post_hook_pump,
		.stop = post_hook_stop, .counters = post_hook_counters,
	};
	q.sink = sink_new(&driver, &q);
	q.post = (struct post){ .sink = q.sink, .build = build, .ctx = &q, .what = "URL",
				.agent = "qshttp/" QSPIPE_VERSION, .batches_name = "batches" };
	q.urls = (struct post_urls){ .name = "url", .section = "qshttp", .env = "QSHTTP_URL", .flag = "-u" };
	int c;
	while ((c = getopt(argc, argv, SINK_FLAGS "u:n")) != -1) {
		q.tee |= c == 't';
		if (sink_flag(q.sink, c, optarg))
			continue;
		switch (c) {
		case 'u': q.flag_url = optarg; break;
		case 'n': q.dry_run = 1; break;
		default: diag_usage(usage);
		}
	}
	if (q.dry_run && q.tee)
		die(2, "-n and -t both write stdout: give one");
	sink_configure(q.sink);
	setup_body(&q);
	if (q.dry_run) {
		sink_transient(q.sink);
		driver = (struct sink_driver){ .name = driver.name, .default_events = driver.default_events,
					       .conf_key = on_key, .pump = print_bodies };
		return release(&q, sink_run(q.sink, argc - optind, argv + optind));
	}
	post_urls_default(&q.urls, q.flag_url);
	post_urls_lanes(&q.urls, &q.post, sink_events(q.sink), q.post.lane_of);
	setup_post(&q);
	int status = sink_run(q.sink, argc - optind, argv + optind);
	curl_global_cleanup();
	return release(&q, status);
}
