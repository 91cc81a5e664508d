/* qsslack: events in, Slack incoming-webhook posts out (DESIGN.md). The sink runtime (sink.h)
 * reads, queues, spools and retries; this file formats (slack.h) and posts with the libcurl
 * multi interface in the runtime's loop: one lane, one easy handle (so one kept-alive
 * connection) and one post in flight per webhook, paced, with digests of what waits. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "diag.h"
#include "sink.h"
#include "slack.h"

static const char usage[] = "qsslack [-t] [-c FILE] [-w URL] [-S DIR] [-e EVENTS] [-M FILE] [-n] [FILE...]";

/* The default webhook's slot after the per-event ones. */
#define DEFAULT_HOOK TSV_NEVENTS
/* Of a post's answer, what is kept: Slack's answers are a word or two. */
#define ANSWER_MAX 4096

struct config {
	struct buf webhook[TSV_NEVENTS + 1];	/* per event (webhook.EVENT), then the default */
	unsigned char tmpl_set[TSV_NEVENTS];
	char *username, *icon_emoji, *channel, *qmc_url, *hub_url;
	double rate, timeout;
	char why[320];				/* a complaint that names a file */
};

struct hook {
	const char *url;
	char label[80];			/* host/..., for messages: the URL is a secret */
	unsigned lane;
	CURL *easy;
	struct sink_item *batch;	/* the items of the post in flight, by drv_next */
	int busy;
	int reported;			/* a permanent failure was reported since the last success */
	double next_post;		/* pacing and Retry-After: no post before (monotonic) */
	struct buf body, answer;
};

struct qsslack {
	struct sink *sink;
	struct config conf;
	struct slack_style style;
	struct slack_work work;
	const char *flag_webhook;
	int dry_run, tee;
	struct hook hooks[TSV_NEVENTS + 1];
	unsigned nhooks;
	unsigned lane_of[TSV_NEVENTS];
	CURLM *multi;
	struct curl_slist *headers;
	struct pollfd socks[SINK_MAX_FDS];	/* what curl wants watched */
	int nsocks;
	double timer;				/* when curl wants its timeout action; -1 never */
	struct slack_event digest[SLACK_DIGEST_MAX];
	struct buf preview;			/* -n: the bodies of one turn */
	unsigned long posts, digests, paused, failed_posts, refused_posts;
	struct ratelimit rl_fail;
};

/* ---- configuration ---- */

static const char *check_webhook(struct buf *url)
{
	if (!url->n)
		return "empty";
	if (!slack_is_http_url(buf_str(url)))
		return "not an http:// or https:// URL (the value is a secret: not shown)";
	for (size_t i = 0; i < url->n; i++)
		if ((unsigned char)url->p[i] <= ' ' || url->p[i] == 0x7f)
			return "URL holds a blank or control byte (the value is a secret: not shown)";
	return NULL;
}

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
	if (url->n)
		return "given twice (webhook and webhook_file count as one)";
	if (!from_file)
		buf_adds(url, value);
	else if (conf_read_secret(value, url) < 0) {
		snprintf(q->conf.why, sizeof q->conf.why, "cannot read %s: %s", value, strerror(errno));
		return q->conf.why;
	}
	return check_webhook(url);
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
	const char *env = getenv("QSSLACK_WEBHOOK");
	const char *url = q->flag_webhook ? q->flag_webhook : env && *env ? env : NULL;
	if (!url)
		return;
	struct buf *dst = &q->conf.webhook[DEFAULT_HOOK];
	buf_reset(dst);
	buf_adds(dst, url);
	const char *why = check_webhook(dst);
	if (why)
		die(2, "%s: %s", q->flag_webhook ? "-w" : "QSSLACK_WEBHOOK", why);
}

/* Whether a redacted URL's host (before its port and "/...") is the loopback: localhost,
 * [::1] or 127.x.x.x, the whole host, not a name that starts like one. */
