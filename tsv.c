#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "diag.h"
#include "tsv.h"

const char *const tsv_field_names[NFIELDS] = {
	"time", "event", "host", "user_dir", "user_id", "app_id", "app_name", "task_id",
	"task_name", "exec_id", "level", "logger", "origin", "context", "message", "source",
};

int tsv_field_index(const char *name, size_t n)
{
	for (int i = 0; i < NFIELDS; i++)
		if (strlen(tsv_field_names[i]) == n && !memcmp(tsv_field_names[i], name, n))
			return i;
	return -1;
}

#define NAME(s) { s, sizeof s - 1 }
const struct slice tsv_event_names[TSV_NEVENTS] = {
	NAME("session_start"), NAME("session_stop"), NAME("connection_open"),
	NAME("connection_close"), NAME("task_failed"), NAME("task_aborted"),
	NAME("task_succeeded"), NAME("task_distributed"), NAME("log"), NAME("qix_perf"),
	NAME("unknown"),
};

int tsv_event_index(const char *name, size_t n)
{
	for (int i = 0; i < TSV_NEVENTS; i++)
		if (tsv_event_names[i].n == n && !memcmp(tsv_event_names[i].p, name, n))
			return i;
	return -1;
}

void tsv_header(struct buf *out)
{
	buf_addc(out, '#');
	for (int i = 0; i < NFIELDS; i++) {
		if (i)
			buf_addc(out, '\t');
		buf_adds(out, tsv_field_names[i]);
	}
}

/* Control bytes, DEL and the backslash. */
const unsigned char tsv_escape_needed[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	['\\'] = 1, [0x7f] = 1,
};

static const char hexdigits[] = "0123456789abcdef";

/* Whether any byte of w is one tsv escapes: below 0x20, DEL or the backslash. Exact (no false
 * positives), so that clean words are copied eight bytes at a time. */
static inline int word_needs_escape(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	uint64_t bs = w ^ (ones * '\\'), del = w ^ (ones * 0x7f);
	uint64_t found = ((w - ones * 0x20) & ~w) | ((bs - ones) & ~bs) | ((del - ones) & ~del);
	return (found & highs) != 0;
}

static char *escape_byte(char *d, unsigned char c)
{
	if (!tsv_escape_needed[c]) {
		*d++ = (char)c;
		return d;
	}
	*d++ = '\\';
	switch (c) {
	case '\\': *d++ = '\\'; break;
	case '\t': *d++ = 't'; break;
	case '\n': *d++ = 'n'; break;
	case '\r': *d++ = 'r'; break;
	default:
		*d++ = 'x';
		*d++ = hexdigits[c >> 4];
		*d++ = hexdigits[c & 15];
	}
	return d;
}

char *tsv_escape_to(char *d, const char *s, size_t n)
{
	size_t i = 0;
	int clean = 0;	/* the last word went out as it came in */
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		if ((clean = !word_needs_escape(w))) {
			memcpy(d, &w, 8);
			d += 8;
			continue;
		}
		for (size_t j = i; j < i + 8; j++)
			d = escape_byte(d, (unsigned char)s[j]);
	}
	if (i < n && clean) {
		/* The tail as the word ending it, overlapping bytes already copied as they are. */
		uint64_t w;
		memcpy(&w, s + n - 8, 8);
		if (!word_needs_escape(w)) {
			memcpy(d - (i - (n - 8)), &w, 8);
			return d + (n - i);
		}
	}
	for (; i < n; i++)
		d = escape_byte(d, (unsigned char)s[i]);
	return d;
}

int tsv_needs_escape(const char *s, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		if (word_needs_escape(w))
			return 1;
	}
	for (; i < n; i++)
		if (tsv_escape_needed[(unsigned char)s[i]])
			return 1;
	return 0;
}

