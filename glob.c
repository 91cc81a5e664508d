#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "glob.h"

enum { T_LIT, T_ANY, T_STAR, T_SET };

struct glob_tok {
	uint32_t type;
	uint32_t arg;		/* T_LIT: the folded code point; T_SET: index into sets */
};

struct glob_set {
	uint32_t first, nranges;	/* non-ASCII members: ranges[2*first ...] */
	unsigned char ascii[16];	/* ASCII members, a bit each */
	int negated;
};

/* A byte that is not part of well-formed UTF-8 stands for itself, above every code point. */
#define RAW_BYTE 0x110000u
/* Folding changes no code point from here on (the last range folded is Cyrillic's). */
#define FOLD_LIMIT 0x530u

static int is_pow2_or_zero(size_t n)
{
	return !(n & (n - 1));
}

/* Room for n elements. */
static void *grow(void *p, size_t n, size_t size)
{
	p = realloc(p, (n ? n : 1) * size);
	if (!p)
		die(1, "compiling a pattern: out of memory");
	return p;
}

/* The code point at s (n > 0 bytes) and its length; RAW_BYTE + byte when it is not UTF-8. */
static uint32_t decode(const unsigned char *s, size_t n, size_t *len)
{
	uint32_t c = s[0], cp;
	*len = 1;
	if (c < 0x80)
		return c;
	if (c >= 0xc2 && c <= 0xdf && n >= 2 && (s[1] & 0xc0) == 0x80) {
		*len = 2;
		return (c & 0x1f) << 6 | (s[1] & 0x3f);
	}
	if (c >= 0xe0 && c <= 0xef && n >= 3 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80) {
		cp = (c & 0x0f) << 12 | (s[1] & 0x3fu) << 6 | (s[2] & 0x3f);
		if (cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff)) {
			*len = 3;
			return cp;
		}
	}
	if (c >= 0xf0 && c <= 0xf4 && n >= 4 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80 &&
	    (s[3] & 0xc0) == 0x80) {
		cp = (c & 0x07) << 18 | (s[1] & 0x3fu) << 12 | (s[2] & 0x3fu) << 6 | (s[3] & 0x3f);
		if (cp >= 0x10000 && cp <= 0x10ffff) {
			*len = 4;
			return cp;
		}
	}
	return RAW_BYTE + c;
}

static inline uint32_t fold_ascii(uint32_t c)
{
	return c - 'A' < 26 ? c + 32 : c;
}

/* Unicode simple case folding (CaseFolding.txt, status C and S) for U+0100-U+017F. */
static uint32_t fold_latin_ext_a(uint32_t c)
{
	if (c == 0x178)
		return 0xff;
	if (c == 0x17f)
		return 's';
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
		return c & 1 ? c + 1 : c;
	if (c == 0x130 || c == 0x131 || c == 0x138 || c == 0x149)
		return c;	/* no simple folding */
	return c | 1;		/* capitals at even code points */
}

/* The same for Greek and Coptic, U+0370-U+03FF. */
static uint32_t fold_greek(uint32_t c)
{
	if (c >= 0x391 && c <= 0x3ab && c != 0x3a2)
		return c + 0x20;
	if (c >= 0x388 && c <= 0x38a)
		return c + 0x25;
	if (c >= 0x3d8 && c <= 0x3ef)
		return c | 1;
	if (c >= 0x3fd)
		return c - 0x82;
	switch (c) {
	case 0x370: case 0x372: case 0x376: return c + 1;
	case 0x37f: return 0x3f3;
	case 0x386: return 0x3ac;
	case 0x38c: return 0x3cc;
	case 0x38e: return 0x3cd;
	case 0x38f: return 0x3ce;
	case 0x3c2: return 0x3c3;
	case 0x3cf: return 0x3d7;
	case 0x3d0: return 0x3b2;
	case 0x3d1: return 0x3b8;
	case 0x3d5: return 0x3c6;
	case 0x3d6: return 0x3c0;
	case 0x3f0: return 0x3ba;
	case 0x3f1: return 0x3c1;
	case 0x3f4: return 0x3b8;
	case 0x3f5: return 0x3b5;
	case 0x3f7: return 0x3f8;
	case 0x3f9: return 0x3f2;
	case 0x3fa: return 0x3fb;
	}
	return c;
}

/* The same for Cyrillic and Cyrillic Supplement, U+0400-U+052F. */
static uint32_t fold_cyrillic(uint32_t c)
{
	if (c < 0x410)
		return c + 0x50;
	if (c < 0x430)
		return c + 0x20;
	if (c == 0x4c0)
		return 0x4cf;
	if (c >= 0x4c1 && c <= 0x4ce)
		return c & 1 ? c + 1 : c;
	if ((c >= 0x460 && c <= 0x481) || (c >= 0x48a && c <= 0x4bf) || c >= 0x4d0)
		return c | 1;
	return c;
}