static int loopback(const char *redacted)
{
	size_t n = *redacted == '[' ? strcspn(redacted, "]") + 1 : strcspn(redacted, ":/");
	if (n == 9 && !strncasecmp(redacted, "localhost", 9))
		return 1;
	if (n == 5 && !strncmp(redacted, "[::1]", 5))
		return 1;
	return n > 4 && !strncmp(redacted, "127.", 4) && strspn(redacted, "0123456789.") == n;
}

/* One lane per distinct URL: events sent to the same webhook share its pacing. */
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
		const char *s = buf_str(url);
		unsigned h = 0;
		while (h < q->nhooks && strcmp(q->hooks[h].url, s))
			h++;
		q->lane_of[ev] = h;
		if (h < q->nhooks)
			continue;
		struct hook *hook = &q->hooks[q->nhooks++];
		hook->url = s;
		hook->lane = h;
		struct buf label = { 0 };
		slack_redact_url(&label, s);
		snprintf(hook->label, sizeof hook->label, "%s", buf_str(&label));
		if (!strncmp(s, "http://", 7) && !loopback(buf_str(&label)))
			warnx("webhook %s is plain http: its URL, a secret, travels unencrypted", hook->label);
		buf_free(&label);
	}
	sink_set_lanes(q->sink, q->nhooks ? q->nhooks : 1);
}

/* ---- dry run (-n): the runtime reads, checks and selects; the bodies go to stdout ---- */

static void item_event(const struct sink_item *it, struct slack_event *e)
{
	e->kind = it->event;
	sink_item_event(it, &e->ev);
}

/* The dry run's pump: every event queued since the last turn, one body a line, in one write.
 * A dry run sets up no webhook, so everything is in lane 0. */
static void print_bodies(void *ctx, const struct pollfd *pfd, int npfd, double now)
{
	(void)pfd, (void)npfd, (void)now;
	struct qsslack *q = ctx;
	struct sink_item *it;
	struct slack_event e;
	while ((it = sink_take(q->sink, 0))) {
		item_event(it, &e);
		slack_body_event(&q->preview, &q->style, &e, &q->work);
		buf_addc(&q->preview, '\n');
		sink_done(q->sink, it, SINK_OK, 0, NULL);
	}
	if (buf_write_fd(&q->preview, 1) < 0)
		diesys(1, "write stdout");
}

/* ---- posting ---- */

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *ctx, void *sockp)
{
	(void)easy, (void)sockp;
	struct qsslack *q = ctx;
	int i = 0;
	while (i < q->nsocks && q->socks[i].fd != fd)
		i++;
	if (what == CURL_POLL_REMOVE) {
		if (i < q->nsocks)
			q->socks[i] = q->socks[--q->nsocks];
		return 0;
	}
	if (i == q->nsocks) {
		if (q->nsocks == SINK_MAX_FDS) {
			warnx("libcurl wants more than %d sockets watched", SINK_MAX_FDS);
			return -1;
		}
		q->nsocks++;
	}
	q->socks[i] = (struct pollfd){ .fd = fd,
		.events = (short)((what & CURL_POLL_IN ? POLLIN : 0) | (what & CURL_POLL_OUT ? POLLOUT : 0)) };
	return 0;
}

static int on_timer(CURLM *multi, long ms, void *ctx)
{
	(void)multi;
	struct qsslack *q = ctx;
	q->timer = ms < 0 ? -1 : now_mono() + (double)ms / 1000;
	return 0;
}

static size_t on_answer(char *p, size_t size, size_t n, void *ctx)
{
	struct buf *answer = ctx;
	size_t len = size * n;
	if (answer->n < ANSWER_MAX)
		buf_add(answer, p, len < ANSWER_MAX - answer->n ? len : ANSWER_MAX - answer->n);
	return len;
}

