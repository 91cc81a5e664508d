#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "diag.h"
#include "tsv.h"
#include "xfer.h"

struct xfer {
	CURLM *multi;
	struct pollfd socks[XFER_MAX_FDS];	/* what libcurl wants watched */
	int nsocks;
	double timer;				/* when libcurl wants its timeout action; -1 never */
	unsigned busy;
};

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *ctx, void *sockp)
{
	(void)easy, (void)sockp;
	struct xfer *x = ctx;
	int i = 0;
	while (i < x->nsocks && x->socks[i].fd != fd)
		i++;
	if (what == CURL_POLL_REMOVE) {
		if (i < x->nsocks)
			x->socks[i] = x->socks[--x->nsocks];
		return 0;
	}
	if (i == x->nsocks) {
		if (x->nsocks == XFER_MAX_FDS) {
			warnx("libcurl wants more than %d sockets watched", XFER_MAX_FDS);
			return -1;
		}
		x->nsocks++;
	}
	x->socks[i] = (struct pollfd){ .fd = fd,
		.events = (short)((what & CURL_POLL_IN ? POLLIN : 0) | (what & CURL_POLL_OUT ? POLLOUT : 0)) };
	return 0;
}

static int on_timer(CURLM *multi, long ms, void *ctx)
{
	(void)multi;
	struct xfer *x = ctx;
	x->timer = ms < 0 ? -1 : now_mono() + (double)ms / 1000;
	return 0;
}

struct xfer *xfer_new(void)
{
	static int global;
	if (!global++ && curl_global_init(CURL_GLOBAL_DEFAULT))
		die(1, "libcurl: global init failed");
	struct xfer *x = calloc(1, sizeof *x);
	if (!x || !(x->multi = curl_multi_init()))
		die(1, "libcurl: out of memory");
	x->timer = -1;
	if (curl_multi_setopt(x->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
	    curl_multi_setopt(x->multi, CURLMOPT_SOCKETDATA, x) != CURLM_OK ||
	    curl_multi_setopt(x->multi, CURLMOPT_TIMERFUNCTION, on_timer) != CURLM_OK ||
	    curl_multi_setopt(x->multi, CURLMOPT_TIMERDATA, x) != CURLM_OK)
		die(1, "libcurl: setting up the multi handle failed");
	return x;
}

void xfer_free(struct xfer *x)
{
	if (!x)
		return;
	curl_multi_cleanup(x->multi);
	free(x);
}

static size_t on_answer(char *p, size_t size, size_t n, void *ctx)
{
	struct xfer_job *job = ctx;
	size_t len = size * n, room = job->answer.n < job->answer_max + 1 ?
					   job->answer_max + 1 - job->answer.n : 0;
	/* One byte past the cap tells a cut body from one of exactly answer_max bytes. */
	buf_add(&job->answer, p, len < room ? len : room);
	return len;
}

int xfer_job_init(struct xfer *x, struct xfer_job *job, double timeout, const char *agent,
		  xfer_done_fn done, void *ctx)
{
	*job = (struct xfer_job){ .done = done, .ctx = ctx, .answer_max = XFER_ANSWER_MAX, .x = x };
	CURL *e = job->easy = curl_easy_init();
	long ms = (long)(timeout * 1000);
	int ok = e && curl_easy_setopt(e, CURLOPT_PRIVATE, job) == CURLE_OK &&
		 curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
		 curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
		 curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
		 curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK &&
		 curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ms) == CURLE_OK &&
		 curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms) == CURLE_OK &&
		 (!agent || curl_easy_setopt(e, CURLOPT_USERAGENT, agent) == CURLE_OK) &&
		 curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_answer) == CURLE_OK &&
		 curl_easy_setopt(e, CURLOPT_WRITEDATA, job) == CURLE_OK;
	return ok ? 0 : -1;
}

void xfer_cancel(struct xfer_job *job)
{
	if (!job->busy)
		return;
	curl_multi_remove_handle(job->x->multi, job->easy);
	job->busy = 0;
	job->x->busy--;
}

void xfer_job_free(struct xfer_job *job)
{
	xfer_cancel(job);
	if (job->easy)
		curl_easy_cleanup(job->easy);
	job->easy = NULL;
	buf_free(&job->answer);
}

int xfer_start(struct xfer_job *job)
{
	buf_reset(&job->answer);
	if (job->busy || curl_multi_add_handle(job->x->multi, job->easy) != CURLM_OK)
		return -1;
	job->busy = 1;
	job->x->busy++;
	return 0;
}

unsigned xfer_busy(const struct xfer *x)
{
	return x->busy;
}

int xfer_fds(struct xfer *x, struct pollfd *pfd, int max, double *wait)
{
	int n = x->nsocks < max ? x->nsocks : max;
	memcpy(pfd, x->socks, (size_t)n * sizeof *pfd);
	if (x->timer >= 0) {
		double left = x->timer - now_mono();
		if (left < 0)
			left = 0;
		if (*wait < 0 || left < *wait)
			*wait = left;
	}
	return n;
}

