#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "httpbody.h"
#include "json.h"

static const char *const format_names[] = { "json", "ndjson", "json-array", "template" };

int httpbody_format(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(name, format_names[i]))
			return i;
	return -1;
}

static int add_piece(struct httpbody *b, const char *src, size_t n, char *why, size_t whylen)
{
	char *text = malloc(n + 1);
	struct tmpl *p = realloc(b->pieces, (b->npieces + 1) * sizeof *p);
	if (!text || !p)
		die(1, "compiling a template: out of memory");
	b->pieces = p;
	memcpy(text, src, n);
	text[n] = 0;
	int r = tmpl_compile(&b->pieces[b->npieces], text, why, whylen);
	free(text);
	if (r == 0)
		b->npieces++;
	return r;
}

int httpbody_template(struct httpbody *b, const char *src, char *why, size_t whylen)
{
	if (b->npieces) {
		snprintf(why, whylen, "given twice");
		return -1;
	}
	/* Split at each {json}, a doubled brace being a literal one ({{json}} is text). */
	size_t start = 0, i = 0, n = strlen(src);
	while (i < n) {
		if ((src[i] == '{' || src[i] == '}') && src[i + 1] == src[i]) {
			i += 2;
			continue;
		}
		if (!strncmp(src + i, "{json}", 6)) {
			if (add_piece(b, src + start, i - start, why, whylen) < 0)
				return -1;
			i += 6;
			start = i;
			continue;
		}
		i++;
	}
	return add_piece(b, src + start, n - start, why, whylen);
}

int httpbody_literal(char **dst, const char *src, char *why, size_t whylen)
{
	if (*dst) {
		snprintf(why, whylen, "given twice");
		return -1;
	}
	struct tmpl t;
	if (tmpl_compile(&t, src, why, whylen) < 0)
		return -1;
	for (size_t i = 0; i < t.nparts; i++)
		if (t.parts[i].field >= 0) {
			snprintf(why, whylen, "holds a {field}: only literal text goes here");
			tmpl_free(&t);
			return -1;
		}
	*dst = t.text;		/* the literal bytes, unescaped */
	t.text = NULL;
	tmpl_free(&t);
	return 0;
}

static char *dup_default(char *given, const char *dflt)
{
	return given ? given : xstrdup(dflt);
}

const char *httpbody_ready(struct httpbody *b, unsigned long batch)
{
	static const char *const heads[] = { "", "", "[", "" };
	static const char *const seps[] = { "", "\n", ",", "\n" };
	static const char *const tails[] = { "", "\n", "]", "" };
	if (b->format == HTTPBODY_TEMPLATE && !b->npieces)
		return "format = template needs a template";
	if (b->format != HTTPBODY_TEMPLATE && b->npieces)
		return "a template is given but format is not template";
	if (b->format == HTTPBODY_JSON && batch > 1)
		return "format = json posts one event a body: batches need ndjson, json-array or a template";
	if (b->format != HTTPBODY_TEMPLATE && (b->head || b->sep || b->tail))
		return "head, separator and tail go with format = template";
	b->head = dup_default(b->head, heads[b->format]);
	b->sep = dup_default(b->sep, seps[b->format]);
	b->tail = dup_default(b->tail, tails[b->format]);
	return NULL;
}

static void emit_json(struct buf *out, const char *value, size_t n, void *ctx)
{
	(void)ctx;
	json_escape(out, value, n);
}

static void emit_raw(struct buf *out, const char *value, size_t n, void *ctx)
{
	(void)ctx;
	buf_add(out, value, n);
}

/* One event's part of the body. */
static int item(struct httpbody *b, struct buf *out, const struct event *ev)
{
	if (b->format != HTTPBODY_TEMPLATE)
		return json_event(out, ev, &b->scratch);
	for (size_t i = 0; i < b->npieces; i++) {
		if (i && json_event(out, ev, &b->scratch) < 0)
			return -1;
		if (tmpl_expand(&b->pieces[i], ev, out, &b->scratch, b->raw ? emit_raw : emit_json, NULL) < 0)
			return -1;
	}
	return 0;
}

int httpbody_build(struct httpbody *b, struct buf *out, const struct event *ev, size_t n)
{
	size_t mark = out->n;
	buf_adds(out, b->head);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_adds(out, b->sep);
		if (item(b, out, &ev[i]) < 0) {
			out->n = mark;
			return -1;
		}
	}
	buf_adds(out, b->tail);
	return 0;
}

const char *httpbody_content_type(const struct httpbody *b)
{
	switch (b->format) {
	case HTTPBODY_NDJSON:
		return "application/x-ndjson";
	case HTTPBODY_TEMPLATE:
		return b->raw ? "text/plain; charset=utf-8" : "application/json; charset=utf-8";
	default:
		return "application/json; charset=utf-8";
	}
}

void httpbody_free(struct httpbody *b)
{
	for (size_t i = 0; i < b->npieces; i++)
		tmpl_free(&b->pieces[i]);
	free(b->pieces);
	free(b->head);
	free(b->sep);
	free(b->tail);
	buf_free(&b->scratch);
	buf_free(&b->item);
	*b = (struct httpbody){ 0 };
}