static void setup_curl(struct qsslack *q)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		die(1, "libcurl: global init failed");
	q->multi = curl_multi_init();
	q->timer = -1;
	/* No "Expect: 100-continue" round trip for a large digest. */
	struct curl_slist *h1 = curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
	q->headers = h1 ? curl_slist_append(h1, "Expect:") : NULL;
	if (!q->multi || !q->headers)
		die(1, "libcurl: out of memory");
	int ok = curl_multi_setopt(q->multi, CURLMOPT_SOCKETFUNCTION, on_socket) == CURLM_OK &&
		 curl_multi_setopt(q->multi, CURLMOPT_SOCKETDATA, q) == CURLM_OK &&
		 curl_multi_setopt(q->multi, CURLMOPT_TIMERFUNCTION, on_timer) == CURLM_OK &&
		 curl_multi_setopt(q->multi, CURLMOPT_TIMERDATA, q) == CURLM_OK;
	long timeout_ms = (long)(q->conf.timeout * 1000);
	for (unsigned i = 0; ok && i < q->nhooks; i++) {
		struct hook *h = &q->hooks[i];
		CURL *e = h->easy = curl_easy_init();
		/* TLS is verified and proxies come from the environment: libcurl's defaults, kept. */
		ok = e && curl_easy_setopt(e, CURLOPT_URL, h->url) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_PRIVATE, h) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_HTTPHEADER, q->headers) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_USERAGENT, "qsslack/" QSPIPE_VERSION) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_answer) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_WRITEDATA, &h->answer) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_POST, 1L) == CURLE_OK;
	}
	if (!ok)
		die(1, "libcurl: setting up a transfer failed");
}

static unsigned lane_of(void *ctx, const struct sink_item *it)
{
	struct qsslack *q = ctx;
	return q->lane_of[it->event];
}

static void bound(double *wait, double seconds)
{
	if (seconds < 0)
		seconds = 0;
	if (*wait < 0 || seconds < *wait)
		*wait = seconds;
}

static int fds(void *ctx, struct pollfd *pfd, int max, double *wait)
{
	struct qsslack *q = ctx;
	int n = q->nsocks < max ? q->nsocks : max;
	memcpy(pfd, q->socks, (size_t)n * sizeof *pfd);
	double now = now_mono();
	if (q->timer >= 0)
		bound(wait, q->timer - now);
	for (unsigned i = 0; i < q->nhooks; i++)
		if (!q->hooks[i].busy && sink_ready(q->sink, q->hooks[i].lane))
			bound(wait, q->hooks[i].next_post - now);
	return n;
}

/* Takes what is ready in the hook's lane, up to a digest's worth, and starts its post. */
static void start_post(struct qsslack *q, struct hook *h)
{
	size_t n = 0;
	struct sink_item *it, **tail = &h->batch;
	while (n < SLACK_DIGEST_MAX && (it = sink_take(q->sink, h->lane))) {
		item_event(it, &q->digest[n++]);
		it->drv_next = NULL;
		*tail = it;
		tail = &it->drv_next;
	}
	if (!n)
		return;
	buf_reset(&h->body);
	if (n > 1) {
		slack_body_digest(&h->body, &q->style, q->digest, n, &q->work);
		q->digests++;
	} else {
		slack_body_event(&h->body, &q->style, &q->digest[0], &q->work);
	}
	buf_reset(&h->answer);
	if (curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE, (long)h->body.n) != CURLE_OK ||
	    curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, h->body.p) != CURLE_OK ||
	    curl_multi_add_handle(q->multi, h->easy) != CURLM_OK)
		die(1, "libcurl: starting a post to %s failed", h->label);
	h->busy = 1;
	q->posts++;
}

static enum sink_result judge(struct qsslack *q, struct hook *h, const struct slack_answer *a,
			      double now, double *delay)
{
	*delay = SINK_BACKOFF;
	switch (a->verdict) {
	case SLACK_DELIVERED:
		h->reported = 0;
		return SINK_OK;
	case SLACK_RETRY_AFTER:
		q->paused++;
		*delay = a->retry_after;
		if (h->next_post < now + a->retry_after)
			h->next_post = now + a->retry_after;
		warnx("webhook %s: %s: pausing it %.0f s", h->label, a->reason, a->retry_after);
		return SINK_RETRY;
	case SLACK_TRANSIENT:
		q->failed_posts++;
		if (ratelimit_allow(&q->rl_fail, 5, "post failure diagnostics"))
			warnx("webhook %s: %s: retrying with backoff", h->label, a->reason);
		return SINK_RETRY;
	default:
		q->refused_posts++;
		if (!h->reported)
			warnx("webhook %s: %s: dead-lettering what it refuses, never retried",
			      h->label, a->reason);
		h->reported = 1;
		return SINK_PERMANENT;
	}
}