static void finish(struct xfer *x, CURL *easy, CURLcode code)
{
	struct xfer_job *job;
	if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&job) != CURLE_OK || !job)
		die(1, "libcurl: a finished transfer without its job");
	curl_multi_remove_handle(x->multi, easy);
	job->busy = 0;
	x->busy--;
	struct xfer_result r = { .code = code };
	if (curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r.status) != CURLE_OK)
		r.status = 0;
	struct curl_header *h;
	if (r.status && curl_easy_header(easy, "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
		r.retry_after = h->value;
	r.cut = job->answer.n > job->answer_max;
	r.n = r.cut ? job->answer_max : job->answer.n;
	r.body = r.n ? job->answer.p : "";
	job->done(job->ctx, job, &r);
}

void xfer_pump(struct xfer *x, const struct pollfd *pfd, int npfd, double now)
{
	int running;
	for (int i = 0; i < npfd; i++) {
		if (!pfd[i].revents)
			continue;
		int ev = (pfd[i].revents & (POLLIN | POLLHUP) ? CURL_CSELECT_IN : 0) |
			 (pfd[i].revents & POLLOUT ? CURL_CSELECT_OUT : 0) |
			 (pfd[i].revents & POLLERR ? CURL_CSELECT_ERR : 0);
		curl_multi_socket_action(x->multi, pfd[i].fd, ev, &running);
	}
	if (x->timer >= 0 && now >= x->timer) {
		x->timer = -1;
		curl_multi_socket_action(x->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(x->multi, &left)))
		if (msg->msg == CURLMSG_DONE)
			finish(x, msg->easy_handle, msg->data.result);
}

/* ---- answers ---- */

double xfer_retry_after(const char *value)
{
	size_t digits = strspn(value, "0123456789");
	if (!digits || value[digits + strspn(value + digits, " \t")])
		return -1;
	double v = strtod(value, NULL);
	return v < XFER_PAUSE_MAX ? v : XFER_PAUSE_MAX;
}

void xfer_classify(const struct xfer_result *r, struct xfer_answer *a)
{
	long status = r->code == CURLE_OK ? r->status : 0;
	*a = (struct xfer_answer){ .verdict = XFER_PERMANENT };
	if (status >= 200 && status < 300) {
		a->verdict = XFER_DONE;
		return;
	}
	double ra = r->retry_after ? xfer_retry_after(r->retry_after) : -1;
	if (status == 429) {
		a->verdict = XFER_PAUSE;
		a->pause = ra >= 0 ? ra : XFER_PAUSE_DEFAULT;
	} else if (status == 503 && ra >= 0) {
		a->verdict = XFER_PAUSE;
		a->pause = ra;
	} else if (status == 0 || status == 408 || status >= 500) {
		a->verdict = XFER_RETRY;
	}
	if (status == 0) {
		/* libcurl's error buffer may hold the URL, a secret: only the generic text. */
		snprintf(a->reason, sizeof a->reason, "%s",
			 r->code != CURLE_OK ? curl_easy_strerror(r->code) : "no HTTP answer");
		return;
	}
	/* An answer's body may be anything: about 80 bytes of its escaped form (whole escapes),
	 * so that the reason stays one line. */
	struct buf why = { 0 };
	size_t i = 0;
	while (i < r->n && why.n < 80)
		tsv_escape(&why, r->body + i++, 1);
	snprintf(a->reason, sizeof a->reason, "HTTP %ld%s%.*s%s", status, why.n ? " " : "",
		 (int)why.n, why.p ? why.p : "", i < r->n || r->cut ? "..." : "");
	buf_free(&why);
}

/* ---- URLs ---- */

int xfer_is_http_url(const char *url)
{
	size_t scheme = !strncmp(url, "https://", 8) ? 8 : !strncmp(url, "http://", 7) ? 7 : 0;
	return scheme && url[scheme];
}

const char *xfer_check_url(const char *url)
{
	if (!*url)
		return "empty";
	if (!xfer_is_http_url(url))
		return "not an http:// or https:// URL (the value is a secret: not shown)";
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return "URL holds a blank or control byte (the value is a secret: not shown)";
	return NULL;
}

/* The host[:port] of url: after the scheme and any user info, up to the path. */
static const char *url_host(const char *url, size_t *n)
{
	const char *host = strstr(url, "://");
	host = host ? host + 3 : url;
	*n = strcspn(host, "/?#");
	const char *at = memchr(host, '@', *n);
	if (at) {
		*n -= (size_t)(at + 1 - host);
		host = at + 1;
	}
	return host;
}

void xfer_redact_url(struct buf *out, const char *url, int flags)
{
	size_t n;
	const char *host = url_host(url, &n);
	const char *scheme_end = strstr(url, "://");
	if (!(flags & XFER_REDACT_HOST) && scheme_end && scheme_end < host)
		tsv_escape(out, url, (size_t)(scheme_end + 3 - url));
	tsv_escape(out, host, n);
	const char *path = host + n;
	if (!(flags & XFER_REDACT_HOST) && *path == '/') {
		size_t level = strcspn(path + 1, "/?#");
		if (level && path[1 + level] == '/' && path[2 + level] && !strchr("?#", path[2 + level])) {
			buf_addc(out, '/');
			tsv_escape(out, path + 1, level);
		}
	}
	buf_adds(out, "/...");
}

int xfer_is_loopback(const char *url)
{
	size_t len;
	const char *h = url_host(url, &len);
	size_t n = *h == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/?#");
	if (n > len)
		n = len;
	if (n == 9 && !strncasecmp(h, "localhost", 9))
		return 1;
	if (n == 5 && !strncmp(h, "[::1]", 5))
		return 1;
	return n > 4 && !strncmp(h, "127.", 4) && strspn(h, "0123456789.") == n;
}
