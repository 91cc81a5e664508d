/* logtail.h: fed in any pieces, it counts the lines, and keeps the first and last of them as a
 * whole-text reading would (a line longer than the cap: a prefix of it and "..."). Input: three
 * bytes of counts and a chunk size, then the text. */
#include <stdlib.h>
#include <string.h>

#include "../logtail.h"

/* Line i of the text (BOM dropped, CR before LF dropped); the count of lines. */
static size_t lines_of(const char *s, size_t n, const char **lp, size_t *ln, size_t max)
{
	size_t count = 0;
	if (n >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
		s += 3, n -= 3;
	while (n) {
		const char *lf = memchr(s, '\n', n);
		size_t len = lf ? (size_t)(lf - s) : n;
		size_t l = len && s[len - 1] == '\r' ? len - 1 : len;
		if (count < max)
			lp[count] = s, ln[count] = l;
		count++;
		if (!lf)
			break;
		s += len + 1;
		n -= len + 1;
	}
	return count;
}

static void check_line(const char *got, size_t gn, const char *want, size_t wn, size_t max)
{
	if (wn <= max) {
		if (gn != wn || memcmp(got, want, wn))
			abort();
		return;
	}
	if (gn < 3 || gn > max + 3 || memcmp(got + gn - 3, "...", 3) || memcmp(got, want, gn - 3))
		abort();
}

/* The lines of a joined head or tail: split at LF (kept lines hold none). */
static void check_joined(const struct buf *b, const char **lp, const size_t *ln, size_t from,
			 size_t count, size_t max)
{
	const char *s = b->p;
	size_t n = b->n;
	if (!count) {
		if (n)
			abort();
		return;
	}
	for (size_t i = 0; i < count; i++) {
		const char *lf = memchr(s, '\n', n);
		size_t len = lf ? (size_t)(lf - s) : n;
		if ((i + 1 < count) != (lf != NULL))
			abort();
		check_line(s, len, lp[from + i], ln[from + i], max);
		if (lf)
			s += len + 1, n -= len + 1;
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	static const char *lp[4096];
	static size_t ln[4096];
	if (n < 3)
		return 0;
	unsigned head = data[0] % 6, tail = data[1] % 6;
	size_t line_max = 1 + data[2] % 24, chunk = 1 + data[2] / 24 % 9;
	const char *text = (const char *)data + 3;
	n -= 3;
	struct logtail lt;
	logtail_init(&lt, head, tail, line_max);
	for (size_t off = 0; off < n; off += chunk)
		logtail_feed(&lt, text + off, n - off < chunk ? n - off : chunk);
	logtail_end(&lt);
	size_t count = lines_of(text, n, lp, ln, 4096);
	if (lt.rows != count || lt.bytes != n || count > 4096)
		goto out;
	struct buf h = { 0 }, t = { 0 };
	logtail_head(&lt, &h);
	logtail_tail(&lt, &t);
	size_t nh = count < head ? count : head;
	size_t nt = count - nh < tail ? count - nh : tail;
	check_joined(&h, lp, ln, 0, nh, line_max);
	check_joined(&t, lp, ln, count - nt, nt, line_max);
	/* an empty line in a joined text is indistinguishable from none: counts checked above */
	buf_free(&h);
	buf_free(&t);
	logtail_free(&lt);
	return 0;
out:
	if (lt.rows != count && count <= 4096)
		abort();
	logtail_free(&lt);
	return 0;
}
