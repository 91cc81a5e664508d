/* jsonr: reads one JSON text (RFC 8259) from an untrusted source, a QRS answer, into a compact
 * tree. Strict: anything that is not exactly one JSON value (with white space around it) is
 * refused, as are invalid UTF-8, raw control bytes in strings and lone surrogates in \u
 * escapes. Bounded: nesting at most JSONR_MAX_DEPTH, input at most JSONR_MAX_SIZE bytes and
 * JSONR_MAX_NODES values (about 28 MiB of tree), whatever the input. Strings are decoded to UTF-8 (\u escapes and surrogate
 * pairs included). Never crashes, whatever the bytes. */
#ifndef JSONR_H
#define JSONR_H
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define JSONR_MAX_DEPTH 64
#define JSONR_MAX_SIZE (16u * 1024 * 1024)
#define JSONR_MAX_NODES (1u << 20)

enum jsonr_type {
	JSONR_NULL, JSONR_FALSE, JSONR_TRUE, JSONR_NUMBER, JSONR_STRING, JSONR_ARRAY, JSONR_OBJECT
};

/* One value. The nodes are in document order, so a container's first child follows it and the
 * children are linked by `next`. Offsets point into jsonr.text, which holds each decoded string
 * (and each number's text) followed by a NUL. */
struct jsonr_node {
	uint32_t type;
	uint32_t key, key_len;		/* a member's name (children of objects); else 0, 0 */
	uint32_t val, val_len;		/* a string decoded, or a number's text */
	uint32_t next;			/* index of the next sibling; 0: none */
	uint32_t count;			/* children of an array or object */
};

enum jsonr_error { JSONR_OK, JSONR_SYNTAX, JSONR_LIMIT };

struct jsonr {
	struct jsonr_node *node;	/* node[0] is the root */
	size_t nnode, cap;
	struct buf text;
	enum jsonr_error error;
	size_t error_at;		/* byte offset of the error in the input */
	char why[64];			/* what was wrong there */
};

/* Parses s into j (reused: earlier contents replaced). 0 ok; -1 with j->error, error_at and
 * why set. Allocation failure exits (diag.h). */
int jsonr_parse(struct jsonr *j, const char *s, size_t n);
void jsonr_free(struct jsonr *j);

/* Lookups: -1 when absent, so they chain: jsonr_get(j, jsonr_get(j, 0, "a"), "b"). */
/* The member of object `obj` with this name (the first when repeated), or -1 (also when obj is
 * -1 or not an object). */
int jsonr_get(const struct jsonr *j, int obj, const char *name);
/* Members by a dotted path of names: "operational.lastExecutionResult.id". */
int jsonr_path(const struct jsonr *j, int obj, const char *path);
/* An array's or object's first element, and the element after el; -1 at the end. */
int jsonr_first(const struct jsonr *j, int container);
int jsonr_next(const struct jsonr *j, int el);
/* The type of node i, or -1 when i is -1. */
int jsonr_type(const struct jsonr *j, int i);

/* A string's decoded bytes (NUL-terminated; *n its length, NUL bytes from \u0000 included), or
 * NULL when i is not a string. */
const char *jsonr_str(const struct jsonr *j, int i, size_t *n);
/* A member's name, or NULL. */
const char *jsonr_key(const struct jsonr *j, int i, size_t *n);
/* A number written as an integer (no fraction, no exponent) that fits in 64 bits: 0 ok; else
 * -1. */
int jsonr_int(const struct jsonr *j, int i, long long *out);
/* A number's text as written (NUL-terminated), or NULL. */
const char *jsonr_num_text(const struct jsonr *j, int i);

#endif