void tsv_escape(struct buf *out, const char *s, size_t n)
{
	if (!n)		/* s may be an empty buf's NULL */
		return;
	buf_reserve(out, 4 * n);
	out->n = (size_t)(tsv_escape_to(out->p + out->n, s, n) - out->p);
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes the escape at s[0] == '\\'; returns its length, or 0 when malformed. */
static size_t unescape_one(const char *s, size_t left, char *byte)
{
	if (left < 2)
		return 0;
	switch (s[1]) {
	case '\\': *byte = '\\'; return 2;
	case 't': *byte = '\t'; return 2;
	case 'n': *byte = '\n'; return 2;
	case 'r': *byte = '\r'; return 2;
	case 'x': {
		if (left < 4)
			return 0;
		int hi = hexval((unsigned char)s[2]), lo = hexval((unsigned char)s[3]);
		if (hi < 0 || lo < 0)
			return 0;
		*byte = (char)(hi << 4 | lo);
		return 4;
	}
	default:
		return 0;
	}
}

int tsv_unescape(struct buf *out, const char *s, size_t n, size_t *bad)
{
	size_t i = 0;
	buf_reserve(out, n);
	while (i < n) {
		const char *bs = memchr(s + i, '\\', n - i);
		size_t run = bs ? (size_t)(bs - (s + i)) : n - i;
		buf_add(out, s + i, run);
		i += run;
		if (i == n)
			break;
		char byte;
		size_t len = unescape_one(s + i, n - i, &byte);
		if (!len) {
			if (bad)
				*bad = i;
			return -1;
		}
		buf_addc(out, byte);
		i += len;
	}
	return 0;
}

int tsv_check(const char *s, size_t n, size_t *bad)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (!tsv_escape_needed[c]) {
			i++;
			continue;
		}
		char byte;
		size_t len = c == '\\' ? unescape_one(s + i, n - i, &byte) : 0;
		if (!len) {
			if (bad)
				*bad = i;
			return -1;
		}
		i += len;
	}
	return 0;
}

size_t tsv_split(const char *line, size_t n, struct slice *f, size_t max)
{
	size_t count = 0;
	const char *p = line, *end = line + n;
	for (;;) {
		const char *tab = memchr(p, '\t', (size_t)(end - p));
		const char *stop = tab ? tab : end;
		if (count < max)
			f[count] = (struct slice){ p, (size_t)(stop - p) };
		count++;
		if (!tab)
			return count;
		p = tab + 1;
	}
}

static int digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* Length of YYYY-MM-DDTHH:MM:SS(.f{1,9})?Z at s, or 0. */
static size_t time_len(const char *s, size_t n)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t i;
	if (n < sizeof shape)
		return 0;
	for (i = 0; i < sizeof shape - 1; i++)
		if (shape[i] == 'd' ? !digits(s + i, 1) : s[i] != shape[i])
			return 0;
	if (s[i] == '.') {
		size_t start = ++i;
		while (i < n && i - start < 9 && digits(s + i, 1))
			i++;
		if (i == start)
			return 0;
	}
	return i < n && s[i] == 'Z' ? i + 1 : 0;
}

size_t tsv_framed_time_len(const char *line, size_t n)
{
	size_t len = time_len(line, n);
	return len && len < n && line[len] == '\t' ? len : 0;
}

int tsv_parse_framed(const char *line, size_t n, struct framed *fr)
{
	if (!tsv_framed_time_len(line, n)) {
		/* a bare line is escaped text (qspipe-events(5)), which never holds a raw TAB: a TAB
		 * here means framing whose TIME is not one */
		if (memchr(line, '\t', n))
			return -1;
		*fr = (struct framed){ .payload = { line, n } };
		return 0;
	}
	struct slice f[4];
	if (tsv_split(line, n, f, 4) != 4)
		return -1;
	*fr = (struct framed){ f[0], f[1], f[2], f[3] };
	return 1;
}

