/* tmpl: texts with {field} placeholders naming the event columns of DESIGN.md 3, used for MQTT
 * topics and payloads and Slack messages, plus {user}: `user_dir\user_id`, or user_id alone when
 * there is no directory. `{{` and `}}` stand for literal braces and `\n` for a line break; every
 * other byte is literal. */
#ifndef TMPL_H
#define TMPL_H
#include <stddef.h>

#include "buf.h"
#include "tsv.h"

/* {user}, after the columns' indexes. */
#define TMPL_USER NFIELDS

struct tmpl_part {
	int field;		/* a column index, TMPL_USER, or -1 for literal text */
	size_t off, len;	/* the literal's place in text */
};

struct tmpl {
	char *text;		/* the literal bytes, unescaped, NUL-terminated */
	struct tmpl_part *parts;
	size_t nparts;
};

/* 0 ok; -1 with the reason in why ("unknown field {usr}", "unclosed {"). */
int tmpl_compile(struct tmpl *t, const char *src, char *why, size_t whylen);
void tmpl_free(struct tmpl *t);

/* How a column's decoded value goes into the text: escaped for the destination. */
typedef void (*tmpl_emit_fn)(struct buf *out, const char *value, size_t n, void *ctx);
/* Appends the expansion: literals as they are, each column decoded and passed to emit.
 * scratch is reused for decoding. 0 ok; -1 when a column holds a malformed escape. */
int tmpl_expand(const struct tmpl *t, const struct event *ev, struct buf *out,
		struct buf *scratch, tmpl_emit_fn emit, void *ctx);

#endif
