/* xfer: libcurl transfers (HTTP, HTTPS, SMTP, ...) driven from any poll loop, on one thread.
 * The runtime owns the multi handle (and so the connections kept alive between transfers);
 * the caller owns its jobs, configures each job's easy handle (URL, headers, body, TLS
 * options, mail) and starts it. Each turn of the caller's loop:
 *
 *	n = xfer_fds(x, pfd, max, &wait);	the sockets libcurl wants watched, a wait bound
 *	poll(...)
 *	xfer_pump(x, pfd, n, now);		performs; each finished job's done() is called
 *
 * Nothing here knows about events or queues: the sink tools (post.h) and filters that ask
 * servers (qsenrich) both sit on it. Also here: what an HTTP answer means (xfer_classify),
 * URLs for messages (xfer_redact_url, which never shows a secret) and checks of URLs. */
#ifndef XFER_H
#define XFER_H
#include <curl/curl.h>
#include <poll.h>
#include <stddef.h>

#include "buf.h"

/* How many sockets one runtime watches at most. */
#define XFER_MAX_FDS 64
/* Of an answer's body, what is kept by default: enough for a reason or a small result. */
#define XFER_ANSWER_MAX 4096

struct xfer;
struct xfer_job;

/* A finished transfer, as done() sees it (valid during the call only). */
struct xfer_result {
	CURLcode code;			/* CURLE_OK: an answer came */
	long status;			/* HTTP or SMTP response code; 0 when none */
	const char *body;		/* the answer's body, at most answer_max bytes */
	size_t n;
	int cut;			/* the body was longer than what is kept */
	const char *retry_after;	/* the Retry-After header's value, or NULL */
};

typedef void (*xfer_done_fn)(void *ctx, struct xfer_job *job, const struct xfer_result *r);

/* One transfer at a time, reusable: configure easy, xfer_start, done() is called, again. */
struct xfer_job {
	CURL *easy;			/* made by xfer_job_init; the caller configures it */
	xfer_done_fn done;
	void *ctx;
	size_t answer_max;		/* of the body, what is kept (XFER_ANSWER_MAX) */
	int busy;			/* started and not yet done */
	/* The runtime's own: */
	struct buf answer;
	struct xfer *x;
};

struct xfer *xfer_new(void);
/* Ends every busy job without calling done(), frees the runtime (jobs stay the caller's). */
void xfer_free(struct xfer *x);

/* Makes job's easy handle with the common options: no signals, TCP keep-alive, TLS verified
 * (libcurl's defaults, kept explicit), connect and whole-transfer timeouts (seconds), a
 * User-Agent `agent`, the answer captured. The caller adds its own and may override. 0 ok; -1
 * (out of memory, or libcurl refusing an option). */
int xfer_job_init(struct xfer *x, struct xfer_job *job, double timeout, const char *agent,
		  xfer_done_fn done, void *ctx);
/* Cancels the job when busy (done() is not called) and frees its handle and buffer. */
void xfer_job_free(struct xfer_job *job);
/* Starts the configured transfer. 0 ok; -1 when libcurl refuses it. */
int xfer_start(struct xfer_job *job);
/* Cancels a busy job without calling done(). */
void xfer_cancel(struct xfer_job *job);

/* Adds up to max pollfds at pfd and returns how many; lowers *wait (seconds, -1 none) to
 * libcurl's next timeout. */
int xfer_fds(struct xfer *x, struct pollfd *pfd, int max, double *wait);
/* Acts on the pollfds xfer_fds gave (revents set) and on libcurl's timeout (now is
 * now_mono()), then calls done() for every finished job; a done() may start jobs again. */
void xfer_pump(struct xfer *x, const struct pollfd *pfd, int npfd, double now);
/* Jobs started and not yet done. */
unsigned xfer_busy(const struct xfer *x);

/* ---- what an HTTP answer means ---- */
enum xfer_verdict {
	XFER_DONE,		/* 2xx */
	XFER_PAUSE,		/* 429, or 503 with a Retry-After: pause the destination that long */
	XFER_RETRY,		/* other 5xx, 408, no answer (timeout, connection error): back off */
	XFER_PERMANENT,		/* any other: will never be taken */
};
struct xfer_answer {
	enum xfer_verdict verdict;
	double pause;		/* XFER_PAUSE: seconds */
	char reason[160];	/* one line: "HTTP 404 channel_not_found", body escaped and cut */
};
/* The longest pause: a larger Retry-After is cut to it. */
#define XFER_PAUSE_MAX 3600
/* The pause of a 429 without a Retry-After in seconds (none, an HTTP date, junk). */
#define XFER_PAUSE_DEFAULT 30
/* Classifies r. Without an answer the reason is libcurl's generic error text (its error
 * buffer may hold the URL, a secret); with one, "HTTP STATUS" and the first 80 bytes of the
 * body, escaped as event columns are, "..." when cut. */
void xfer_classify(const struct xfer_result *r, struct xfer_answer *a);
/* Retry-After in delay-seconds, cut to XFER_PAUSE_MAX; -1 when it is not digits. */
double xfer_retry_after(const char *value);

/* ---- URLs ---- */
/* What a message may show of a URL, which is a secret (a webhook's path, a token in its query,
 * user info): "scheme://host[:port]/level/..." with the first path level only when more levels
 * follow it (a last level may be the secret: ntfy's topic), never user info, query or fragment.
 * XFER_REDACT_HOST: "host[:port]/..." alone (qsslack's form). Control bytes escaped. */
#define XFER_REDACT_HOST 1
void xfer_redact_url(struct buf *out, const char *url, int flags);
/* Whether url is http:// or https:// followed by something. */
int xfer_is_http_url(const char *url);
/* Why url cannot be a destination (not http(s), a blank or control byte in it), or NULL;
 * never quotes the URL. */
const char *xfer_check_url(const char *url);
/* Whether a URL's host is the loopback: localhost, [::1] or 127.x.x.x, the whole host, not a
 * name that starts like one. */
int xfer_is_loopback(const char *url);

#endif