void tsv_format_time(struct timecache *cache, char out[RFC3339_LEN + 1], const struct timespec *ts)
{
	if (ts->tv_sec != cache->sec || !cache->text[0]) {
		/* four-digit years only, so the text always has its shape (callers reject such
		 * times where they come from input) */
		time_t sec = ts->tv_sec < 0 ? 0 : ts->tv_sec > TSV_TIME_MAX ? TSV_TIME_MAX : ts->tv_sec;
		struct tm tm;
		if (!gmtime_r(&sec, &tm))
			die(1, "gmtime_r: %lld: out of range", (long long)sec);
		strftime(cache->text, sizeof cache->text, "%Y-%m-%dT%H:%M:%S", &tm);
		cache->sec = ts->tv_sec;
	}
	memcpy(out, cache->text, 19);
	long us = ts->tv_nsec / 1000;
	out[19] = '.';
	for (int i = 25; i >= 20; i--, us /= 10)
		out[i] = (char)('0' + us % 10);
	out[26] = 'Z';
	out[27] = 0;
}

static int num(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int tsv_time_in_range(const char *s)
{
	int mon = num(s + 5, 2), mday = num(s + 8, 2);
	return mon >= 1 && mon <= 12 && mday >= 1 && mday <= 31 && num(s + 11, 2) <= 23 &&
	       num(s + 14, 2) <= 59 && num(s + 17, 2) <= 60;
}

int tsv_parse_time(const char *s, size_t n, struct timespec *ts)
{
	size_t len = time_len(s, n);
	if (!len || len != n || !tsv_time_in_range(s))
		return -1;
	struct tm tm = {
		.tm_year = num(s, 4) - 1900, .tm_mon = num(s + 5, 2) - 1, .tm_mday = num(s + 8, 2),
		.tm_hour = num(s + 11, 2), .tm_min = num(s + 14, 2), .tm_sec = num(s + 17, 2),
	};
	long nsec = 0;
	size_t i = 19;
	if (s[i] == '.') {
		size_t frac = 0;
		for (i++; s[i] != 'Z'; i++, frac++)
			nsec = nsec * 10 + (s[i] - '0');
		for (; frac < 9; frac++)
			nsec *= 10;
	}
	ts->tv_sec = timegm(&tm);
	ts->tv_nsec = nsec;
	return 0;
}

int tsv_parse_event(const char *line, size_t n, struct event *ev, size_t *nfields)
{
	size_t count = tsv_split(line, n, ev->f, NFIELDS);
	if (nfields)
		*nfields = count;
	ev->attrs = (struct slice){ 0 };
	if (count > NFIELDS) {
		const char *tail = ev->f[NFIELDS - 1].p + ev->f[NFIELDS - 1].n + 1;
		ev->attrs = (struct slice){ tail, (size_t)(line + n - tail) };
		ev->f[NFIELDS - 1].n = (size_t)(tail - 1 - ev->f[NFIELDS - 1].p);
	}
	return count >= NFIELDS ? 0 : -1;
}

#ifdef __SSE2__
#include <emmintrin.h>

/* The TABs among the 16 bytes at s (bit k for s[k]), and the other bytes tsv escapes:
 * below 0x20, backslash, DEL. */
static inline void block_masks(const char *s, unsigned *tabs, unsigned *special)
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)s);
	/* Signed compares: 0x80-0xff are negative, so "0 <= x < 0x20" picks the control bytes. */
	__m128i ctl = _mm_and_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
				    _mm_cmpgt_epi8(x, _mm_set1_epi8(-1)));
	__m128i other = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\\')),
				     _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)));
	*tabs = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('\t')));
	*special = (unsigned)_mm_movemask_epi8(_mm_or_si128(ctl, other)) & ~*tabs;
}
#else
static inline void block_masks(const char *s, unsigned *tabs, unsigned *special)
{
	*tabs = *special = 0;
	for (unsigned k = 0; k < 16; k++) {
		unsigned char c = (unsigned char)s[k];
		*tabs |= (unsigned)(c == '\t') << k;
		*special |= (unsigned)(c != '\t' && tsv_escape_needed[c]) << k;
	}
}
#endif

/* The TABs in the attributes at s, noting in *escaped (bit NFIELDS) whether they hold any other
 * byte tsv escapes. */
