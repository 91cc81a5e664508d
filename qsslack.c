/* qsslack: events in, Slack incoming-webhook posts out (qspipe-events(5)). The sink runtime
 * (sink.h) reads, queues, spools and retries; this file formats (slack.h) and posts with
 * post.h: one lane, one kept-alive connection and one post in flight per webhook, paced, with
 * digests of what waits. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "diag.h"
#include "post.h"
#include "sink.h"
#include "slack.h"
#include "xfer.h"

static const char usage[] =
	"qsslack [-t] [-c FILE] [-w URL] [-S DIR] [-e EVENTS] [-M FILE] [-n] [FILE...]\n"
	"  -t         pass every input line through to stdout at once\n"
	"  -c FILE    the config file (default $QSPIPE_CONF), section [qsslack]\n"
	"  -w URL     the default webhook (a secret: prefer QSSLACK_WEBHOOK or webhook_file)\n"
	"  -S DIR     spool directory: queued events survive a restart\n"
	"  -e EVENTS  post only these events (default task_failed task_aborted)\n"
	"  -M FILE    write the counters to FILE in Prometheus' text format (metrics =)\n"
	"  -n         dry run: print the message bodies, post nothing\n"
	"  -V         print the version; --help this text";

struct config {
	unsigned char tmpl_set[TSV_NEVENTS];
	char *username, *icon_emoji, *channel, *qmc_url, *hub_url;
	double rate, timeout;
	char why[320];				/* a complaint that names a file */
};

struct qsslack {
	struct post post;	/* first: post.h's hooks take the sink ctx as it */
	struct sink *sink;
	struct config conf;
	struct slack_style style;
	struct slack_work work;
	const char *flag_webhook;
	int dry_run, tee;
	struct post_urls hooks;
	struct curl_slist *headers;
	struct slack_event digest[SLACK_DIGEST_MAX];
	struct buf preview;			/* -n: the bodies of one turn */
};
_Static_assert(offsetof(struct qsslack, post) == 0, "post.h's hooks need the post first");

/* ---- configuration ---- */

/* template.EVENT; an indented continuation line comes again with the same key and is joined
 * with one space. Only "unclosed {" may be fixed by a continuation. */
static const char *template_key(struct qsslack *q, const char *name, const char *value)
{
	int ev = tsv_event_index(name, strlen(name));
	if (ev < 0)
		return "unknown event name";
	if (q->conf.tmpl_set[ev])
		return "given twice";
	q->conf.tmpl_set[ev] = 1;
	return slack_style_template(&q->style, ev, value, q->conf.why, sizeof q->conf.why) < 0 ? q->conf.why
												: NULL;
}

static const char *string_key(char **dst, const char *value)
{
	if (*dst)
		return "given twice";
	*dst = strdup(value);
	if (!*dst)
		die(1, "loading the config: out of memory");
	return NULL;
}

static const char *link_key(char **dst, const char *value)
{
	const char *why = string_key(dst, value);
	return why ? why : slack_check_link_base(*dst);
}

static const char *on_key(void *tool, const char *key, const char *value)
{
	struct qsslack *q = tool;
	struct config *c = &q->conf;
	const char *why = post_urls_key(&q->hooks, key, value);
	if (why != conf_unknown_key)
		return why;
	if (!strncmp(key, "template.", 9))
		return template_key(q, key + 9, value);
	if (!strcmp(key, "username"))
		return string_key(&c->username, value);
	if (!strcmp(key, "icon_emoji"))
		return string_key(&c->icon_emoji, value);
	if (!strcmp(key, "channel"))
		return string_key(&c->channel, value);
	if (!strcmp(key, "qmc_url"))
		return link_key(&c->qmc_url, value);
	if (!strcmp(key, "hub_url"))
		return link_key(&c->hub_url, value);
	if (!strcmp(key, "rate"))
		return conf_seconds(value, 1000, &c->rate) || c->rate <= 0 ?
			"not a number of posts a second above 0 (at most 1000)" : NULL;
	if (!strcmp(key, "timeout"))
		return conf_seconds(value, 3600, &c->timeout) || c->timeout <= 0 ?
			"not a number of seconds above 0 (at most 3600)" : NULL;
	return conf_unknown_key;
}

static void setup_style(struct qsslack *q)
{
	struct config *c = &q->conf;
	char why[160];
	for (int ev = 0; ev < TSV_NEVENTS; ev++)	/* the defaults where the config set none */
		if (!c->tmpl_set[ev] && slack_style_template(&q->style, ev, NULL, why, sizeof why) < 0)
			die(1, "default template.%s: %s", tsv_event_names[ev].p, why);
	q->style.username = c->username;
	q->style.icon_emoji = c->icon_emoji;
	q->style.channel = c->channel;
	q->style.qmc_url = c->qmc_url;
	q->style.hub_url = c->hub_url;
}