static uint32_t fold(uint32_t c)
{
	if (c < 0x80)
		return fold_ascii(c);
	if (c < 0x100)
		return c == 0xb5 ? 0x3bc : c >= 0xc0 && c <= 0xde && c != 0xd7 ? c + 0x20 : c;
	if (c < 0x180)
		return fold_latin_ext_a(c);
	if (c >= 0x370 && c < 0x400)
		return fold_greek(c);
	if (c >= 0x400 && c < FOLD_LIMIT)
		return fold_cyrillic(c);
	return c;
}

/* The folded character at s[i] (i < end) and its length in bytes. */
static inline uint32_t subject_char(const char *s, size_t i, size_t end, size_t *len)
{
	unsigned char c = (unsigned char)s[i];
	if (c < 0x80) {
		*len = 1;
		return fold_ascii(c);
	}
	return fold(decode((const unsigned char *)s + i, end - i, len));
}

static void add_token(struct glob *g, uint32_t type, uint32_t arg)
{
	g->tok[g->ntok++] = (struct glob_tok){ type, arg };
}

static void add_range(struct glob *g, uint32_t *nranges, uint32_t lo, uint32_t hi)
{
	if (is_pow2_or_zero(*nranges))	/* doubling: a set may add hundreds of ranges */
		g->ranges = grow(g->ranges, 2 * 2 * (*nranges ? *nranges : 1), sizeof *g->ranges);
	g->ranges[2 * *nranges] = lo;
	g->ranges[2 * *nranges + 1] = hi;
	++*nranges;
}

/* Adds the members lo-hi to a set being built: folded into bits below FOLD_LIMIT (so that
 * [A-Z] holds a-z), as a range above it. */
static void add_members(struct glob *g, uint32_t *nranges, unsigned char *bits, uint32_t lo,
			uint32_t hi)
{
	for (uint32_t c = lo; c <= hi && c < FOLD_LIMIT; c++) {
		uint32_t f = fold(c);
		bits[f >> 3] |= (unsigned char)(1u << (f & 7));
	}
	if (hi >= FOLD_LIMIT)
		add_range(g, nranges, lo > FOLD_LIMIT ? lo : FOLD_LIMIT, hi);
}

/* Compiles the set at pat[*i] == '[' and moves *i past its ']'. */
static const char *compile_set(struct glob *g, size_t *nsets, uint32_t *nranges,
			       const unsigned char *pat, size_t n, size_t *i)
{
	unsigned char bits[FOLD_LIMIT / 8] = { 0 };
	struct glob_set set = { .first = *nranges };
	size_t j = *i + 1, len;
	if (j < n && (pat[j] == '!' || pat[j] == '^')) {
		set.negated = 1;
		j++;
	}
	for (size_t start = j;; ) {
		if (j >= n)
			return "unclosed [";
		if (pat[j] == ']' && j > start)
			break;
		uint32_t lo = decode(pat + j, n - j, &len), hi = lo;
		j += len;
		if (j + 1 < n && pat[j] == '-' && pat[j + 1] != ']') {
			hi = decode(pat + j + 1, n - j - 1, &len);
			j += 1 + len;
			if (hi < lo)
				return "reversed range in [...]";
		}
		add_members(g, nranges, bits, lo, hi);
	}
	*i = j + 1;
	memcpy(set.ascii, bits, sizeof set.ascii);
	for (uint32_t c = 0x80; c < FOLD_LIMIT; c++) {
		if (!(bits[c >> 3] >> (c & 7) & 1))
			continue;
		uint32_t lo = c;
		while (c + 1 < FOLD_LIMIT && bits[(c + 1) >> 3] >> ((c + 1) & 7) & 1)
			c++;
		add_range(g, nranges, lo, c);
	}
	set.nranges = *nranges - set.first;
	if (is_pow2_or_zero(*nsets))
		g->sets = grow(g->sets, 2 * (*nsets ? *nsets : 1), sizeof *g->sets);
	g->sets[*nsets] = set;
	add_token(g, T_SET, (uint32_t)(*nsets)++);
	return NULL;
}

/* The trailing literals a subject of ASCII can be checked against bytewise, before the rest. */
static void find_suffix(struct glob *g)
{
	while (g->suffix < g->ntok) {
		const struct glob_tok *t = &g->tok[g->ntok - 1 - g->suffix];
		if (t->type != T_LIT || t->arg >= 0x80)
			break;
		g->suffix++;
	}
}

