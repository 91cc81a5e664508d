#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diag.h"

const char *diag_prog = "qspipe";

void diag_init(const char *prog)
{
	diag_prog = prog;
}

static void vreport(const char *fmt, va_list ap, int err)
{
	/* One fprintf per part would interleave with other writers of the same stderr; build the
	 * line first and write it at once. */
	char line[1024];
	int n = snprintf(line, sizeof line, "%s: ", diag_prog);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof line)
		n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	if (err && (size_t)n < sizeof line)
		snprintf(line + n, sizeof line - (size_t)n, ": %s", strerror(err));
	fprintf(stderr, "%s\n", line);
}

void warnx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(fmt, ap, 0);
	va_end(ap);
}

void warnsys(const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	vreport(fmt, ap, err);
	va_end(ap);
}

void die(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(fmt, ap, 0);
	va_end(ap);
	exit(status);
}

void diesys(int status, const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	vreport(fmt, ap, err);
	va_end(ap);
	exit(status);
}

void diag_std_flags(int argc, char **argv, const char *usage)
{
	/* getopt names a bad flag after argv[0]: the tool's name, as every diagnostic has it */
	if (argc > 0)
		argv[0] = (char *)diag_prog;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return;
		if (!strcmp(argv[i], "--help")) {
			printf("usage: %s\nSee %s(1).\n", usage, diag_prog);
			exit(0);
		}
		if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			printf("%s (qspipe) %s\n", diag_prog, QSPIPE_VERSION);
			exit(0);
		}
	}
}

void diag_usage(const char *usage)
{
	/* the synopsis: the lines before the first option line ("  -x ...") */
	const char *end = strstr(usage, "\n  -");
	int n = end ? (int)(end - usage) : (int)strlen(usage);
	fprintf(stderr, "usage: %.*s\n%s --help lists the options.\n", n, usage, diag_prog);
	exit(2);
}

int ratelimit_allow(struct ratelimit *rl, unsigned per_second, const char *what)
{
	time_t now = time(NULL);
	if (now != rl->second) {
		if (rl->suppressed)
			warnx("%u more %s suppressed", rl->suppressed, what);
		rl->second = now;
		rl->printed = rl->suppressed = 0;
	}
	if (rl->printed < per_second) {
		rl->printed++;
		return 1;
	}
	rl->suppressed++;
	return 0;
}

void ratelimit_flush(struct ratelimit *rl, const char *what)
{
	if (rl->suppressed)
		warnx("%u more %s suppressed", rl->suppressed, what);
	rl->suppressed = 0;
}

char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		die(1, "out of memory");
	return d;
}

double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
