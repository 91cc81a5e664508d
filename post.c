#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "post.h"

unsigned post_dest(struct post *p, const char *url)
{
	for (unsigned i = 0; i < p->ndest; i++)
		if (!strcmp(p->dest[i].url, url))
			return i;
	struct post_dest *d = realloc(p->dest, (p->ndest + 1) * sizeof *d);
	if (!d)
		die(1, "out of memory");
	p->dest = d;
	d = &p->dest[p->ndest];
	*d = (struct post_dest){ .url = url, .lane = p->ndest, .post = p };
	struct buf label = { 0 };
	xfer_redact_url(&label, url, p->redact);
	snprintf(d->label, sizeof d->label, "%s", buf_str(&label));
	buf_free(&label);
	return p->ndest++;
}

static void on_done(void *ctx, struct xfer_job *job, const struct xfer_result *r);

void post_setup(struct post *p)
{
	if (!p->batch_max)
		p->batch_max = 1;
	p->xfer = xfer_new();
	for (unsigned i = 0; i < p->ndest; i++) {
		struct post_dest *d = &p->dest[i];
		d->post = p;
		if (!strncmp(d->url, "http://", 7) && !xfer_is_loopback(d->url))
			warnx("%s %s is plain http: its URL, a secret, travels unencrypted", p->what, d->label);
		d->batch = calloc(p->batch_max, sizeof *d->batch);
		if (!d->batch)
			die(1, "out of memory");
		CURL *e;
		/* No "Expect: 100-continue" round trip for a large body: the tool's headers say so. */
		if (xfer_job_init(p->xfer, &d->job, p->timeout, p->agent, on_done, d) < 0 ||
		    curl_easy_setopt(e = d->job.easy, CURLOPT_URL, d->url) != CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->headers) != CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK ||
		    (p->method && curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, p->method) != CURLE_OK))
			die(1, "libcurl: setting up posts to %s failed", d->label);
	}
	sink_set_lanes(p->sink, p->ndest ? p->ndest : 1);
}

static void bound(double *wait, double seconds)
{
	if (seconds < 0)
		seconds = 0;
	if (*wait < 0 || seconds < *wait)
		*wait = seconds;
}

int post_fds(struct post *p, struct pollfd *pfd, int max, double *wait)
{
	int n = xfer_fds(p->xfer, pfd, max, wait);
	double now = now_mono();
	for (unsigned i = 0; i < p->ndest; i++)
		if (!p->dest[i].job.busy && sink_ready(p->sink, p->dest[i].lane))
			bound(wait, p->dest[i].next - now);
	return n;
}

/* Takes what is ready in the destination's lane, up to a batch, and starts its post. */
static void start(struct post *p, struct post_dest *d)
{
	struct sink_item *it;
	d->n = 0;
	while (d->n < p->batch_max && (it = sink_take(p->sink, d->lane)))
		d->batch[d->n++] = it;
	if (!d->n)
		return;
	buf_reset(&d->body);
	const char *why = p->build(p->ctx, d, d->batch, d->n, &d->body);
	if (why) {
		p->refused++;
		for (size_t i = 0; i < d->n; i++)
			sink_done(p->sink, d->batch[i], SINK_PERMANENT, 0, why);
		d->n = 0;
		return;
	}
	if (curl_easy_setopt(d->job.easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->body.n) != CURLE_OK ||
	    curl_easy_setopt(d->job.easy, CURLOPT_POSTFIELDS, d->body.n ? d->body.p : "") != CURLE_OK ||
	    xfer_start(&d->job) < 0)
		die(1, "libcurl: starting a post to %s failed", d->label);
	p->posts++;
	if (d->n > 1)
		p->batches++;
}

static enum sink_result judge(struct post *p, struct post_dest *d, const struct xfer_answer *a,
			      double now, double *delay)
{
	*delay = SINK_BACKOFF;
	switch (a->verdict) {
	case XFER_DONE:
		d->reported = 0;
		return SINK_OK;
	case XFER_PAUSE:
		p->paused++;
		*delay = a->pause;
		if (d->next < now + a->pause)
			d->next = now + a->pause;
		warnx("%s %s: %s: pausing it %.0f s", p->what, d->label, a->reason, a->pause);
		return SINK_RETRY;
	case XFER_RETRY:
		p->failed++;
		if (ratelimit_allow(&p->rl_fail, 5, "post failure diagnostics"))
			warnx("%s %s: %s: retrying with backoff", p->what, d->label, a->reason);
		return SINK_RETRY;
	default:
		p->refused++;
		if (!d->reported)
			warnx("%s %s: %s: dead-lettering what it refuses, never retried",
			      p->what, d->label, a->reason);
		d->reported = 1;
		return SINK_PERMANENT;
	}
}

static void on_done(void *ctx, struct xfer_job *job, const struct xfer_result *r)
{
	(void)job;
	struct post_dest *d = ctx;
	struct post *p = d->post;
	struct xfer_answer a;
	(p->classify ? p->classify : xfer_classify)(r, &a);
	double now = now_mono(), delay;
	/* Counted from the answer, so that the destination never sees two posts closer. */
	d->next = now + p->interval;
	enum sink_result res = judge(p, d, &a, now, &delay);
	/* A batch's first (oldest) item takes the backoff and holds the lane; the others come
	 * due with it, not each at its own jittered time, so the retry is one batch again. */
	for (size_t i = 0; i < d->n; i++) {
		sink_done(p->sink, d->batch[i], res, delay, a.reason);
		if (delay < 0)
			delay = 0;
	}
	d->n = 0;
}

