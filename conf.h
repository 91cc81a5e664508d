/* conf: the one INI file every tool reads its own section of (DESIGN.md 5), with inih. */
#ifndef CONF_H
#define CONF_H
#include <stddef.h>

#include "buf.h"

/* A tool's handler for one key of its section: NULL when taken, else why not (shown after
 * "FILE:LINE: "). A key the tool does not know answers conf_unknown_key. */
typedef const char *(*conf_key_fn)(void *tool, const char *key, const char *value);
extern const char conf_unknown_key[];

/* The file to read: flag_path (-c) when given, else $QSPIPE_CONF when set, else NULL. */
const char *conf_path(const char *flag_path);
/* Reads `section` of the file at path (nothing when path is NULL), calling fn for every key but
 * `enable`, which every section may hold. 0 ok; -1 after saying on stderr which file and line
 * is wrong and why (the caller exits 2). */
int conf_load(const char *path, const char *section, conf_key_fn fn, void *tool);

/* Value parsers: 0 ok, -1 when the value is not of the kind. */
int conf_bool(const char *value, int *out);
int conf_ulong(const char *value, unsigned long min, unsigned long max, unsigned long *out);
int conf_seconds(const char *value, double max, double *out);
/* A byte count, with an optional K, M or G suffix (KiB, MiB, GiB); not 0, at most max. */
int conf_size(const char *value, unsigned long long max, unsigned long long *out);

/* Calls fn for each space-separated word of value; stops at and returns its first complaint. */
const char *conf_words(const char *value,
		       const char *(*fn)(void *ctx, const char *word, size_t n), void *ctx);

/* Reads a secret kept in a file: its first line, without the line end. Warns when others than
 * the owner may read the file. 0 ok; -1 with errno set. */
int conf_read_secret(const char *path, struct buf *out);
/* A secret's key (webhook, webhook_file, password_file, a header's value...): value itself, or
 * with from_file the first line of the file value names, into dst, which must be empty (a
 * secret given twice, as KEY and KEY_file, is refused). NULL ok; else why, in why when it names
 * the file (never the secret). */
const char *conf_secret(struct buf *dst, const char *value, int from_file, char *why,
			size_t whylen);
/* The environment's secret over what the file gave: dst takes the variable's value when it is
 * set and not empty (1), else stays (0). */
int conf_secret_env(struct buf *dst, const char *name);

#endif