static size_t count_tabs(const char *s, size_t n, unsigned *escaped)
{
	size_t tabs = 0;
	int special = 0;
	for (size_t i = 0; i < n; i += 16) {
		unsigned t, sp;
		if (i + 16 <= n) {
			block_masks(s + i, &t, &sp);
		} else {
			char tail[16];
			memset(tail, 'a', sizeof tail);
			memcpy(tail, s + i, n - i);
			block_masks(tail, &t, &sp);
		}
		for (; t; t &= t - 1)	/* few: no popcount instruction needed */
			tabs++;
		special |= sp != 0;
	}
	if (special)
		*escaped |= 1u << NFIELDS;
	return tabs;
}

static size_t scan_tail(const char *s, size_t n, unsigned *escaped, struct tsv_tails *tails,
			const char **why);

/* The columns of tsv_scan_event: the number of fields when the line has no attributes, else
 * NFIELDS with ev->attrs set. Not inlined, so that the loop keeps its registers: with the
 * tail's arguments live across it, it spilled one in every block. */
__attribute__((noinline)) static size_t scan_columns(const char *line, size_t n, struct event *ev,
						   unsigned *escaped)
{
	size_t count = 0, start = 0;
	*escaped = 0;
	ev->attrs = (struct slice){ 0 };
	for (size_t i = 0; i < n; i += 16) {
		unsigned tabs, special;
		if (i + 16 <= n) {
			block_masks(line + i, &tabs, &special);
		} else {
			/* The tail, padded with a byte that is never special: one block, not a loop. */
			char pad[16];
			memset(pad, 'a', sizeof pad);
			memcpy(pad, line + i, n - i);
			block_masks(pad, &tabs, &special);
		}
		for (unsigned hits = tabs | special; hits; hits &= hits - 1) {
			unsigned k = (unsigned)__builtin_ctz(hits);
			if (special >> k & 1) {
				*escaped |= 1u << (count < NFIELDS ? count : NFIELDS);
				continue;
			}
			if (count < NFIELDS)
				ev->f[count] = (struct slice){ line + start, i + k - start };
			count++;
			start = i + k + 1;
			if (count == NFIELDS) {
				ev->attrs = (struct slice){ line + start, n - start };
				return count;
			}
		}
	}
	if (count < NFIELDS)
		ev->f[count] = (struct slice){ line + start, n - start };
	return count + 1;
}

size_t tsv_scan_event(const char *line, size_t n, struct event *ev, unsigned *escaped,
		      struct tsv_tails *tails, const char **why)
{
	size_t count = scan_columns(line, n, ev, escaped);
	const struct slice a = ev->attrs;
	if (why)
		*why = NULL;
	if (!a.p)
		return count;
	/* checked on the way when asked, else only counted, noting whether they hold escapes */
	if (why)
		return count + scan_tail(a.p, a.n, escaped, tails, why);
	return count + count_tabs(a.p, a.n, escaped) + 1;
}

/* ---- attributes ---- */

static const unsigned char name_char[256] = {
	['a'] = 2, ['b'] = 2, ['c'] = 2, ['d'] = 2, ['e'] = 2, ['f'] = 2, ['g'] = 2, ['h'] = 2,
	['i'] = 2, ['j'] = 2, ['k'] = 2, ['l'] = 2, ['m'] = 2, ['n'] = 2, ['o'] = 2, ['p'] = 2,
	['q'] = 2, ['r'] = 2, ['s'] = 2, ['t'] = 2, ['u'] = 2, ['v'] = 2, ['w'] = 2, ['x'] = 2,
	['y'] = 2, ['z'] = 2, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['_'] = 1,
};

int tsv_attr_next(struct slice *rest, struct slice *name, struct slice *value)
{
	if (!rest->p)
		return 0;
	const char *tab = memchr(rest->p, '\t', rest->n);
	size_t len = tab ? (size_t)(tab - rest->p) : rest->n;
	const char *eq = memchr(rest->p, '=', len);
	size_t nlen = eq ? (size_t)(eq - rest->p) : len;
	*name = (struct slice){ rest->p, nlen };
	*value = eq ? (struct slice){ eq + 1, len - nlen - 1 } : (struct slice){ rest->p + len, 0 };
	if (tab)
		*rest = (struct slice){ tab + 1, rest->n - len - 1 };
	else
		*rest = (struct slice){ 0 };
	return 1;
}

