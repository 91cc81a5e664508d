/* httpbody: the bodies qshttp posts, for one event or a batch of them: each event as JSON (one
 * object, as json_event makes it, attributes included), or as a template's expansion whose
 * {json} stands for that object; a batch is head, the events joined by a separator, and tail
 * (ndjson: LF after each; json-array: [a,b]). Template values are JSON-escaped (for templates
 * that are JSON) or, with escape = none, put as they are (for text bodies), so that with JSON
 * escaping a body from a JSON template is valid JSON whatever the events hold. */
#ifndef HTTPBODY_H
#define HTTPBODY_H
#include <stddef.h>

#include "buf.h"
#include "tmpl.h"
#include "tsv.h"

enum httpbody_format { HTTPBODY_JSON, HTTPBODY_NDJSON, HTTPBODY_ARRAY, HTTPBODY_TEMPLATE };

struct httpbody {
	enum httpbody_format format;
	int raw;			/* template values as they are, not JSON-escaped */
	struct tmpl *pieces;		/* the template split at each {json}, which goes between */
	size_t npieces;
	char *head, *sep, *tail;	/* NULL: the format's own */
	struct buf scratch, item;
};

/* The format by name (json, ndjson, json-array, template); -1 when none. */
int httpbody_format(const char *name);
/* Compiles the template (fields, attributes, {user}, {json}). 0; -1 with why. */
int httpbody_template(struct httpbody *b, const char *src, char *why, size_t whylen);
/* Sets *dst to the literal text of src (`\n` a line break, `{{` `}}` braces; no fields).
 * 0; -1 with why. */
int httpbody_literal(char **dst, const char *src, char *why, size_t whylen);
/* After the config: the format's head, separator and tail where none was given. NULL, or why
 * the settings do not go together. */
const char *httpbody_ready(struct httpbody *b, unsigned long batch);
/* Appends the body of ev[0..n) (n >= 1). 0; -1 when an event holds a malformed escape (never
 * for lines the sink runtime checked), nothing appended then. */
int httpbody_build(struct httpbody *b, struct buf *out, const struct event *ev, size_t n);
/* The Content-Type to send when the config sets none. */
const char *httpbody_content_type(const struct httpbody *b);
void httpbody_free(struct httpbody *b);

#endif
