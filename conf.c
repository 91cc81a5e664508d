#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf.h"
#include "diag.h"

const char conf_unknown_key[] = "unknown key";

const char *conf_path(const char *flag_path)
{
	if (flag_path)
		return flag_path;
	const char *env = getenv("QSPIPE_CONF");
	return env && *env ? env : NULL;
}

struct loading {
	const char *section;
	conf_key_fn fn;
	void *tool;
	FILE *file;
	unsigned long lineno;
	unsigned long overlong_line;	/* first line longer than inih takes */
	char *line;
	size_t linecap;
	int indented;			/* the line just read could continue a value */
	/* A key of our section waiting for its continuation lines, given to fn once whole. */
	char key[64];
	struct buf value;
	unsigned long key_line;
	/* The first complaint by line number; inih itself reports only syntax errors. */
	unsigned long why_line;
	char why[256];
};

/* Feeds inih one line at a time, noticing the lines it would silently cut and those that
 * continue the value before them (indented, not blank, not a comment: inih's rule). */
static char *read_line(char *str, int num, void *stream)
{
	struct loading *ld = stream;
	ssize_t n = getline(&ld->line, &ld->linecap, ld->file);
	if (n < 0)
		return NULL;
	ld->lineno++;
	if (n > num - 1) {
		if (!ld->overlong_line)
			ld->overlong_line = ld->lineno;
		n = num - 2;
		ld->line[n++] = '\n';
	}
	memcpy(str, ld->line, (size_t)n);
	str[n] = 0;
	size_t lead = strspn(str, " \t");
	ld->indented = lead > 0 && !strchr(";#\r\n", str[lead]) && str[lead];
	return str;
}

__attribute__((format(printf, 3, 4)))
static void complain(struct loading *ld, unsigned long line, const char *fmt, ...)
{
	if (ld->why_line && ld->why_line <= line)
		return;
	ld->why_line = line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ld->why, sizeof ld->why, fmt, ap);
	va_end(ap);
}

/* Gives the waiting key, its continuation lines joined with one space, to the tool. */
static void flush_key(struct loading *ld)
{
	if (!ld->key[0])
		return;
	const char *value = buf_str(&ld->value), *why;
	if (!strcmp(ld->key, "enable")) {
		int on;
		why = conf_bool(value, &on) ? "not yes or no" : NULL;
	} else {
		why = ld->fn(ld->tool, ld->key, value);
	}
	if (why == conf_unknown_key)
		complain(ld, ld->key_line, "unknown key '%s' in [%s]", ld->key, ld->section);
	else if (why)
		complain(ld, ld->key_line, "%s: %s", ld->key, why);
	ld->key[0] = 0;
	buf_reset(&ld->value);
}

static int on_key(void *user, const char *section, const char *key, const char *value)
{
	struct loading *ld = user;
	if (ld->indented && ld->key[0] && !strcmp(key, ld->key) && !strcmp(section, ld->section)) {
		buf_addc(&ld->value, ' ');
		buf_adds(&ld->value, value);
		return 1;
	}
	flush_key(ld);
	if (!*section)
		complain(ld, ld->lineno, "key outside any [section]");
	else if (!strcmp(section, ld->section)) {
		snprintf(ld->key, sizeof ld->key, "%s", key);
		buf_adds(&ld->value, value);
		ld->key_line = ld->lineno;
	}
	return 1;
}

int conf_load(const char *path, const char *section, conf_key_fn fn, void *tool)
{
	if (!path)
		return 0;
	struct loading ld = { .section = section, .fn = fn, .tool = tool };
	ld.file = fopen(path, "r");
	if (!ld.file) {
		warnsys("config %s", path);
		return -1;
	}
	int syntax_line = ini_parse_stream(read_line, &ld, on_key, &ld);
	flush_key(&ld);
	int read_err = ferror(ld.file);
	fclose(ld.file);
	free(ld.line);
	buf_free(&ld.value);
	if (read_err) {
		warnx("config %s: read error", path);
		return -1;
	}
	if (syntax_line < 0) {
		warnx("config %s: inih could not parse it (%d)", path, syntax_line);
		return -1;
	}
	/* the earliest of: a line too long, a line inih cannot parse, a key the tool refused */
	if (ld.overlong_line && (!syntax_line || ld.overlong_line <= (unsigned long)syntax_line) &&
	    (!ld.why_line || ld.overlong_line <= ld.why_line)) {
		warnx("%s:%lu: line longer than %d bytes (continue a long value on indented lines)",
		      path, ld.overlong_line, INI_MAX_LINE - 2);
		return -1;
	}
	if (syntax_line > 0 && (!ld.why_line || (unsigned long)syntax_line < ld.why_line)) {
		warnx("%s:%d: not a [section], key = value or comment", path, syntax_line);
		return -1;
	}
	if (ld.why_line) {
		warnx("%s:%lu: %s", path, ld.why_line, ld.why);
		return -1;
	}
	return 0;
}

int conf_bool(const char *value, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
		if (!strcasecmp(value, yes[i]))
			return *out = 1, 0;
		if (!strcasecmp(value, no[i]))
			return *out = 0, 0;
	}
	return -1;
}

int conf_ulong(const char *value, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	if (*value < '0' || *value > '9')
		return -1;
	unsigned long v = strtoul(value, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int conf_size(const char *value, unsigned long long max, unsigned long long *out)
{
	char *end;
	errno = 0;
	if (*value < '0' || *value > '9')
		return -1;
	unsigned long long v = strtoull(value, &end, 10);
	int shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (errno || *end || v == 0 || v > max >> shift)
		return -1;
	*out = v << shift;
	return 0;
}

int conf_seconds(const char *value, double max, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(value, &end);
	if (errno || end == value || *end || !isfinite(v) || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

const char *conf_words(const char *value,
		       const char *(*fn)(void *ctx, const char *word, size_t n), void *ctx)
{
	const char *p = value;
	for (;;) {
		p += strspn(p, " \t");
		if (!*p)
			return NULL;
		size_t n = strcspn(p, " \t");
		const char *why = fn(ctx, p, n);
		if (why)
			return why;
		p += n;
	}
}

int conf_read_secret(const char *path, struct buf *out)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)) && S_ISREG(st.st_mode))
		warnx("%s holds a secret but others may read it (chmod 600 it)", path);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	int err = ferror(f) ? errno : 0;
	fclose(f);
	if (err) {
		free(line);
		errno = err;
		return -1;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	buf_reset(out);
	buf_add(out, line, n > 0 ? (size_t)n : 0);
	free(line);
	return 0;
}

const char *conf_secret(struct buf *dst, const char *value, int from_file, char *why,
			size_t whylen)
{
	if (dst->n)
		return "given twice (a key and its _file count as one)";
	if (!from_file) {
		buf_adds(dst, value);
		return NULL;
	}
	if (conf_read_secret(value, dst) < 0) {
		snprintf(why, whylen, "cannot read %s: %s", value, strerror(errno));
		return why;
	}
	return NULL;
}

int conf_secret_env(struct buf *dst, const char *name)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return 0;
	buf_reset(dst);
	buf_adds(dst, v);
	return 1;
}
