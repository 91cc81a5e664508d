/* json: JSON text from untrusted bytes: always valid JSON, whatever the input. */
#ifndef JSON_H
#define JSON_H
#include <stddef.h>

#include "buf.h"
#include "tsv.h"

/* Length of the well-formed UTF-8 sequence at s (1-4), or 0 when it is not one (overlong
 * forms, surrogates and code points past U+10FFFF included). */
size_t utf8_len(const unsigned char *s, size_t n);

/* Appends s as the inside of a JSON string: '"', '\\' and control bytes escaped, each byte
 * that is not part of well-formed UTF-8 replaced by U+FFFD. */
void json_escape(struct buf *out, const char *s, size_t n);
/* The same between double quotes. */
void json_string(struct buf *out, const char *s, size_t n);

/* Appends {"time":"...","event":"...",...} with every non-empty column of ev by its name, then
 * every attribute with a non-empty value by its name, in the line's order, decoded from the TSV
 * escapes: a numeric attribute (tsv_attr_numeric) whose value is a decimal number as a JSON
 * number, anything else as a string. scratch is reused for decoding. 0 ok; -1 when a column or
 * attribute holds a malformed escape (nothing is appended then). */
int json_event(struct buf *out, const struct event *ev, struct buf *scratch);

#endif
