/* tmpl: texts with {field} placeholders naming the event columns of qspipe-events(5), used for
 * MQTT topics and payloads and Slack messages, plus {user}: `user_dir\user_id`, or user_id alone
 * when there is no directory, and {name} for any attribute name (empty when the event has none
 * by that name). `{{` and `}}` stand for literal braces and `\n` for a line break; every other
 * byte is literal. */
#ifndef TMPL_H
#define TMPL_H
#include <stddef.h>

#include "buf.h"
#include "tsv.h"

/* {user}, after the columns' indexes; then an attribute. */
#define TMPL_USER NFIELDS
#define TMPL_ATTR (NFIELDS + 1)

struct tmpl_part {
	int field;		/* a column index, TMPL_USER, TMPL_ATTR, or -1 for literal text */
	size_t off, len;	/* the literal's place in text; the attribute's name there */
};

struct tmpl {
	char *text;		/* the literal bytes, unescaped, NUL-terminated */
	struct tmpl_part *parts;
	size_t nparts;
};

/* 0 ok; -1 with the reason in why ("unknown field {Host}", "unclosed {"). A name that is not a
 * column's nor a valid attribute name is unknown, and so is one a single typo away from a column
 * or user ({usr}, {taskname}): an attribute by such a name would be a trap. */
int tmpl_compile(struct tmpl *t, const char *src, char *why, size_t whylen);
void tmpl_free(struct tmpl *t);

/* How a column's decoded value goes into the text: escaped for the destination. */
typedef void (*tmpl_emit_fn)(struct buf *out, const char *value, size_t n, void *ctx);
/* Appends the expansion: literals as they are, each column or attribute decoded and passed to
 * emit. scratch is reused for decoding. 0 ok; -1 when a column or the attribute holds a
 * malformed escape. */
int tmpl_expand(const struct tmpl *t, const struct event *ev, struct buf *out,
		struct buf *scratch, tmpl_emit_fn emit, void *ctx);

#endif
