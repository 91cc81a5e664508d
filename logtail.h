/* logtail: keeps the first and last lines of a text streamed through it in blocks (a Sense
 * script log, which may be hundreds of MB), in memory bounded by the counts asked for: a ring
 * of the last lines, each line cut at a maximum length. Lines end at LF; a CR before it is
 * dropped (script logs have CRLF lines); a UTF-8 byte order mark at the start is dropped. */
#ifndef LOGTAIL_H
#define LOGTAIL_H
#include <stddef.h>

#include "buf.h"

struct logtail {
	unsigned head_max, tail_max;
	size_t line_max;		/* bytes kept of a line; longer ones end in "..." */
	struct buf head;		/* the first head_max lines, each ending in LF */
	unsigned nhead;
	struct buf *ring;		/* the last tail_max lines seen so far */
	unsigned nring, ring_next;
	struct buf cur;			/* the line being read, cut at line_max */
	unsigned long long cur_len;	/* its whole length so far */
	char cur_last;			/* its last byte */
	unsigned long long rows, bytes;
	char lead[3];			/* the first bytes, until they are known not a BOM */
	unsigned nlead;
	int started;			/* past the byte order mark check */
};

/* Allocation failure exits (diag.h). */
void logtail_init(struct logtail *lt, unsigned head_max, unsigned tail_max, size_t line_max);
void logtail_free(struct logtail *lt);
/* Empties it for another reading, keeping the counts asked for. */
void logtail_reset(struct logtail *lt);
void logtail_feed(struct logtail *lt, const char *p, size_t n);
/* The end of the text: a last line without LF counts. */
void logtail_end(struct logtail *lt);
/* The head or the tail lines joined by LF (no LF after the last), appended to out. */
void logtail_head(const struct logtail *lt, struct buf *out);
void logtail_tail(const struct logtail *lt, struct buf *out);

#endif