static void finish_post(struct qsslack *q, CURL *easy, CURLcode res)
{
	struct hook *h;
	long status = 0;
	struct curl_header *retry_after;
	const char *ra = NULL;
	if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&h) != CURLE_OK)
		die(1, "libcurl: a finished transfer without its webhook");
	curl_multi_remove_handle(q->multi, easy);
	if (res == CURLE_OK && curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		status = 0;
	if (status == 429 && curl_easy_header(easy, "Retry-After", 0, CURLH_HEADER, -1,
					      &retry_after) == CURLHE_OK)
		ra = retry_after->value;
	struct slack_answer a;
	slack_classify(status, h->answer.p, h->answer.n, ra, &a);
	/* libcurl's error buffer may hold the URL, a secret: only the generic text. */
	if (res != CURLE_OK)
		snprintf(a.reason, sizeof a.reason, "%s", curl_easy_strerror(res));
	double now = now_mono(), delay;
	/* Counted from the answer, so that Slack never sees two posts closer than 1/rate s. */
	h->next_post = now + 1 / q->conf.rate;
	enum sink_result r = judge(q, h, &a, now, &delay);
	/* A digest's first (oldest) item takes the backoff and holds the lane; the others come
	 * due with it, not each at its own jittered time, so the retry is one digest again. */
	for (struct sink_item *it = h->batch, *next; it; it = next) {
		next = it->drv_next;
		sink_done(q->sink, it, r, delay, a.reason);
		if (delay < 0)
			delay = 0;
	}
	h->batch = NULL;
	h->busy = 0;
}

static void pump(void *ctx, const struct pollfd *pfd, int npfd, double now)
{
	struct qsslack *q = ctx;
	int running;
	for (int i = 0; i < npfd; i++) {
		if (!pfd[i].revents)
			continue;
		int ev = (pfd[i].revents & (POLLIN | POLLHUP) ? CURL_CSELECT_IN : 0) |
			 (pfd[i].revents & POLLOUT ? CURL_CSELECT_OUT : 0) |
			 (pfd[i].revents & POLLERR ? CURL_CSELECT_ERR : 0);
		curl_multi_socket_action(q->multi, pfd[i].fd, ev, &running);
	}
	if (q->timer >= 0 && now >= q->timer) {
		q->timer = -1;
		curl_multi_socket_action(q->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(q->multi, &left)))
		if (msg->msg == CURLMSG_DONE)
			finish_post(q, msg->easy_handle, msg->data.result);
	for (unsigned i = 0; i < q->nhooks; i++)
		if (!q->hooks[i].busy && now >= q->hooks[i].next_post)
			start_post(q, &q->hooks[i]);
}

static void stop(void *ctx)
{
	struct qsslack *q = ctx;
	for (unsigned i = 0; i < q->nhooks; i++) {
		struct hook *h = &q->hooks[i];
		if (h->busy)
			curl_multi_remove_handle(q->multi, h->easy);
		h->batch = NULL;
		h->busy = 0;
		curl_easy_cleanup(h->easy);
		h->easy = NULL;
	}
	curl_multi_cleanup(q->multi);
	q->multi = NULL;
	curl_slist_free_all(q->headers);
	q->headers = NULL;
	ratelimit_flush(&q->rl_fail, "post failure diagnostics");
}

static void counters(void *ctx, struct buf *out)
{
	struct qsslack *q = ctx;
	buf_printf(out, " posts=%lu digests=%lu paused=%lu post_failures=%lu refused=%lu",
		   q->posts, q->digests, q->paused, q->failed_posts, q->refused_posts);
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
	for (unsigned i = 0; i < q->nhooks; i++) {
		buf_free(&q->hooks[i].body);
		buf_free(&q->hooks[i].answer);
	}
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
	setup_curl(&q);
	int status = sink_run(q.sink, argc - optind, argv + optind);
	curl_global_cleanup();
	return release(&q, status);
}
