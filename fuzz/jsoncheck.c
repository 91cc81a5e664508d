#include <string.h>

#include "../json.h"
#include "jsoncheck.h"

static int hex4(const char *p, const char *end, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++, p++) {
		if (p >= end)
			return -1;
		char c = *p;
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
			   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
		if (d > 15)
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

static void put_utf8(struct buf *out, unsigned cp)
{
	if (!out)
		return;
	if (cp < 0x80) {
		buf_addc(out, (char)cp);
	} else if (cp < 0x800) {
		buf_addc(out, (char)(0xc0 | cp >> 6));
		buf_addc(out, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_addc(out, (char)(0xe0 | cp >> 12));
		buf_addc(out, (char)(0x80 | (cp >> 6 & 0x3f)));
		buf_addc(out, (char)(0x80 | (cp & 0x3f)));
	} else {
		buf_addc(out, (char)(0xf0 | cp >> 18));
		buf_addc(out, (char)(0x80 | (cp >> 12 & 0x3f)));
		buf_addc(out, (char)(0x80 | (cp >> 6 & 0x3f)));
		buf_addc(out, (char)(0x80 | (cp & 0x3f)));
	}
}

int jsoncheck_string(const char **pp, const char *end, struct buf *out)
{
	const char *p = *pp;
	if (p >= end || *p++ != '"')
		return -1;
	while (p < end && *p != '"') {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20)
			return -1;
		if (c >= 0x80) {
			size_t len = utf8_len((const unsigned char *)p, (size_t)(end - p));
			if (!len)
				return -1;
			if (out)
				buf_add(out, p, len);
			p += len;
			continue;
		}
		if (c != '\\') {
			if (out)
				buf_addc(out, (char)c);
			p++;
			continue;
		}
		if (++p >= end)
			return -1;
		const char *simple = strchr("\"\\/bfnrt", *p);
		if (*p && simple) {
			put_utf8(out, (unsigned)"\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"]);
			p++;
			continue;
		}
		unsigned cp;
		if (*p != 'u' || hex4(p + 1, end, &cp))
			return -1;
		p += 5;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			unsigned lo;
			if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, end, &lo) ||
			    lo < 0xdc00 || lo > 0xdfff)
				return -1;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			p += 6;
		} else if (cp >= 0xdc00 && cp <= 0xdfff) {
			return -1;
		}
		put_utf8(out, cp);
	}
	if (p >= end)
		return -1;
	*pp = p + 1;
	return 0;
}

static void skip_ws(const char **p, const char *end)
{
	while (*p < end && strchr(" \t\r\n", **p) && **p)
		(*p)++;
}

static int value(const char **p, const char *end, int depth);

static int number(const char **pp, const char *end)
{
	const char *p = *pp;
	if (p < end && *p == '-')
		p++;
	if (p >= end || *p < '0' || *p > '9')
		return -1;
	if (*p == '0')
		p++;
	else
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	if (p < end && *p == '.') {
		const char *start = ++p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (p == start)
			return -1;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		const char *start = p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (p == start)
			return -1;
	}
	*pp = p;
	return 0;
}

static int container(const char **p, const char *end, int depth, char close)
{
	(*p)++;
	skip_ws(p, end);
	if (*p < end && **p == close) {
		(*p)++;
		return 0;
	}
	for (;;) {
		skip_ws(p, end);
		if (close == '}') {
			if (jsoncheck_string(p, end, NULL))
				return -1;
			skip_ws(p, end);
			if (*p >= end || *(*p)++ != ':')
				return -1;
		}
		if (value(p, end, depth + 1))
			return -1;
		skip_ws(p, end);
		if (*p >= end)
			return -1;
		char c = *(*p)++;
		if (c == close)
			return 0;
		if (c != ',')
			return -1;
	}
}

static int literal(const char **p, const char *end, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(end - *p) < n || memcmp(*p, word, n))
		return -1;
	*p += n;
	return 0;
}

static int value(const char **p, const char *end, int depth)
{
	if (depth > 64)
		return -1;
	skip_ws(p, end);
	if (*p >= end)
		return -1;
	switch (**p) {
	case '{': return container(p, end, depth, '}');
	case '[': return container(p, end, depth, ']');
	case '"': return jsoncheck_string(p, end, NULL);
	case 't': return literal(p, end, "true");
	case 'f': return literal(p, end, "false");
	case 'n': return literal(p, end, "null");
	default: return number(p, end);
	}
}

int jsoncheck_value(const char *s, size_t n)
{
	const char *p = s, *end = s + n;
	if (value(&p, end, 0))
		return 0;
	skip_ws(&p, end);
	return p == end;
}
