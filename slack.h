/* slack: what qsslack posts to an incoming webhook and what Slack's answers mean. Message
 * bodies are Block Kit with a text fallback, built from events whose every value is untrusted:
 * values are escaped for mrkdwn (no mention, link or formatting can come from them) and for
 * JSON, and texts are cut to Slack's limits, so a body is always valid JSON Slack accepts.
 * What Slack's answers mean is xfer_classify's (xfer.h). */
#ifndef SLACK_H
#define SLACK_H
#include <stddef.h>

#include "buf.h"
#include "sink.h"
#include "tmpl.h"
#include "tsv.h"

/* Slack's limits, in characters: a section's text, a message's text fallback. Counted here in
 * UTF-16 units (a character past U+FFFF counts 2), never fewer than code points. */
#define SLACK_SECTION_MAX 3000
#define SLACK_TEXT_MAX 40000
/* Events in one digest message. */
#define SLACK_DIGEST_MAX 20

/* How messages look: from config, fixed after loading. */
struct slack_style {
	struct tmpl tmpl[TSV_NEVENTS];	/* by enum event_kind */
	const char *username, *icon_emoji, *channel;	/* NULL: not sent */
	const char *qmc_url, *hub_url;			/* NULL: no links; no trailing '/' */
};
/* Compiles kind's template from src (NULL: the default). 0 ok; -1 with why. */
int slack_style_template(struct slack_style *st, int kind, const char *src,
			 char *why, size_t whylen);
void slack_style_free(struct slack_style *st);
/* Why url cannot be the base of links (qmc_url, hub_url), or NULL. Strips a trailing '/'. */
const char *slack_check_link_base(char *url);

/* Buffers reused from one body to the next. */
struct slack_work {
	struct buf text, section, line, value;
};
void slack_work_free(struct slack_work *w);

/* An event to post: its columns, still escaped, and its kind (enum event_kind), both as the
 * sink runtime gives them (sink_item_event, sink_item.event). The runtime queues only lines
 * whose every column passed tsv_check, which is stricter than the decoding done here, so
 * rendering such an event cannot fail: events from anywhere else must be checked first. */
struct slack_event {
	int kind;
	struct event ev;
};

/* Appends one event's message body (JSON, no LF). */
void slack_body_event(struct buf *out, const struct slack_style *st, const struct slack_event *e,
		      struct slack_work *w);
/* Appends a digest of n events (1..SLACK_DIGEST_MAX): a count header and one line each. */
void slack_body_digest(struct buf *out, const struct slack_style *st, const struct slack_event *e,
		       size_t n, struct slack_work *w);

#endif
