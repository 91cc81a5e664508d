/* mail: the messages qsmail sends, whole (RFC 5322 headers and a MIME body), built from events
 * whose every value is untrusted. What it promises, whatever the event holds:
 * - no value ever starts a header or a part: header values are made one line (control bytes
 *   become blanks) and written as RFC 2047 encoded words unless they are short plain ASCII,
 *   and bodies are quoted-printable, which never yields a boundary (they start "=_");
 * - every line ends CRLF and is at most 78 bytes, far under SMTP's 998;
 * - text is UTF-8: bytes that are not well-formed UTF-8 become U+FFFD; HTML is escaped;
 * - a value is cut (with a note saying so) past MAIL_VALUE_MAX bytes, or MAIL_DIGEST_VALUE_MAX
 *   in a digest, and a body part past MAIL_PART_MAX, so a message stays far under the sizes
 *   servers accept.
 * The message is multipart/alternative: text/plain, then text/html. */
#ifndef MAIL_H
#define MAIL_H
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "tmpl.h"
#include "tsv.h"

#define MAIL_DIGEST_MAX 50		/* events in one mail */
#define MAIL_VALUE_MAX (64 * 1024)	/* bytes of one value in a single event's mail */
#define MAIL_DIGEST_VALUE_MAX 4096	/* ... in a digest */
#define MAIL_PART_MAX (256 * 1024)	/* bytes of a body part's text before encoding */
#define MAIL_SUBJECT_MAX 200		/* bytes of a subject's text before encoding */
#define MAIL_ADDRESS_MAX 254

/* What a template fills: the subject, the plain text body, the HTML body. */
enum mail_part { MAIL_SUBJECT, MAIL_TEXT, MAIL_HTML, MAIL_NPARTS };

/* How messages look: from config, fixed after loading. */
struct mail_style {
	struct tmpl *tmpl[MAIL_NPARTS][TSV_NEVENTS];	/* NULL: the built-in one */
	const char *from;		/* the sender's address (mail_address_ok) */
	const char *from_name;		/* its display name, or NULL */
	const char *qmc_url, *hub_url;	/* NULL: no links; no trailing '/' */
};

/* An event to mail: its kind (enum event_kind), columns and attributes, still escaped, as the
 * sink runtime gives them (sink_item_event). The runtime queues only checked lines, whose every
 * value decodes: events from anywhere else must be checked first. */
struct mail_event {
	int kind;
	struct event ev;
};

/* What a message says beyond its events. */
struct mail_head {
	const char *const *to;		/* the recipients (mail_address_ok), shown in To: */
	size_t nto;
	time_t date;
	const char *id;			/* unique per message: Message-ID is <ID@sender's domain> */
};

/* Buffers reused from one message to the next. */
struct mail_work {
	struct buf text, html, subject, value, tmp;
};
void mail_work_free(struct mail_work *w);

/* Appends the message for n events (1..MAIL_DIGEST_MAX; more than one is a digest whose
 * subject counts them). */
void mail_build(struct buf *out, const struct mail_style *st, const struct mail_head *h,
		const struct mail_event *e, size_t n, struct mail_work *w);

/* Whether s is an address qsmail sends to or from: local@domain with a dot-atom local part
 * and a domain of letters, digits and hyphens, at most MAIL_ADDRESS_MAX bytes. Anything else
 * (quotes, brackets, blanks, control bytes, non-ASCII) is refused rather than quoted. */
int mail_address_ok(const char *s, size_t n);

#endif
