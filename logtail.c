#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "json.h"
#include "logtail.h"

void logtail_init(struct logtail *lt, unsigned head_max, unsigned tail_max, size_t line_max)
{
	*lt = (struct logtail){ .head_max = head_max, .tail_max = tail_max,
				.line_max = line_max ? line_max : 1 };
	if (tail_max && !(lt->ring = calloc(tail_max, sizeof *lt->ring)))
		die(1, "script log: out of memory");
}

void logtail_free(struct logtail *lt)
{
	for (unsigned i = 0; i < lt->tail_max; i++)
		buf_free(&lt->ring[i]);
	free(lt->ring);
	buf_free(&lt->head);
	buf_free(&lt->cur);
	*lt = (struct logtail){ 0 };
}

void logtail_reset(struct logtail *lt)
{
	for (unsigned i = 0; i < lt->tail_max; i++)
		buf_reset(&lt->ring[i]);
	buf_reset(&lt->head);
	buf_reset(&lt->cur);
	lt->nhead = lt->nring = lt->ring_next = 0;
	lt->cur_len = 0;
	lt->rows = lt->bytes = 0;
	lt->nlead = 0;
	lt->started = 0;
}

/* The current line is complete: cut or without its CR, into the head, else the ring. */
static void line_done(struct logtail *lt)
{
	struct buf *c = &lt->cur;
	unsigned long long len = lt->cur_len - (lt->cur_len && lt->cur_last == '\r');
	if (len > lt->line_max) {
		/* back to the start of a UTF-8 sequence, so the cut leaves no half character */
		size_t n = c->n;
		while (n && ((unsigned char)c->p[n - 1] & 0xc0) == 0x80 && c->n - n < 3)
			n--;
		if (n && (unsigned char)c->p[n - 1] >= 0xc0 &&
		    utf8_len((unsigned char *)c->p + n - 1, c->n - n + 1) != c->n - n + 1)
			c->n = n - 1;
		buf_add(c, "...", 3);
	} else {
		c->n = (size_t)len;
	}
	lt->rows++;
	if (lt->nhead < lt->head_max) {
		buf_add(&lt->head, c->p, c->n);
		buf_addc(&lt->head, '\n');
		lt->nhead++;
	} else if (lt->tail_max) {
		/* swap the line into the ring: no copy, the old slot's memory is reused */
		struct buf old = lt->ring[lt->ring_next];
		lt->ring[lt->ring_next] = *c;
		*c = old;
		lt->ring_next = (lt->ring_next + 1) % lt->tail_max;
		if (lt->nring < lt->tail_max)
			lt->nring++;
	}
	buf_reset(&lt->cur);
	lt->cur_len = 0;
}

static void add_part(struct logtail *lt, const char *p, size_t n)
{
	if (!n)
		return;
	size_t room = lt->cur.n < lt->line_max ? lt->line_max - lt->cur.n : 0;
	buf_add(&lt->cur, p, n < room ? n : room);
	lt->cur_len += n;
	lt->cur_last = p[n - 1];
}

static void feed_text(struct logtail *lt, const char *p, size_t n)
{
	while (n) {
		const char *lf = memchr(p, '\n', n);
		size_t len = lf ? (size_t)(lf - p) : n;
		add_part(lt, p, len);
		if (!lf)
			return;
		line_done(lt);
		p += len + 1;
		n -= len + 1;
	}
}

void logtail_feed(struct logtail *lt, const char *p, size_t n)
{
	static const char bom[3] = "\xef\xbb\xbf";
	lt->bytes += n;
	while (!lt->started && n) {
		lt->lead[lt->nlead++] = *p++;
		n--;
		if (memcmp(lt->lead, bom, lt->nlead)) {
			lt->started = 1;
			feed_text(lt, lt->lead, lt->nlead);
		} else if (lt->nlead == 3) {
			lt->started = 1;
		}
	}
	feed_text(lt, p, n);
}

void logtail_end(struct logtail *lt)
{
	if (!lt->started) {
		lt->started = 1;	/* a text shorter than a byte order mark */
		feed_text(lt, lt->lead, lt->nlead);
	}
	if (lt->cur_len)
		line_done(lt);
}

void logtail_head(const struct logtail *lt, struct buf *out)
{
	if (lt->head.n)
		buf_add(out, lt->head.p, lt->head.n - 1);
}

void logtail_tail(const struct logtail *lt, struct buf *out)
{
	unsigned first = lt->nring < lt->tail_max ? 0 : lt->ring_next;
	for (unsigned i = 0; i < lt->nring; i++) {
		const struct buf *b = &lt->ring[(first + i) % lt->tail_max];
		if (i)
			buf_addc(out, '\n');
		buf_add(out, b->p, b->n);
	}
}
