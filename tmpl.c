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
