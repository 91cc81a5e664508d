/* A strict InfluxDB line-protocol parser for the fuzz harnesses, written for the tests: it reads
 * a line as InfluxDB 1.x's scanner does (a backslash takes the next byte with it; `\,` `\ `
 * `\=` unescape in names, `\"` `\\` in strings) and checks what the builder promises. */
#ifndef LPCHECK_H
#define LPCHECK_H
#include <stddef.h>

/* Why the text is not exactly one well-formed point ending in LF, or NULL: a measurement not
 * empty and not starting with '#'; tags key=value, neither empty, keys unique and not "time",
 * no control byte and valid UTF-8 once unescaped; at least one field, keys unique, each a
 * float or a string of valid UTF-8, each key of the measurement always of the same type (over
 * every point checked so far); an integer time. */
const char *lpcheck_point(const char *s, size_t n);

#endif