/* Whether the name (its first byte [a-z]) is one of the 16 columns': they differ in their first
 * letter and length, so one table entry names the only column to compare with. */
static int column_name(const char *s, size_t n)
{
	/* F_* + 1 by first letter and length */
	static const unsigned char by[26][10] = {
		['a' - 'a'] = { [6] = F_APP_ID + 1, [8] = F_APP_NAME + 1 },
		['c' - 'a'] = { [7] = F_CONTEXT + 1 },
		['e' - 'a'] = { [5] = F_EVENT + 1, [7] = F_EXEC_ID + 1 },
		['h' - 'a'] = { [4] = F_HOST + 1 },
		['l' - 'a'] = { [5] = F_LEVEL + 1, [6] = F_LOGGER + 1 },
		['m' - 'a'] = { [7] = F_MESSAGE + 1 },
		['o' - 'a'] = { [6] = F_ORIGIN + 1 },
		['s' - 'a'] = { [6] = F_SOURCE + 1 },
		['t' - 'a'] = { [4] = F_TIME + 1, [7] = F_TASK_ID + 1, [9] = F_TASK_NAME + 1 },
		['u' - 'a'] = { [7] = F_USER_ID + 1, [8] = F_USER_DIR + 1 },
	};
	unsigned col = n < 10 ? by[(unsigned char)s[0] - 'a'][n] : 0;
	return col && !memcmp(tsv_field_names[col - 1], s, n);
}

/* A bit for the duplicate filter: cheap, as most lines have no duplicate to find. */
static uint64_t name_bit(const char *s, size_t n)
{
	return 1ull << ((unsigned char)s[0] * 7u + (unsigned char)s[n - 1] * 3u + n) % 64;
}

/* The first byte from s on that a name may not hold ([a-z0-9_]), or end. */
static const char *name_end(const char *s, const char *end)
{
	while (s < end && name_char[(unsigned char)*s])
		s++;
	return s;
}

/* The names of a tail so far, for the duplicate check. */
struct names {
	struct slice seen[TSV_ATTRS_MAX];
	uint64_t bloom;
	size_t count;
};

/* The plain check, a byte at a time, leaving the names in *t: for config words and templates,
 * tails not seen before, and the reference that fuzz-line and t/0250 hold the names kept in a
 * struct tsv_tails to. */
static const char *check_attrs(const char *p, size_t n, struct names *t)
{
	t->bloom = 0;
	t->count = 0;
	if (!p)
		return NULL;
	const char *s = p, *end = p + n;
	for (;;) {
		if (t->count == TSV_ATTRS_MAX)
			return "more than 64 attributes";
		const char *name = s;
		if (s == end || name_char[(unsigned char)*s] != 2)
			return "bad attribute name";
		s = name_end(s + 1, end);
		size_t len = (size_t)(s - name);
		if (s == end || *s == '\t')
			return "attribute without '='";
		if (*s != '=' || len > TSV_ATTR_NAME_MAX)
			return "bad attribute name";
		if (column_name(name, len))
			return "attribute named as a column";
		uint64_t bit = name_bit(name, len);
		if (t->bloom & bit)
			for (size_t i = 0; i < t->count; i++)
				if (t->seen[i].n == len && !memcmp(t->seen[i].p, name, len))
					return "duplicate attribute";
		t->bloom |= bit;
		t->seen[t->count++] = (struct slice){ name, len };
		const char *value = ++s;
		unsigned special = 0;
		for (; s < end && *s != '\t'; s++)
			special |= tsv_escape_needed[(unsigned char)*s];
		if (special && tsv_check(value, (size_t)(s - value), NULL) < 0)
			return "malformed escape or control byte in an attribute";
		if (s == end)
			return NULL;
		s++;
	}
}

const char *tsv_check_attrs(const char *p, size_t n)
{
	struct names t;
	return check_attrs(p, n, &t);
}

