/* A strict JSON validator for the fuzz harnesses: the encoders' output must always parse. It
 * decodes strings too, so a harness can check that fields round-trip. */
#ifndef JSONCHECK_H
#define JSONCHECK_H
#include <stddef.h>

#include "../buf.h"

/* Parses one JSON string at *p (pointing at '"'), appending its decoded UTF-8 to out when out
 * is not NULL; advances *p. 0 ok, -1 invalid. */
int jsoncheck_string(const char **p, const char *end, struct buf *out);
/* Whether s is exactly one valid JSON value (surrounding white space allowed). */
int jsoncheck_value(const char *s, size_t n);

#endif