void post_pump(struct post *p, const struct pollfd *pfd, int npfd, double now)
{
	xfer_pump(p->xfer, pfd, npfd, now);
	for (unsigned i = 0; i < p->ndest; i++)
		if (!p->dest[i].job.busy && now >= p->dest[i].next)
			start(p, &p->dest[i]);
}

void post_stop(struct post *p)
{
	for (unsigned i = 0; i < p->ndest; i++) {
		xfer_job_free(&p->dest[i].job);
		p->dest[i].n = 0;
	}
	xfer_free(p->xfer);
	p->xfer = NULL;
	ratelimit_flush(&p->rl_fail, "post failure diagnostics");
}

void post_counters(const struct post *p, struct buf *out, const char *batches_name)
{
	buf_printf(out, " posts=%lu %s=%lu paused=%lu post_failures=%lu refused=%lu",
		   p->posts, batches_name, p->batches, p->paused, p->failed, p->refused);
}

unsigned post_hook_lane(void *ctx, const struct sink_item *it)
{
	return ((struct post *)ctx)->lane_of[it->event];
}

int post_hook_fds(void *ctx, struct pollfd *pfd, int max, double *wait)
{
	return post_fds(ctx, pfd, max, wait);
}

void post_hook_pump(void *ctx, const struct pollfd *pfd, int npfd, double now)
{
	post_pump(ctx, pfd, npfd, now);
}

void post_hook_stop(void *ctx)
{
	post_stop(ctx);
}

void post_hook_counters(void *ctx, struct buf *out)
{
	const struct post *p = ctx;
	post_counters(p, out, p->batches_name ? p->batches_name : "batches");
}

void post_free(struct post *p)
{
	for (unsigned i = 0; i < p->ndest; i++) {
		buf_free(&p->dest[i].body);
		free(p->dest[i].batch);
	}
	free(p->dest);
	p->dest = NULL;
	p->ndest = 0;
}

void post_print(struct post *p, struct buf *out)
{
	struct sink_item *it;
	struct post_dest d = { .label = "-", .post = p };
	while ((it = sink_take(p->sink, 0))) {
		size_t mark = out->n;
		const char *why = p->build(p->ctx, &d, &it, 1, out);
		if (why) {
			out->n = mark;
			sink_done(p->sink, it, SINK_PERMANENT, 0, why);
			continue;
		}
		buf_addc(out, '\n');
		sink_done(p->sink, it, SINK_OK, 0, NULL);
	}
	if (buf_write_fd(out, 1) < 0)
		diesys(1, "write stdout");
}

/* ---- URLs per event kind ---- */

const char *post_urls_key(struct post_urls *u, const char *key, const char *value)
{
	size_t len = strlen(u->name);
	if (strncmp(key, u->name, len))
		return conf_unknown_key;
	const char *rest = key + len;
	int from_file = !strncmp(rest, "_file", 5);
	if (from_file)
		rest += 5;
	int slot = TSV_NEVENTS;
	if (*rest == '.')
		slot = tsv_event_index(rest + 1, strlen(rest + 1));
	else if (*rest)
		return conf_unknown_key;
	if (slot < 0)
		return "unknown event name";
	struct buf *url = &u->url[slot];
	const char *why = conf_secret(url, value, from_file, u->why, sizeof u->why);
	return why ? why : xfer_check_url(buf_str(url));
}

void post_urls_default(struct post_urls *u, const char *flag_value)
{
	struct buf *dst = &u->url[TSV_NEVENTS];
	if (flag_value) {
		buf_reset(dst);
		buf_adds(dst, flag_value);
	} else if (!conf_secret_env(dst, u->env)) {
		return;
	}
	const char *why = xfer_check_url(buf_str(dst));
	if (why)
		die(2, "%s: %s", flag_value ? u->flag : u->env, why);
}

void post_urls_lanes(struct post_urls *u, struct post *p, unsigned selected,
		     unsigned lane_of[TSV_NEVENTS])
{
	for (int ev = 0; ev < TSV_NEVENTS; ev++) {
		struct buf *url = u->url[ev].n ? &u->url[ev] : &u->url[TSV_NEVENTS];
		if (u->url[ev].n && !(selected & (1u << ev)))
			warnx("%s.%s is set, but %s is not among the events posted (events =): "
			      "nothing goes to it", u->name, tsv_event_names[ev].p, tsv_event_names[ev].p);
		if (url->n)
			lane_of[ev] = post_dest(p, buf_str(url));
		else if (selected & (1u << ev))
			die(2, "no %s for %s events: set %s or %s_file in [%s], %s or %s", u->name,
			    tsv_event_names[ev].p, u->name, u->name, u->section, u->env, u->flag);
	}
}

void post_urls_free(struct post_urls *u)
{
	for (int i = 0; i <= TSV_NEVENTS; i++)
		buf_free(&u->url[i]);
}
