/* post: what the sink tools that post over xfer (qsslack, qsteams, qshttp) share. Each
 * distinct URL is a destination with its own lane of the sink runtime (sink.h), its own easy
 * handle (so one kept-alive connection) and one post in flight; a post takes up to batch_max
 * items ready in the lane (a digest, a batch) into one body the tool builds; posts to a
 * destination are paced (interval seconds from one answer to the next post); answers are
 * judged by xfer_classify: done, paused (Retry-After holds the destination), retried with
 * backoff, or dead-lettered with the reason, which is said once until the next success.
 *
 * The tool fills in the public part of struct post, adds its URLs (post_dest), calls
 * post_setup after sink_configure, and takes the post_hook_* functions below as its
 * sink_driver hooks (post_print from a dry run's pump). */
#ifndef POST_H
#define POST_H
#include "sink.h"
#include "xfer.h"

struct post_dest {
	const char *url;		/* a secret: messages show label */
	char label[96];			/* redacted (xfer_redact_url) */
	unsigned lane;
	struct xfer_job job;
	struct sink_item **batch;	/* the items of the post in flight, oldest first */
	size_t n;
	int reported;			/* a refusal was said since the last success */
	double next;			/* no post before (monotonic): pacing and pauses */
	struct buf body;
	struct post *post;
};

/* Appends the body of items[0..n) (oldest first, n >= 1) to body. NULL when built; else why
 * these items can never be delivered (they are dead-lettered with it). */
typedef const char *(*post_build_fn)(void *ctx, const struct post_dest *d,
				     struct sink_item *const *items, size_t n, struct buf *body);

struct post {
	/* The tool's, set before post_setup: */
	struct sink *sink;
	post_build_fn build;
	void *ctx;
	const char *what;		/* what a destination is called in messages: "webhook" */
	const char *agent;		/* User-Agent */
	const char *method;		/* NULL: POST */
	struct curl_slist *headers;	/* sent with every post; the tool frees them */
	double timeout;			/* seconds, connect and whole post */
	double interval;		/* seconds from an answer to the next post (pacing) */
	size_t batch_max;		/* items in one body, at least 1 */
	int redact;			/* xfer_redact_url's flags */
	/* What an answer means, when the service says more than xfer_classify reads (NULL:
	 * xfer_classify). */
	void (*classify)(const struct xfer_result *r, struct xfer_answer *a);
	const char *batches_name;	/* in the counters: "digests", "batches" */
	/* The lane of each event kind (post_urls_lanes fills it): */
	unsigned lane_of[TSV_NEVENTS];
	/* The runtime's: */
	struct xfer *xfer;
	struct post_dest *dest;
	unsigned ndest;
	unsigned long posts, batches, paused, failed, refused;
	struct ratelimit rl_fail;
};

/* The lane of url's destination, added when new (before post_setup). */
unsigned post_dest(struct post *p, const char *url);
/* Sets the runtime's lanes (one per destination), makes the handles, and warns about a plain
 * http URL to another host than the loopback (the URL is a secret). Exits 1 when libcurl
 * cannot be set up. */
void post_setup(struct post *p);
int post_fds(struct post *p, struct pollfd *pfd, int max, double *wait);
void post_pump(struct post *p, const struct pollfd *pfd, int npfd, double now);
/* Cancels what is in flight (the runtime keeps or counts those items) and frees the handles. */
void post_stop(struct post *p);
/* " posts=N <batches_name>=N paused=N post_failures=N refused=N" */
void post_counters(const struct post *p, struct buf *out, const char *batches_name);
/* sink_driver hooks for a tool whose sink ctx is its struct with `struct post` as its first
 * member (each tool checks that with a static assertion): lane, fds, pump, counters, and stop
 * for a tool with nothing else to stop. The tools wrote these five again each. */
unsigned post_hook_lane(void *ctx, const struct sink_item *it);
int post_hook_fds(void *ctx, struct pollfd *pfd, int max, double *wait);
void post_hook_pump(void *ctx, const struct pollfd *pfd, int npfd, double now);
void post_hook_stop(void *ctx);
void post_hook_counters(void *ctx, struct buf *out);
/* Frees what post_dest and post_setup made. */
void post_free(struct post *p);
/* A dry run's pump: every item ready in lane 0, one body each, a line each, to stdout. */
void post_print(struct post *p, struct buf *scratch);

/* ---- URLs per event kind, as the config gives them ----
 * NAME (the default), NAME_file (the same from a file), NAME.EVENT and NAME_file.EVENT, where
 * NAME is the tool's key ("webhook", "url"); each a secret (conf_secret). */
struct post_urls {
	const char *name, *section, *env, *flag;	/* "webhook", "qsslack", "QSSLACK_WEBHOOK", "-w" */
	struct buf url[TSV_NEVENTS + 1];		/* per event kind, then the default */
	char why[320];
};
/* A key of the tool's section: NULL taken, conf_unknown_key when not one of these, else why. */
const char *post_urls_key(struct post_urls *u, const char *key, const char *value);
/* The default from the flag's value (when not NULL), else the environment variable, else the
 * file; exits 2 when the one taken is not a URL. */
void post_urls_default(struct post_urls *u, const char *flag_value);
/* A destination per distinct URL, lane_of[kind] for each kind that has one; exits 2 naming a
 * selected kind that has none. */
void post_urls_lanes(struct post_urls *u, struct post *p, unsigned selected,
		     unsigned lane_of[TSV_NEVENTS]);
void post_urls_free(struct post_urls *u);

#endif
