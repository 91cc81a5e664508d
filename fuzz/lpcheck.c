#include <stdlib.h>
#include <string.h>

#include "../json.h"
#include "lpcheck.h"

/* Scans a name up to an unescaped byte of stops (or the end): its end. */
static const char *scan(const char *p, const char *end, const char *stops)
{
	while (p < end && !strchr(stops, *p)) {
		if (*p == '\\' && p + 1 < end)
			p++;
		p++;
	}
	return p;
}

/* Unescapes a name as InfluxDB does into out (at most cap bytes); its length, or -1. */
static long unescape(const char *p, const char *end, int meas, char *out, size_t cap)
{
	size_t n = 0;
	while (p < end) {
		char c = *p;
		if (c == '\\' && p + 1 < end && (p[1] == ',' || p[1] == ' ' || (!meas && p[1] == '=')))
			c = *++p;
		if (n == cap)
			return -1;
		out[n++] = c;
		p++;
	}
	return (long)n;
}

static int valid_text(const char *s, size_t n, int controls)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		if (!controls && (*p < 0x20 || *p == 0x7f))
			return 0;
		size_t len = utf8_len(p, (size_t)(end - p));
		if (!len)
			return 0;
		p += len;
	}
	return 1;
}

/* Field types seen: "measurement\0key" -> 's' or 'f', a small open-addressed table. */
#define TYPES 4096
static struct { char *key; size_t n; char type; } types[TYPES];

static int same_type(const char *m, size_t mn, const char *k, size_t kn, char type)
{
	char buf[1024];
	if (mn + kn + 1 > sizeof buf)
		return 1;	/* not tracked: too long to matter for the schema's names */
	memcpy(buf, m, mn);
	buf[mn] = 0;
	memcpy(buf + mn + 1, k, kn);
	size_t n = mn + kn + 1, h = 5381;
	for (size_t i = 0; i < n; i++)
		h = h * 33 + (unsigned char)buf[i];
	for (size_t i = 0; i < TYPES; i++) {
		size_t j = (h + i) % TYPES;
		if (!types[j].key) {
			types[j].key = malloc(n);
			if (!types[j].key)
				abort();
			memcpy(types[j].key, buf, n);
			types[j].n = n;
			types[j].type = type;
			return 1;
		}
		if (types[j].n == n && !memcmp(types[j].key, buf, n))
			return types[j].type == type;
	}
	return 1;	/* full: no more tracked */
}

#define MAXKEYS 128
struct keys {
	char k[MAXKEYS][256];
	size_t len[MAXKEYS];
	int n;
};

static int add_key(struct keys *ks, const char *k, size_t n)
{
	for (int i = 0; i < ks->n; i++)
		if (ks->len[i] == n && !memcmp(ks->k[i], k, n))
			return 0;
	if (ks->n < MAXKEYS && n <= sizeof ks->k[0]) {
		memcpy(ks->k[ks->n], k, n);
		ks->len[ks->n++] = n;
	}
	return 1;
}

static int is_float(const char *p, const char *end)
{
	/* what InfluxDB takes as a float: [-]digits[.digits][e[+-]digits] */
	if (p < end && *p == '-')
		p++;
	const char *d = p;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	if (p == d)
		return 0;
	if (p < end && *p == '.') {
		d = ++p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (p == d)
			return 0;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		d = p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (p == d)
			return 0;
	}
	return p == end;
}

const char *lpcheck_point(const char *s, size_t n)
{
	static char name[1 << 16], meas[1 << 16];
	static struct keys tags, fields;
	if (!n || s[n - 1] != '\n')
		return "no LF at the end";
	const char *end = s + n - 1, *p = s;
	/* measurement */
	const char *m_end = scan(p, end, ", \n");
	if (m_end == p)
		return "empty measurement";
	if (*p == '#')
		return "a comment, not a point";
	long mn = unescape(p, m_end, 1, meas, sizeof meas);
	if (mn < 0 || !valid_text(meas, (size_t)mn, 0))
		return "measurement: control byte or invalid UTF-8";
	if (m_end == end || *m_end == '\n')
		return "no fields";
	p = m_end;
	/* tags */
	tags.n = 0;
	while (*p == ',') {
		const char *k = ++p, *k_end = scan(k, end, ",= \n");
		if (k_end == k || k_end == end || *k_end != '=')
			return "tag: empty key or no =";
		const char *v = k_end + 1, *v_end = scan(v, end, ",= \n");
		if (v_end == v)
			return "tag: empty value";
		if (v_end < end && *v_end == '=')
			return "tag: unescaped = in the value";
		if (v_end == end || *v_end == '\n')
			return "tag set not ended by a blank";
		long kn = unescape(k, k_end, 0, name, sizeof name);
		if (kn < 0 || !valid_text(name, (size_t)kn, 0))
			return "tag key: control byte or invalid UTF-8";
		if (kn == 4 && !memcmp(name, "time", 4))
			return "tag key time";
		if (!add_key(&tags, name, (size_t)kn))
			return "duplicate tag";
		long vn = unescape(v, v_end, 0, name, sizeof name);
		if (vn < 0 || !valid_text(name, (size_t)vn, 0))
			return "tag value: control byte or invalid UTF-8";
		p = v_end;
	}
	if (*p != ' ')
		return "no blank before the fields";
	p++;
	/* fields */
	fields.n = 0;
	for (;;) {
		const char *k = p, *k_end = scan(k, end, ",= \n\"");
		if (k_end == k || k_end == end || *k_end != '=')
			return "field: empty key or no =";
		long kn = unescape(k, k_end, 0, name, sizeof name);
		if (kn < 0 || !valid_text(name, (size_t)kn, 0))
			return "field key: control byte or invalid UTF-8";
		if (kn == 4 && !memcmp(name, "time", 4))
			return "field key time";
		if (!add_key(&fields, name, (size_t)kn))
			return "duplicate field";
		if (!same_type(meas, (size_t)mn, name, (size_t)kn, k_end[1] == '"' ? 's' : 'f'))
			return "a field changed its type";
		p = k_end + 1;
		if (*p == '"') {
			size_t sn = 0;
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < end && (p[1] == '"' || p[1] == '\\'))
					p++;
				else if (*p == '\\')
					return "string: a lone backslash";
				if (sn < sizeof name)
					name[sn++] = *p;
			}
			if (p == end)
				return "string not closed";
			if (!valid_text(name, sn, 1))
				return "string: invalid UTF-8";
			p++;
		} else {
			const char *v_end = scan(p, end, ", \n");
			if (!is_float(p, v_end))
				return "field: not a float or a string";
			p = v_end;
		}
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		break;
	}
	if (p == end || *p != ' ')
		return "no time";
	p++;
	if (p < end && *p == '-')
		p++;
	const char *d = p;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	if (p == d || p != end)
		return "time not an integer at the end";
	return NULL;
}
