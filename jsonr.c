#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "json.h"
#include "jsonr.h"

struct parser {
	struct jsonr *j;
	const char *start, *p, *end;
};

static int fail(struct parser *ps, enum jsonr_error e, const char *why)
{
	struct jsonr *j = ps->j;
	if (j->error == JSONR_OK) {
		j->error = e;
		j->error_at = (size_t)(ps->p - ps->start);
		snprintf(j->why, sizeof j->why, "%s", why);
	}
	return -1;
}

static int new_node(struct parser *ps, enum jsonr_type type, uint32_t key, uint32_t key_len)
{
	struct jsonr *j = ps->j;
	if (j->nnode >= JSONR_MAX_NODES)
		return fail(ps, JSONR_LIMIT, "more than 1048576 values");
	if (j->nnode == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 64;
		struct jsonr_node *n = realloc(j->node, cap * sizeof *n);
		if (!n)
			die(1, "parsing JSON: out of memory");
		j->node = n;
		j->cap = cap;
	}
	j->node[j->nnode] = (struct jsonr_node){ .type = type, .key = key, .key_len = key_len };
	return (int)j->nnode++;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int hex4(const char *p, const char *end, unsigned *v)
{
	*v = 0;
	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
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
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f)), n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f)), n = 4;
	}
	buf_add(out, u, n);
}

/* A \u escape at ps->p (after the backslash), a surrogate pair as one code point. */
static int unicode_escape(struct parser *ps)
{
	unsigned cp, lo;
	if (hex4(ps->p + 1, ps->end, &cp))
		return fail(ps, JSONR_SYNTAX, "bad \\u escape");
	ps->p += 5;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return fail(ps, JSONR_SYNTAX, "lone low surrogate");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
		    hex4(ps->p + 2, ps->end, &lo) || lo < 0xdc00 || lo > 0xdfff)
			return fail(ps, JSONR_SYNTAX, "lone high surrogate");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		ps->p += 6;
	}
	put_utf8(&ps->j->text, cp);
	return 0;
}

/* The string at ps->p (its opening quote), decoded into text followed by a NUL; its offset and
 * length. */
static int string(struct parser *ps, uint32_t *off, uint32_t *len)
{
	struct buf *t = &ps->j->text;
	size_t start = t->n;
	ps->p++;
	for (;;) {
		const char *run = ps->p;
		while (ps->p < ps->end && (unsigned char)*ps->p >= 0x20 && (unsigned char)*ps->p < 0x80 &&
		       *ps->p != '"' && *ps->p != '\\')
			ps->p++;
		buf_add(t, run, (size_t)(ps->p - run));
		if (ps->p >= ps->end)
			return fail(ps, JSONR_SYNTAX, "unterminated string");
		unsigned char c = (unsigned char)*ps->p;
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(ps, JSONR_SYNTAX, "control byte in a string");
		if (c >= 0x80) {
			size_t n = utf8_len((const unsigned char *)ps->p, (size_t)(ps->end - ps->p));
			if (!n)
				return fail(ps, JSONR_SYNTAX, "invalid UTF-8");
			buf_add(t, ps->p, n);
			ps->p += n;
			continue;
		}
		if (ps->end - ps->p < 2)
			return fail(ps, JSONR_SYNTAX, "unterminated string");
		static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
		const char *e = ps->p[1] ? strchr(from, ps->p[1]) : NULL;
		if (e) {
			buf_addc(t, to[e - from]);
			ps->p += 2;
		} else if (ps->p[1] == 'u') {
			ps->p++;
			if (unicode_escape(ps) < 0)
				return -1;
		} else {
			return fail(ps, JSONR_SYNTAX, "bad escape");
		}
	}
	ps->p++;
	*off = (uint32_t)start;
	*len = (uint32_t)(t->n - start);
	buf_addc(t, '\0');
	return 0;
}

static int digits(struct parser *ps)
{
	const char *s = ps->p;
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
		ps->p++;
	return ps->p > s ? 0 : fail(ps, JSONR_SYNTAX, "digit expected");
}

static int number(struct parser *ps, int node)
{
	const char *s = ps->p;
	if (*ps->p == '-')
		ps->p++;
	if (ps->p < ps->end && *ps->p == '0')
		ps->p++;
	else if (digits(ps) < 0)
		return -1;
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++;
		if (digits(ps) < 0)
			return -1;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (digits(ps) < 0)
			return -1;
	}
	struct jsonr *j = ps->j;
	j->node[node].val = (uint32_t)j->text.n;
	j->node[node].val_len = (uint32_t)(ps->p - s);
	buf_add(&j->text, s, (size_t)(ps->p - s));
	buf_addc(&j->text, '\0');
	return 0;
}

static int literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
		return fail(ps, JSONR_SYNTAX, "unexpected character");
	ps->p += n;
	return 0;
}

static int value(struct parser *ps, int depth, uint32_t key, uint32_t key_len);

