/* qsteams: events in, Microsoft Teams webhook posts out (qspipe-events(5)). The sink runtime
 * (sink.h) reads, queues, spools and retries; teams.h builds the cards; post.h posts them: a
 * lane, a kept-alive connection and one post in flight per webhook, paced (Workflows webhooks
 * throttle), with a digest card of what waits. */
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "diag.h"
#include "post.h"
#include "sink.h"
#include "teams.h"
#include "xfer.h"

static const char usage[] =
	"qsteams [-t] [-c FILE] [-w URL] [-S DIR] [-e EVENTS] [-M FILE] [-n] [FILE...]\n"
	"  -t         pass every input line through to stdout at once\n"
	"  -c FILE    the config file (else $QSPIPE_CONF); section [qsteams]\n"
	"  -w URL     the default webhook (else $QSTEAMS_WEBHOOK, else webhook/webhook_file)\n"
	"  -S DIR     spool directory: queued events survive restarts\n"
	"  -e EVENTS  only these events (default task_failed task_aborted)\n"
	"  -M FILE    write the counters to FILE in Prometheus' text format (metrics =)\n"
	"  -n         print each card's JSON body, one a line, and post nothing\n"
	"  -V         the version; --help this text";

/* A link base longer than this is a config error: it keeps a card's size bounded. */
#define LINK_BASE_MAX 1000

struct qsteams {
	struct post post;	/* first: post.h's hooks take the sink ctx as it */
	struct sink *sink;
	struct post_urls hooks;
	struct teams_style style;
	struct teams_work work;
	char *qmc_url, *hub_url;
	int format_set;
	double rate, timeout;
	const char *flag_webhook;
	int dry_run, tee;
	struct curl_slist *headers;
	struct teams_event batch[TEAMS_DIGEST_MAX];
	struct buf preview;
};
_Static_assert(offsetof(struct qsteams, post) == 0, "post.h's hooks need the post first");

/* ---- configuration ---- */

static const char *link_key(char **dst, const char *value)
{
	if (*dst)
		return "given twice";
	*dst = xstrdup(value);
	if (strlen(value) > LINK_BASE_MAX)
		return "longer than 1000 bytes";
	return xfer_link_base(*dst);
}

static const char *on_key(void *tool, const char *key, const char *value)
{
	struct qsteams *q = tool;
	const char *why = post_urls_key(&q->hooks, key, value);
	if (why != conf_unknown_key)
		return why;
	if (!strcmp(key, "format")) {
		if (q->format_set++)
			return "given twice";
		if (!strcmp(value, "adaptive"))
			q->style.format = TEAMS_ADAPTIVE;
		else if (!strcmp(value, "messagecard"))
			q->style.format = TEAMS_MESSAGECARD;
		else
			return "not adaptive or messagecard";
		return NULL;
	}
	if (!strcmp(key, "qmc_url"))
		return link_key(&q->qmc_url, value);
	if (!strcmp(key, "hub_url"))
		return link_key(&q->hub_url, value);
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
	struct qsteams *q = ctx;
	for (size_t i = 0; i < n; i++) {
		q->batch[i].kind = items[i]->event;
		sink_item_event(items[i], &q->batch[i].ev);
	}
	teams_body(body, &q->style, q->batch, n, &q->work);
	return NULL;
}

static void print_bodies(void *ctx, const struct pollfd *pfd, int npfd, double now)
{
	(void)pfd, (void)npfd, (void)now;
	struct qsteams *q = ctx;
	post_print(&q->post, &q->preview);
}

/* ---- posting: post.h ---- */

static void stop(void *ctx)
{
	struct qsteams *q = ctx;
	post_stop(&q->post);
	curl_slist_free_all(q->headers);
	q->headers = NULL;
}

static void setup_post(struct qsteams *q)
{
	/* No "Expect: 100-continue" round trip for a large card. */
	struct curl_slist *h1 = curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
	q->headers = h1 ? curl_slist_append(h1, "Expect:") : NULL;
	if (!q->headers)
		die(1, "libcurl: out of memory");
	q->post.headers = q->headers;
	q->post.timeout = q->timeout;
	q->post.interval = 1 / q->rate;
	post_setup(&q->post);
}

static int release(struct qsteams *q, int status)
{
	post_urls_free(&q->hooks);
	post_free(&q->post);
	free(q->qmc_url);
	free(q->hub_url);
	buf_free(&q->preview);
	teams_work_free(&q->work);
	return status;
}

int main(int argc, char **argv)
{
	diag_init("qsteams");
	diag_std_flags(argc, argv, usage);
	struct qsteams q = { .rate = 0.5, .timeout = 10 };
	struct sink_driver driver = {
		.name = "qsteams",
		.default_events = 1u << EV_TASK_FAILED | 1u << EV_TASK_ABORTED,
		.conf_key = on_key, .lane = post_hook_lane, .fds = post_hook_fds, .pump = post_hook_pump,
		.stop = stop, .counters = post_hook_counters,
	};
	q.sink = sink_new(&driver, &q);
	q.post = (struct post){ .sink = q.sink, .build = build, .ctx = &q, .what = "webhook",
				.agent = "qsteams/" QSPIPE_VERSION, .batches_name = "digests",
				.batch_max = TEAMS_DIGEST_MAX,
				.classify = teams_classify };
	q.hooks = (struct post_urls){ .name = "webhook", .section = "qsteams", .env = "QSTEAMS_WEBHOOK",
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
	q.style.qmc_url = q.qmc_url;
	q.style.hub_url = q.hub_url;
	if (q.dry_run) {
		sink_transient(q.sink);
		driver = (struct sink_driver){ .name = driver.name, .default_events = driver.default_events,
					       .conf_key = on_key, .pump = print_bodies };
		return release(&q, sink_run(q.sink, argc - optind, argv + optind));
	}
	post_urls_default(&q.hooks, q.flag_webhook);
	post_urls_lanes(&q.hooks, &q.post, sink_events(q.sink), q.post.lane_of);
	setup_post(&q);
	int status = sink_run(q.sink, argc - optind, argv + optind);
	curl_global_cleanup();
	return release(&q, status);
}