int glob_compile(struct glob *g, const char *pattern, size_t n, char *why, size_t whylen)
{
	const unsigned char *pat = (const unsigned char *)pattern;
	size_t nsets = 0, i = 0, len;
	uint32_t nranges = 0;
	*g = (struct glob){ 0 };
	g->tok = grow(NULL, n, sizeof *g->tok);	/* every token takes a byte at least */
	while (i < n) {
		if (pat[i] == '*') {
			if (!g->ntok || g->tok[g->ntok - 1].type != T_STAR)
				add_token(g, T_STAR, 0);
			g->has_star = 1;
			i++;
		} else if (pat[i] == '?') {
			add_token(g, T_ANY, 0);
			i++;
		} else if (pat[i] == '[') {
			const char *err = compile_set(g, &nsets, &nranges, pat, n, &i);
			if (err) {
				snprintf(why, whylen, "%s", err);
				glob_free(g);
				return -1;
			}
		} else {
			add_token(g, T_LIT, fold(decode(pat + i, n - i, &len)));
			i += len;
		}
	}
	for (size_t k = 0; k < g->ntok; k++)
		g->min_len += g->tok[k].type != T_STAR;
	find_suffix(g);
	return 0;
}

void glob_free(struct glob *g)
{
	free(g->tok);
	free(g->sets);
	free(g->ranges);
	*g = (struct glob){ 0 };
}

void glob_subject(struct glob_subject *s, const char *p, size_t n)
{
	uint64_t high = 0, w;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		high |= w;
	}
	for (; i < n; i++)
		high |= (unsigned char)p[i];
	*s = (struct glob_subject){ p, n, !(high & 0x8080808080808080u) };
}

static int set_has(const struct glob *g, const struct glob_set *set, uint32_t c)
{
	int in = 0;
	if (c < 0x80)
		in = set->ascii[c >> 3] >> (c & 7) & 1;
	else
		for (uint32_t k = set->first; k < set->first + set->nranges && !in; k++)
			in = c >= g->ranges[2 * k] && c <= g->ranges[2 * k + 1];
	return in != set->negated;
}

static int tok_match(const struct glob *g, const struct glob_tok *t, uint32_t c)
{
	switch (t->type) {
	case T_LIT: return t->arg == c;
	case T_ANY: return 1;
	default: return set_has(g, &g->sets[t->arg], c);
	}
}

/* Where a `*` followed by token t should first try to stop, from i: for an ASCII subject and a
 * literal, the next place that literal is (or n); else i itself. */
static size_t star_stop(const struct glob_tok *t, int ascii, const char *s, size_t i, size_t n)
{
	if (!ascii || t->type != T_LIT)
		return i;
	while (i < n && fold_ascii((unsigned char)s[i]) != t->arg)
		i++;
	return i;
}

/* The first ntok tokens against s[0..n): the usual glob loop that, on a mismatch, lets the last
 * `*` take one more character; linear unless several stars backtrack. */
static int match_tokens(const struct glob *g, size_t ntok, const char *s, size_t n, int ascii)
{
	size_t ti = 0, si = 0, star_ti = SIZE_MAX, star_si = 0, len;
	for (;;) {
		if (ti < ntok && g->tok[ti].type == T_STAR) {
			if (++ti == ntok)
				return 1;	/* a trailing star takes the rest */
			star_ti = ti;
			star_si = si = star_stop(&g->tok[ti], ascii, s, si, n);
			continue;
		}
		if (ti == ntok && si == n)
			return 1;
		if (ti < ntok && si < n && tok_match(g, &g->tok[ti], subject_char(s, si, n, &len))) {
			ti++;
			si += len;
			continue;
		}
		if (star_ti == SIZE_MAX || star_si >= n)
			return 0;
		subject_char(s, star_si, n, &len);
		star_si = star_stop(&g->tok[star_ti], ascii, s, star_si + len, n);
		si = star_si;
		ti = star_ti;
	}
}

int glob_match(const struct glob *g, const struct glob_subject *s)
{
	size_t ntok = g->ntok, n = s->n;
	if (n < g->min_len)
		return 0;
	if (s->ascii) {
		/* A byte is a character: exact lengths and the suffix can be checked first. */
		if (!g->has_star && n != g->min_len)
			return 0;
		for (size_t k = 1; k <= g->suffix; k++)
			if (fold_ascii((unsigned char)s->p[n - k]) != g->tok[ntok - k].arg)
				return 0;
		ntok -= g->suffix;
		n -= g->suffix;
	}
	return match_tokens(g, ntok, s->p, n, s->ascii);
}

int glob_list_add(struct glob_list *l, const char *pat, size_t n, char *why, size_t whylen)
{
	char err[64];
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		l->v = grow(l->v, l->cap, sizeof *l->v);
	}
	if (glob_compile(&l->v[l->n], pat, n, err, sizeof err) < 0) {
		snprintf(why, whylen, "pattern '%.*s': %s", (int)(n > 80 ? 80 : n), pat, err);
		return -1;
	}
	l->n++;
	return 0;
}

void glob_list_free(struct glob_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		glob_free(&l->v[i]);
	free(l->v);
	*l = (struct glob_list){ 0 };
}

int glob_list_match(const struct glob_list *l, const struct glob_subject *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (glob_match(&l->v[i], s))
			return 1;
	return 0;
}