/* ---- tails seen before ---- */

#define TAIL_LOOKUP_MAX 256	/* the longest tail looked up in a struct tsv_tails */

/* A tail's TABs and its other bytes to escape, by offset. */
struct tail_tabs {
	unsigned char at[TAIL_LOOKUP_MAX], special[TAIL_LOOKUP_MAX];
	size_t tabs, specials;
};

/* For tails of 16 to TAIL_LOOKUP_MAX bytes: the last block is the tail's last 16 bytes, which
 * may overlap the block before. */
static void tail_tabs(const char *s, size_t n, struct tail_tabs *t)
{
	size_t full = n & ~(size_t)15, tabs = 0, specials = 0;
	unsigned tab, special;
	for (size_t k = 0; k < full; k += 16) {
		block_masks(s + k, &tab, &special);
		for (; tab; tab &= tab - 1)
			t->at[tabs++] = (unsigned char)(k + (unsigned)__builtin_ctz(tab));
		for (; special; special &= special - 1)
			t->special[specials++] = (unsigned char)(k + (unsigned)__builtin_ctz(special));
	}
	if (full < n) {
		unsigned drop = 16 - (unsigned)(n - full);
		block_masks(s + n - 16, &tab, &special);
		for (tab >>= drop; tab; tab &= tab - 1)
			t->at[tabs++] = (unsigned char)(full + (unsigned)__builtin_ctz(tab));
		for (special >>= drop; special; special &= special - 1)
			t->special[specials++] = (unsigned char)(full + (unsigned)__builtin_ctz(special));
	}
	t->tabs = tabs;
	t->specials = specials;
}

/* The first of the slot pair for a tail: by its first four bytes, which tell a user agent's
 * tail from a task result's or a log event's. */
static size_t tail_pair(const char *s)
{
	uint32_t key;
	memcpy(&key, s, sizeof key);
	return (key * 2654435761u >> 24) % TSV_TAILS & ~(size_t)1;
}

/* Whether the n bytes at a and b are the same; n >= 2. Word compares, not a call. */
static inline int same(const char *a, const char *b, size_t n)
{
	if (n >= 8) {
		uint64_t x, y;
		for (size_t i = 0; i + 8 < n; i += 8) {
			memcpy(&x, a + i, 8);
			memcpy(&y, b + i, 8);
			if (x != y)
				return 0;
		}
		memcpy(&x, a + n - 8, 8);
		memcpy(&y, b + n - 8, 8);
		return x == y;
	}
	if (n >= 4) {
		uint32_t x, y, u, v;
		memcpy(&x, a, 4);
		memcpy(&y, b, 4);
		memcpy(&u, a + n - 4, 4);
		memcpy(&v, b + n - 4, 4);
		return x == y && u == v;
	}
	return a[0] == b[0] && a[1] == b[1] && a[n - 1] == b[n - 1];
}

/* 1 when the tail's fields are the slot's names in order, each followed by '=' (so its names
 * are valid), *why then telling whether its values are; 0 when they are not. */
static int tail_known(const struct tsv_tail *slot, const char *s, size_t n,
		      const struct tail_tabs *t, const char **why)
{
	size_t start = 0, sp = 0;	/* the next byte to escape */
	const char *name = slot->text;
	if (slot->count != t->tabs + 1)
		return 0;
	for (size_t i = 0; i < slot->count; i++) {
		size_t end = i < t->tabs ? t->at[i] : n, len = slot->len[i];
		if (end - start < len || !same(s + start, name, len))
			return 0;
		/* the names so far are valid: a bad value here is the tail's first fault */
		if (sp < t->specials && t->special[sp] < end) {
			size_t from = t->special[sp];
			if (tsv_check(s + from, end - from, NULL) < 0) {
				*why = "malformed escape or control byte in an attribute";
				return 1;
			}
			while (sp < t->specials && t->special[sp] < end)
				sp++;
		}
		name += len;
		start = end + 1;
	}
	*why = NULL;
	return 1;
}