/* The members or elements of the container node at ps->p (its opening bracket). */
static int container(struct parser *ps, int node, int depth, char close)
{
	int prev = -1;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		uint32_t key = 0, key_len = 0;
		skip_ws(ps);
		if (close == '}') {
			if (ps->p >= ps->end || *ps->p != '"')
				return fail(ps, JSONR_SYNTAX, "member name expected");
			if (string(ps, &key, &key_len) < 0)
				return -1;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':')
				return fail(ps, JSONR_SYNTAX, "':' expected");
			ps->p++;
		}
		int child = value(ps, depth + 1, key, key_len);
		if (child < 0)
			return -1;
		if (prev >= 0)
			ps->j->node[prev].next = (uint32_t)child;
		prev = child;
		ps->j->node[node].count++;
		skip_ws(ps);
		if (ps->p >= ps->end)
			return fail(ps, JSONR_SYNTAX, "unterminated array or object");
		char c = *ps->p++;
		if (c == close)
			return 0;
		if (c != ',') {
			ps->p--;
			return fail(ps, JSONR_SYNTAX, close == '}' ? "',' or '}' expected"
								  : "',' or ']' expected");
		}
	}
}

/* The value at ps->p as a new node; its index, or -1. */
static int value(struct parser *ps, int depth, uint32_t key, uint32_t key_len)
{
	if (depth > JSONR_MAX_DEPTH)
		return fail(ps, JSONR_LIMIT, "nested too deep");
	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, JSONR_SYNTAX, "value expected");
	int node, r;
	switch (*ps->p) {
	case '{':
	case '[':
		node = new_node(ps, *ps->p == '{' ? JSONR_OBJECT : JSONR_ARRAY, key, key_len);
		r = node < 0 ? -1 : container(ps, node, depth, *ps->p == '{' ? '}' : ']');
		break;
	case '"':
		node = new_node(ps, JSONR_STRING, key, key_len);
		r = node < 0 ? -1 : string(ps, &ps->j->node[node].val, &ps->j->node[node].val_len);
		break;
	case 't':
		node = new_node(ps, JSONR_TRUE, key, key_len);
		r = node < 0 ? -1 : literal(ps, "true");
		break;
	case 'f':
		node = new_node(ps, JSONR_FALSE, key, key_len);
		r = node < 0 ? -1 : literal(ps, "false");
		break;
	case 'n':
		node = new_node(ps, JSONR_NULL, key, key_len);
		r = node < 0 ? -1 : literal(ps, "null");
		break;
	default:
		if (*ps->p != '-' && (*ps->p < '0' || *ps->p > '9'))
			return fail(ps, JSONR_SYNTAX, "unexpected character");
		node = new_node(ps, JSONR_NUMBER, key, key_len);
		r = node < 0 ? -1 : number(ps, node);
	}
	return r < 0 ? -1 : node;
}

int jsonr_parse(struct jsonr *j, const char *s, size_t n)
{
	struct parser ps = { j, s, s, s + n };
	j->nnode = 0;
	buf_reset(&j->text);
	j->error = JSONR_OK;
	j->error_at = 0;
	j->why[0] = '\0';
	if (n > JSONR_MAX_SIZE)
		return fail(&ps, JSONR_LIMIT, "longer than 16 MiB");
	/* Offset 0 of text is never a value's, so an absent key (0, 0) reads as "". */
	buf_addc(&j->text, '\0');
	if (value(&ps, 0, 0, 0) < 0)
		return -1;
	skip_ws(&ps);
	if (ps.p != ps.end)
		return fail(&ps, JSONR_SYNTAX, "text after the value");
	return 0;
}

void jsonr_free(struct jsonr *j)
{
	free(j->node);
	buf_free(&j->text);
	*j = (struct jsonr){ 0 };
}

int jsonr_type(const struct jsonr *j, int i)
{
	return i < 0 || (size_t)i >= j->nnode ? -1 : (int)j->node[i].type;
}

int jsonr_first(const struct jsonr *j, int c)
{
	int t = jsonr_type(j, c);
	if ((t != JSONR_ARRAY && t != JSONR_OBJECT) || !j->node[c].count)
		return -1;
	return c + 1;
}

int jsonr_next(const struct jsonr *j, int el)
{
	if (jsonr_type(j, el) < 0 || !j->node[el].next)
		return -1;
	return (int)j->node[el].next;
}

int jsonr_get(const struct jsonr *j, int obj, const char *name)
{
	size_t n = strlen(name);
	if (jsonr_type(j, obj) != JSONR_OBJECT)
		return -1;
	for (int i = jsonr_first(j, obj); i >= 0; i = jsonr_next(j, i))
		if (j->node[i].key_len == n && !memcmp(j->text.p + j->node[i].key, name, n))
			return i;
	return -1;
}

int jsonr_path(const struct jsonr *j, int obj, const char *path)
{
	char name[128];
	while (obj >= 0 && *path) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof name)
			return -1;
		memcpy(name, path, n);
		name[n] = '\0';
		obj = jsonr_get(j, obj, name);
		path += n + (path[n] == '.');
	}
	return obj;
}

const char *jsonr_str(const struct jsonr *j, int i, size_t *n)
{
	if (jsonr_type(j, i) != JSONR_STRING)
		return NULL;
	if (n)
		*n = j->node[i].val_len;
	return j->text.p + j->node[i].val;
}

const char *jsonr_key(const struct jsonr *j, int i, size_t *n)
{
	if (jsonr_type(j, i) < 0)
		return NULL;
	if (n)
		*n = j->node[i].key_len;
	return j->text.p + j->node[i].key;
}

const char *jsonr_num_text(const struct jsonr *j, int i)
{
	return jsonr_type(j, i) == JSONR_NUMBER ? j->text.p + j->node[i].val : NULL;
}

int jsonr_int(const struct jsonr *j, int i, long long *out)
{
	const char *s = jsonr_num_text(j, i);
	char *end;
	if (!s || strpbrk(s, ".eE"))
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}
