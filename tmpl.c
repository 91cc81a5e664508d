#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "tmpl.h"

static void add_part(struct tmpl *t, int field, size_t off, size_t len)
{
	if (field < 0 && !len)
		return;
	struct tmpl_part *last = t->nparts ? &t->parts[t->nparts - 1] : NULL;
	if (field < 0 && last && last->field < 0 && last->off + last->len == off) {
		last->len += len;
		return;
	}
	struct tmpl_part *parts = realloc(t->parts, (t->nparts + 1) * sizeof *parts);
	if (!parts)
		die(1, "compiling a template: out of memory");
	t->parts = parts;
	t->parts[t->nparts++] = (struct tmpl_part){ field, off, len };
}

/* Whether a and b are one insertion, deletion, substitution or swap of neighbours apart. */
static int one_typo(const char *a, size_t an, const char *b, size_t bn)
{
	if (an > bn)
		return one_typo(b, bn, a, an);
	if (bn - an > 1)
		return 0;
	size_t i = 0;
	while (i < an && a[i] == b[i])
		i++;
	if (i == an)
		return bn == an + 1;
	if (an == bn)
		return !strncmp(a + i + 1, b + i + 1, an - i - 1) ||
		       (i + 1 < an && a[i] == b[i + 1] && a[i + 1] == b[i] &&
			!strncmp(a + i + 2, b + i + 2, an - i - 2));
	return !strncmp(a + i, b + i + 1, an - i);
}

/* Whether the name may be an attribute's: valid, no typo of a column or user, nor the first
 * word of a column ({task}, {app}, {exec}). */
static int attr_name_ok(const char *s, size_t n)
{
	char line[TSV_ATTR_NAME_MAX + 2];
	if (n == 0 || n > TSV_ATTR_NAME_MAX)
		return 0;
	memcpy(line, s, n);
	line[n] = '=';
	if (tsv_check_attrs(line, n + 1))
		return 0;
	if (one_typo(s, n, "user", 4))
		return 0;
	for (int i = 0; i < NFIELDS; i++) {
		const char *col = tsv_field_names[i], *us = strchr(col, '_');
		if (one_typo(s, n, col, strlen(col)) || (us && (size_t)(us - col) == n && !memcmp(s, col, n)))
			return 0;
	}
	return 1;
}

int tmpl_compile(struct tmpl *t, const char *src, char *why, size_t whylen)
{
	size_t n = strlen(src);
	*t = (struct tmpl){ 0 };
	t->text = malloc(n + 1);
	if (!t->text)
		die(1, "compiling a template: out of memory");
	size_t len = 0;
	for (size_t i = 0; i < n;) {
		if (src[i] == '{' && src[i + 1] != '{') {
			const char *close = strchr(src + i + 1, '}');
			if (!close) {
				snprintf(why, whylen, "unclosed { (write {{ for a literal brace)");
				tmpl_free(t);
				return -1;
			}
			size_t namelen = (size_t)(close - (src + i + 1));
			int field = namelen == 4 && !memcmp(src + i + 1, "user", 4)
					    ? TMPL_USER : tsv_field_index(src + i + 1, namelen);
			if (field < 0 && attr_name_ok(src + i + 1, namelen)) {
				/* the name goes into text, where only this part points */
				memcpy(t->text + len, src + i + 1, namelen);
				add_part(t, TMPL_ATTR, len, namelen);
				len += namelen;
				i += namelen + 2;
				continue;
			}
			if (field < 0) {
				snprintf(why, whylen, "unknown field {%.*s}",
					 (int)(namelen > 40 ? 40 : namelen), src + i + 1);
				tmpl_free(t);
				return -1;
			}
			add_part(t, field, 0, 0);
			i += namelen + 2;
			continue;
		}
		char c = src[i];
		size_t step = 1;
		if ((c == '{' || c == '}') && src[i + 1] == c)
			step = 2;
		else if (c == '\\' && src[i + 1] == 'n')
			c = '\n', step = 2;
		t->text[len] = c;
		add_part(t, -1, len, 1);
		len++;
		i += step;
	}
	t->text[len] = 0;
	return 0;
}

void tmpl_free(struct tmpl *t)
{
	free(t->text);
	free(t->parts);
	*t = (struct tmpl){ 0 };
}

/* Decodes the column into scratch; -1 on a malformed escape. */
static int decode(const struct event *ev, int field, struct buf *scratch)
{
	return tsv_unescape(scratch, ev->f[field].p, ev->f[field].n, NULL);
}

int tmpl_expand(const struct tmpl *t, const struct event *ev, struct buf *out,
		struct buf *scratch, tmpl_emit_fn emit, void *ctx)
{
	size_t mark = out->n;
	for (size_t i = 0; i < t->nparts; i++) {
		const struct tmpl_part *part = &t->parts[i];
		if (part->field < 0) {
			buf_add(out, t->text + part->off, part->len);
			continue;
		}
		buf_reset(scratch);
		int bad;
		if (part->field == TMPL_USER) {
			bad = decode(ev, F_USER_DIR, scratch);
			if (scratch->n)
				buf_addc(scratch, '\\');
			bad |= decode(ev, F_USER_ID, scratch);
		} else if (part->field == TMPL_ATTR) {
			struct slice v;
			bad = tsv_attr_find(ev, t->text + part->off, part->len, &v) &&
			      tsv_unescape(scratch, v.p, v.n, NULL) < 0;
		} else {
			bad = decode(ev, part->field, scratch);
		}
		if (bad) {
			out->n = mark;
			return -1;
		}
		emit(out, scratch->p, scratch->n, ctx);
	}
	return 0;
}