/* Keeps a valid tail's names first in its slot pair, when they fit. */
static void tail_keep(struct tsv_tail *pair, const struct names *t)
{
	size_t off = 0;
	if (t->count > TSV_TAIL_NAMES)
		return;
	for (size_t i = 0; i < t->count; i++)
		off += t->seen[i].n + 1;
	if (off > TSV_TAIL_TEXT)
		return;
	if (pair[0].count)
		pair[1] = pair[0];
	off = 0;
	for (size_t i = 0; i < t->count; i++) {
		memcpy(pair->text + off, t->seen[i].p, t->seen[i].n);
		off += t->seen[i].n;
		pair->text[off++] = '=';
		pair->len[i] = (unsigned char)(t->seen[i].n + 1);
	}
	pair->count = (unsigned char)t->count;
}

/* The tail checked: by a slot when its names are those kept there, else by the plain check
 * (and then kept). */
static size_t scan_tail(const char *s, size_t n, unsigned *escaped, struct tsv_tails *tails,
			const char **why)
{
	struct tsv_tail *pair = NULL;
	if (tails && n >= 16 && n <= TAIL_LOOKUP_MAX) {
		struct tail_tabs t;
		tail_tabs(s, n, &t);
		pair = &tails->slot[tail_pair(s)];
		for (int i = 0; i < 2; i++) {
			if (tail_known(&pair[i], s, n, &t, why)) {
				if (t.specials)
					*escaped |= 1u << NFIELDS;
				return pair[i].count;
			}
		}
	}
	/* rare once a source's first tail is kept; long tails (script logs) cost a sink far more
	 * to deliver than to check */
	struct names t;
	*why = check_attrs(s, n, &t);
	if (!*why && pair)
		tail_keep(pair, &t);
	return count_tabs(s, n, escaped) + 1;
}

/* A field at a time, with the memchr that finds its end: for a name that is first (a user
 * agent's, an exclude_attr's) that is one call, and no search of a whole tail (memmem cost 300
 * instructions on a tail without the name). */
int tsv_attr_find(const struct event *ev, const char *name, size_t n, struct slice *value)
{
	const char *field = ev->attrs.p, *end = field + ev->attrs.n;
	if (!field || !n || n > TSV_ATTR_NAME_MAX)
		return 0;
	for (;;) {
		const char *tab = memchr(field, '\t', (size_t)(end - field));
		const char *stop = tab ? tab : end;
		if ((size_t)(stop - field) > n && field[n] == '=' && field[0] == name[0] &&
		    !memcmp(field, name, n)) {
			*value = (struct slice){ field + n + 1, (size_t)(stop - field) - n - 1 };
			return 1;
		}
		if (!tab)
			return 0;
		field = tab + 1;
	}
}

void tsv_attr_append(struct buf *out, const char *name, const char *value, size_t n)
{
	buf_addc(out, '\t');
	buf_adds(out, name);
	buf_addc(out, '=');
	tsv_escape(out, value, n);
}

/* By length first: every attribute of every event a JSON or line-protocol sink writes asks. */
int tsv_attr_numeric(const char *name, size_t n)
{
#define NAMED(w) !memcmp(name, w, sizeof w - 1)
	switch (n) {
	case 7: return NAMED("work_ms") || NAMED("lock_ms") || NAMED("net_ram");
	case 8: return NAMED("peak_ram");
	case 10: return NAMED("process_ms");
	case 11: return NAMED("validate_ms") || NAMED("traverse_ms");
	case 15: return NAMED("script_log_rows");
	case 16: return NAMED("exec_duration_ms");
	default: return 0;
	}
#undef NAMED
}

int tsv_is_decimal(const char *s, size_t n)
{
	size_t i = n && (s[0] == '-' || s[0] == '+'), start = i;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == start)
		return 0;
	if (i < n && s[i] == '.') {
		size_t frac = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == frac)
			return 0;
	}
	return i == n;
}

int tsv_is_guid(const char *s, size_t n)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	if (n != sizeof shape - 1)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
		if (shape[i] == '-' ? c != '-' : !hex)
			return 0;
	}
	return 1;
}
