/* qsslack: events in, Slack incoming-webhook posts out (qspipe-events(5)). The sink runtime
 * (sink.h) reads, queues, spools and retries; this file formats (slack.h) and posts with
 * post.h: one lane, one kept-alive connection and one post in flight per webhook, paced, with
 * digests of what waits. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
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

static const char usage[] = "qsslack [-t] [-c FILE] [-w URL] [-S DIR] [-e EVENTS] [-n] [FILE...]";

/* The default webhook's slot after the per-event ones. */
#define DEFAULT_HOOK TSV_NEVENTS

struct config {
	struct buf webhook[TSV_NEVENTS + 1];	/* per event (webhook.EVENT), then the default */
	unsigned char tmpl_set[TSV_NEVENTS];
	char *username, *icon_emoji, *channel, *qmc_url, *hub_url;
	double rate, timeout;
	char why[320];				/* a complaint that names a file */
};

struct qsslack {
	struct sink *sink;
	struct config conf;
	struct slack_style style;
	struct slack_work work;
	const char *flag_webhook;
	int dry_run, tee;
	struct post post;
	unsigned lane_of[TSV_NEVENTS];
	struct curl_slist *headers;
	struct slack_event digest[SLACK_DIGEST_MAX];
	struct buf preview;			/* -n: the bodies of one turn */
};

/* ---- configuration ---- */

/* webhook, webhook_file, webhook.EVENT, webhook_file.EVENT; rest is what follows "webhook". */
static const char *webhook_key(struct qsslack *q, const char *rest, const char *value)
{
	int from_file = !strncmp(rest, "_file", 5);
	if (from_file)
		rest += 5;
	int slot = DEFAULT_HOOK;
	if (*rest == '.')
		slot = tsv_event_index(rest + 1, strlen(rest + 1));
	else if (*rest)
		return conf_unknown_key;
	if (slot < 0)
		return "unknown event name";
	struct buf *url = &q->conf.webhook[slot];
	const char *why = conf_secret(url, value, from_file, q->conf.why, sizeof q->conf.why);
	return why ? why : xfer_check_url(buf_str(url));
}

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
	if (!strncmp(key, "webhook", 7))
		return webhook_key(q, key + 7, value);
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

/* Flags override the environment, which overrides the file. */
static void default_webhook(struct qsslack *q)
{
	struct buf *dst = &q->conf.webhook[DEFAULT_HOOK];
	if (q->flag_webhook) {
		buf_reset(dst);
		buf_adds(dst, q->flag_webhook);
	} else if (!conf_secret_env(dst, "QSSLACK_WEBHOOK")) {
		return;
	}
	const char *why = xfer_check_url(buf_str(dst));
	if (why)
		die(2, "%s: %s", q->flag_webhook ? "-w" : "QSSLACK_WEBHOOK", why);
}

/* One destination (lane) per distinct URL: events sent to the same webhook share its pacing. */
static void setup_hooks(struct qsslack *q)
{
	unsigned selected = sink_events(q->sink);
	for (int ev = 0; ev < TSV_NEVENTS; ev++) {
		struct buf *url = &q->conf.webhook[ev];
		if (!url->n)
			url = &q->conf.webhook[DEFAULT_HOOK];
		if (!url->n) {
			if (selected & (1u << ev))
				die(2, "no webhook for %s events: set webhook or webhook_file in [qsslack], "
				    "QSSLACK_WEBHOOK or -w", tsv_event_names[ev].p);
			continue;
		}
		q->lane_of[ev] = post_dest(&q->post, buf_str(url));
	}
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

static unsigned lane_of(void *ctx, const struct sink_item *it)
{
	struct qsslack *q = ctx;
	return q->lane_of[it->event];
}

static int fds(void *ctx, struct pollfd *pfd, int max, double *wait)
{
	struct qsslack *q = ctx;
	return post_fds(&q->post, pfd, max, wait);
}

static void pump(void *ctx, const struct pollfd *pfd, int npfd, double now)
{
	struct qsslack *q = ctx;
	post_pump(&q->post, pfd, npfd, now);
}

static void stop(void *ctx)
{
	struct qsslack *q = ctx;
	post_stop(&q->post);
	curl_slist_free_all(q->headers);
	q->headers = NULL;
}

static void counters(void *ctx, struct buf *out)
{
	struct qsslack *q = ctx;
	post_counters(&q->post, out, "digests");
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
	for (int i = 0; i <= TSV_NEVENTS; i++)
		buf_free(&c->webhook[i]);
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
		.name = "qsslack", .default_events = SINK_DEFAULT_EVENTS, .conf_key = on_key,
		.lane = lane_of, .fds = fds, .pump = pump, .stop = stop, .counters = counters,
	};
	q.sink = sink_new(&driver, &q);
	q.post = (struct post){ .sink = q.sink, .build = build, .ctx = &q, .what = "webhook",
				.agent = "qsslack/" QSPIPE_VERSION, .batch_max = SLACK_DIGEST_MAX,
				.redact = XFER_REDACT_HOST };
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
	default_webhook(&q);
	setup_hooks(&q);
	setup_post(&q);
	int status = sink_run(q.sink, argc - optind, argv + optind);
	curl_global_cleanup();
	return release(&q, status);
}
