/* teams: what qsteams posts to a Microsoft Teams webhook. A Workflows webhook ("When a Teams
 * webhook request is received") takes a message with an Adaptive Card 1.4 attachment; a legacy
 * Office 365 connector URL took a MessageCard. A card shows one event (a title with an icon, a
 * FactSet, the message in a monospace block, the script log's tail and the facts enrichment
 * added, buttons into the QMC and the hub) or a digest of several in one card.
 *
 * Every value comes from an event and is untrusted: it is escaped so that no Markdown
 * emphasis, list, link, autolink, mention, HTML tag or entity can come from it (Teams renders a
 * Markdown subset in TextBlocks and facts, and limited HTML in MessageCards), and for JSON;
 * texts are cut (with "[+N more bytes]", a digest with "[+N more events]") so that a body is
 * never over TEAMS_BODY_MAX bytes, whatever the events hold. */
#ifndef TEAMS_H
#define TEAMS_H
#include <stddef.h>

#include "buf.h"
#include "tsv.h"
#include "xfer.h"

/* Teams refuses a message over 28 KB; the bodies stay under it with room to spare. */
#define TEAMS_BODY_MAX 27000
/* Events in one digest card. */
#define TEAMS_DIGEST_MAX 20

enum teams_format { TEAMS_ADAPTIVE, TEAMS_MESSAGECARD };

/* How cards look: from config, fixed after loading. */
struct teams_style {
	enum teams_format format;
	const char *qmc_url, *hub_url;	/* NULL: no buttons; no trailing '/' */
};

/* An event to post, as the sink runtime gives it: its columns and attributes, still escaped,
 * all well-formed (the runtime checks every line it queues). */
struct teams_event {
	int kind;			/* enum event_kind */
	struct event ev;
};

/* Buffers reused from one body to the next. */
struct teams_work {
	struct buf value, md, part, line;
};
void teams_work_free(struct teams_work *w);

/* Appends the body for e[0..n) (1..TEAMS_DIGEST_MAX): one event's card, or a digest card. */
void teams_body(struct buf *out, const struct teams_style *st, const struct teams_event *e,
		size_t n, struct teams_work *w);

/* What Teams' answer means: xfer_classify's, but a legacy connector answers 200 to a refused
 * message, with "Webhook message delivery failed with error: Microsoft Teams endpoint
 * returned HTTP error 413 with ContextId ..." in the body: that is the status then (an
 * embedded 429 pauses 30 s, as it has no Retry-After). */
void teams_classify(const struct xfer_result *r, struct xfer_answer *a);

/* Appends the decoded bytes s as Teams text (not yet JSON-escaped): Markdown and HTML made
 * inert, bad UTF-8 and control bytes replaced; line breaks as paragraph breaks, or with flat
 * as blanks. */
void teams_escape(struct buf *out, const char *s, size_t n, int flat);

#endif
