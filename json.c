#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "json.h"

size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned min;
	unsigned cp;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, min = 0x80, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, min = 0x800, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static const char hexdigits[] = "0123456789abcdef";

/* The first byte from p on that JSON needs escaped or checked (a control byte, '"', '\\', or
 * one of UTF-8's 0x80-0xff), or end. Sixteen bytes at a time, a short rest padded: the byte
 * loop was a fifth of qsmqtt's instructions. */
#ifdef __SSE2__
static unsigned stop_mask(const unsigned char *p)
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
	/* signed: 0x80-0xff are below 0x20 too */
	__m128i stop = _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
				    _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
						 _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))));
	return (unsigned)_mm_movemask_epi8(stop);
}

static const unsigned char *plain_end(const unsigned char *p, const unsigned char *end)
{
	for (; p < end; p += 16) {
		size_t left = (size_t)(end - p);
		unsigned hits;
		if (left >= 16) {
			hits = stop_mask(p);
		} else {
			unsigned char pad[16];	/* padded with a plain byte */
			memset(pad, 'a', sizeof pad);
			memcpy(pad, p, left);
			hits = stop_mask(pad);
		}
		if (hits)
			return p + __builtin_ctz(hits);
	}
	return end;
}
#else
static const unsigned char *plain_end(const unsigned char *p, const unsigned char *end)
{
	while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
		p++;
	return p;
}
#endif

void json_escape(struct buf *out, const char *s, size_t n)
{
	if (!n)		/* s may be an empty buf's NULL */
		return;
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	buf_reserve(out, n + 2);
	while (p < end) {
		const unsigned char *run = p;
		p = plain_end(p, end);
		buf_add(out, run, (size_t)(p - run));
		if (p == end)
			break;
		if (*p >= 0x80) {
			size_t len = utf8_len(p, (size_t)(end - p));
			if (len)
				buf_add(out, p, len);
			else
				buf_add(out, "\xef\xbf\xbd", 3);
			p += len ? len : 1;
			continue;
		}
		char esc[6] = { '\\', 'u', '0', '0', hexdigits[*p >> 4], hexdigits[*p & 15] };
		switch (*p) {
		case '"': buf_add(out, "\\\"", 2); break;
		case '\\': buf_add(out, "\\\\", 2); break;
		case '\n': buf_add(out, "\\n", 2); break;
		case '\r': buf_add(out, "\\r", 2); break;
		case '\t': buf_add(out, "\\t", 2); break;
		default: buf_add(out, esc, 6);
		}
		p++;
	}
}

void json_string(struct buf *out, const char *s, size_t n)
{
	buf_addc(out, '"');
	json_escape(out, s, n);
	buf_addc(out, '"');
}

/* A decimal number (tsv_is_decimal) as JSON has it: no '+', no leading zeros. */
static void json_number(struct buf *out, const char *s, size_t n)
{
	size_t i = 0;
	if (s[0] == '+' || s[0] == '-')
		i = 1;
	if (s[0] == '-')
		buf_addc(out, '-');
	while (i + 1 < n && s[i] == '0' && s[i + 1] != '.')
		i++;
	buf_add(out, s + i, n - i);
}

/* Appends sep, the key and the value decoded; -1 when the value holds a malformed escape. A
 * column's name goes out as it is; an attribute's is escaped, as its tail may not have been
 * checked. */
static int json_member(struct buf *out, char sep, int column, const char *key, size_t keylen,
		       struct slice value, int numeric, struct buf *scratch)
{
	buf_reset(scratch);
	if (tsv_unescape(scratch, value.p, value.n, NULL) < 0)
		return -1;
	buf_addc(out, sep);
	buf_addc(out, '"');
	if (column)
		buf_add(out, key, keylen);
	else
		json_escape(out, key, keylen);
	buf_add(out, "\":", 2);
	if (numeric && tsv_is_decimal(scratch->p, scratch->n))
		json_number(out, scratch->p, scratch->n);
	else
		json_string(out, scratch->p, scratch->n);
	return 0;
}

int json_event(struct buf *out, const struct event *ev, struct buf *scratch)
{
	size_t mark = out->n;
	char sep = '{';
	for (int i = 0; i < NFIELDS; i++) {
		if (!ev->f[i].n)
			continue;
		if (json_member(out, sep, 1, tsv_field_names[i], strlen(tsv_field_names[i]), ev->f[i], 0,
				scratch) < 0)
			goto bad;
		sep = ',';
	}
	struct slice rest = ev->attrs, name, value;
	while (tsv_attr_next(&rest, &name, &value)) {
		if (!value.n)
			continue;
		if (json_member(out, sep, 0, name.p, name.n, value, tsv_attr_numeric(name.p, name.n),
				scratch) < 0)
			goto bad;
		sep = ',';
	}
	if (sep == '{')
		buf_addc(out, '{');
	buf_addc(out, '}');
	return 0;
bad:
	out->n = mark;
	return -1;
}
