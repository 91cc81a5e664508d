/* metrics: the text format of Prometheus 0.0.4, written to FILE.tmp and renamed over FILE. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "diag.h"
#include "metrics.h"

void metrics_init(struct metrics *m, const char *tool)
{
	memset(m, 0, sizeof *m);
	m->tool = tool;
	m->interval = METRICS_INTERVAL_DEFAULT;
}

void metrics_free(struct metrics *m)
{
	free(m->path);
	buf_free(&m->text);
	buf_free(&m->name);
	m->path = NULL;
}

void metrics_set_path(struct metrics *m, const char *path)
{
	free(m->path);
	m->path = *path ? xstrdup(path) : NULL;
}

const char *metrics_conf_key(struct metrics *m, const char *key, const char *value)
{
	if (!strcmp(key, "metrics")) {
		metrics_set_path(m, value);
		return NULL;
	}
	if (!strcmp(key, "metrics_interval")) {
		double s;
		if (conf_seconds(value, 86400, &s) < 0 || s < 1)
			return "not a number of seconds from 1 to 86400";
		m->interval = s;
		return NULL;
	}
	return conf_unknown_key;
}

int metrics_due(const struct metrics *m, double now) { return m->path && now >= m->next; }

double metrics_wait(const struct metrics *m, double now)
{
	if (!m->path)
		return -1;
	return m->next > now ? m->next - now : 0;
}

void metrics_begin(struct metrics *m)
{
	buf_reset(&m->text);
	buf_reset(&m->name);
}

/* Help text is ours, but a newline or backslash in it would still break the line. */
static void add_help(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_adds(b, "\\\\");
		else if (*s == '\n')
			buf_adds(b, "\\n");
		else
			buf_addc(b, *s);
	}
}

void metrics_sample(struct metrics *m, const char *what, int counter, const char *help,
		    const char *labels, double value)
{
	size_t start = m->text.n;
	buf_printf(&m->text, "qspipe_%s_%s%s", m->tool, what, counter ? "_total" : "");
	size_t len = m->text.n - start;
	/* the name just written is the family: HELP and TYPE once, before its first sample */
	if (m->name.n != len || memcmp(m->name.p, m->text.p + start, len)) {
		buf_reset(&m->name);
		buf_add(&m->name, m->text.p + start, len);
		m->text.n = start;
		buf_adds(&m->text, "# HELP ");
		buf_add(&m->text, m->name.p, m->name.n);
		buf_addc(&m->text, ' ');
		add_help(&m->text, help);
		buf_adds(&m->text, "\n# TYPE ");
		buf_add(&m->text, m->name.p, m->name.n);
		buf_adds(&m->text, counter ? " counter\n" : " gauge\n");
		buf_add(&m->text, m->name.p, m->name.n);
	}
	if (labels && *labels)
		buf_printf(&m->text, "{%s}", labels);
	if (isnan(value))
		buf_adds(&m->text, " NaN\n");
	else if (value == floor(value) && fabs(value) < 1e15)
		buf_printf(&m->text, " %.0f\n", value);
	else
		buf_printf(&m->text, " %.17g\n", value);
}

void metrics_label(struct buf *out, const char *name, const char *value, size_t n)
{
	if (out->n)
		buf_addc(out, ',');
	buf_adds(out, name);
	buf_adds(out, "=\"");
	for (size_t i = 0; i < n; i++) {
		if (value[i] == '\\' || value[i] == '"')
			buf_addc(out, '\\'), buf_addc(out, value[i]);
		else if (value[i] == '\n')
			buf_adds(out, "\\n");
		else
			buf_addc(out, value[i]);
	}
	buf_addc(out, '"');
}

static int write_file(const char *tmp, const char *path, struct buf *text)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	struct buf copy = *text;	/* buf_write_fd empties what it writes */
	int r = buf_write_fd(&copy, fd);
	int e = errno;
	if (close(fd) < 0 && !r)
		r = -1, e = errno;
	if (!r && rename(tmp, path) < 0)
		r = -1, e = errno;
	if (r)
		unlink(tmp);
	errno = e;
	return r;
}

int metrics_write(struct metrics *m, double now)
{
	if (!m->path)
		return 0;
	m->next = now + m->interval;
	struct buf tmp = { 0 };
	buf_printf(&tmp, "%s.tmp", m->path);
	int r = write_file(buf_str(&tmp), m->path, &m->text);
	if (r < 0 && !m->failed)
		warnsys("cannot write metrics to %s", buf_str(&tmp));
	m->failed = r < 0;
	buf_free(&tmp);
	return r;
}