/* ---- bodies ---- */

static void item_event(const struct sink_item *it, struct slack_event *e)
{
	e->kind = it->event;
	sink_item_event(it, &e->ev);
}

/* post.h's builder: one event's message, or a digest of several. Never fails (slack.h). */
static const char *build(void *ctx, const struct post_dest *d, struct sink_item *const *items,
			 size_t n, struct buf *body)
{
	(void)d;
	struct qsslack *q = ctx;
	for (size_t i = 0; i < n; i++)
		item_event(items[i], &q->digest[i]);
	if (n > 1)
		slack_body_digest(body, &q->style, q->digest, n, &q->work);
	else
		slack_body_event(body, &q->style, &q->digest[0], &q->work);
	return NULL;
}

/* The dry run's pump: every event queued since the last turn, one body a line, in one write.
 * A dry run sets up no webhook, so everything is in lane 0. */
static void print_bodies(void *ctx, const struct pollfd *pfd, int npfd, double now)
{
	(void)pfd, (void)npfd, (void)now;
	struct qsslack *q = ctx;
	post_print(&q->post, &q->preview);
}

/* ---- posting: post.h ---- */

static void stop(void *ctx)
{
	struct qsslack *q = ctx;
	post_stop(&q->post);
	curl_slist_free_all(q->headers);
	q->headers = NULL;
}

static void setup_post(struct qsslack *q)
{
	/* No "Expect: 100-continue" round trip for a large digest. */
	struct curl_slist *h1 = curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
	q->headers = h1 ? curl_slist_append(h1, "Expect:") : NULL;
	if (!q->headers)
		die(1, "libcurl: out of memory");
	q->post.headers = q->headers;
	q->post.timeout = q->conf.timeout;
	q->post.interval = 1 / q->conf.rate;
	post_setup(&q->post);
}

/* Frees what main set up, so that a leak checker sees only real leaks. */
static int release(struct qsslack *q, int status)
{
	struct config *c = &q->conf;
	post_urls_free(&q->hooks);
	free(c->username);
	free(c->icon_emoji);
	free(c->channel);
	free(c->qmc_url);
	free(c->hub_url);
	post_free(&q->post);
	buf_free(&q->preview);
	slack_style_free(&q->style);
	slack_work_free(&q->work);
	return status;
}

int main(int argc, char **argv)
{
	diag_init("qsslack");
	diag_std_flags(argc, argv, usage);
	struct qsslack q = { .conf = { .rate = 1, .timeout = 10 } };
	struct sink_driver driver = {
		/* a notification: what needs a person by default; the rest on request (events =) */
		.name = "qsslack", .default_events = 1u << EV_TASK_FAILED | 1u << EV_TASK_ABORTED,
		.conf_key = on_key,
		.lane = post_hook_lane, .fds = post_hook_fds, .pump = post_hook_pump,
		.stop = stop, .counters = post_hook_counters,
	};
	q.sink = sink_new(&driver, &q);
	q.post = (struct post){ .sink = q.sink, .build = build, .ctx = &q, .what = "webhook",
				.agent = "qsslack/" QSPIPE_VERSION, .batches_name = "digests",
				.batch_max = SLACK_DIGEST_MAX,
				.redact = XFER_REDACT_HOST };
	q.hooks = (struct post_urls){ .name = "webhook", .section = "qsslack", .env = "QSSLACK_WEBHOOK",
				      .flag = "-w" };
	int c;
	while ((c = getopt(argc, argv, SINK_FLAGS "w:n")) != -1) {
		q.tee |= c == 't';
		if (sink_flag(q.sink, c, optarg))
			continue;
		switch (c) {
		case 'w': q.flag_webhook = optarg; break;
		case 'n': q.dry_run = 1; break;
		default: diag_usage(usage);
		}
	}
	if (q.dry_run && q.tee)
		die(2, "-n and -t both write stdout: give one");
	sink_configure(q.sink);
	setup_style(&q);
	if (q.dry_run) {
		/* The runtime reads the driver through its pointer: a dry run keeps the runtime's
		 * input, checks, events and signals, and prints instead of posting. */
		sink_transient(q.sink);
		driver = (struct sink_driver){ .name = driver.name, .default_events = driver.default_events,
					       .conf_key = on_key, .pump = print_bodies };
		return release(&q, sink_run(q.sink, argc - optind, argv + optind));
	}
	/* Flags override the environment, which overrides the file; one destination (lane)
	 * per distinct URL: events sent to the same webhook share its pacing. */
	post_urls_default(&q.hooks, q.flag_webhook);
	post_urls_lanes(&q.hooks, &q.post, sink_events(q.sink), q.post.lane_of);
	setup_post(&q);
	int status = sink_run(q.sink, argc - optind, argv + optind);
	curl_global_cleanup();
	return release(&q, status);
}
