/* diag: diagnostics on stderr, prefixed with the tool's name, and rate limits for them. */
#ifndef DIAG_H
#define DIAG_H
#include <stdnoreturn.h>
#include <time.h>

#define QSPIPE_VERSION "0.1.0"

/* The tool's name for every diagnostic; set once by diag_init(argv[0]'s tool name). */
extern const char *diag_prog;
void diag_init(const char *prog);

void warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Appends ": strerror(errno)". */
void warnsys(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
noreturn void diesys(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Handles --help (usage on stdout, then "See TOOL(1).", exit 0) and -V (version, exit 0) before
 * getopt sees them, and makes argv[0] the tool's name, so that getopt's complaint about a bad
 * flag names the tool as every diagnostic does. usage: the synopsis lines, then one line per
 * option, each starting "  -". */
void diag_std_flags(int argc, char **argv, const char *usage);
/* Prints the synopsis (usage without its option lines) on stderr and exits 2: for unknown
 * flags and bad operands. */
noreturn void diag_usage(const char *usage);

/* At most `per_second` messages a second for one reason; the rest are counted and summed up in
 * one line when the next message is allowed. */
struct ratelimit {
	time_t second;
	unsigned printed, suppressed;
};
/* 1: print it now. `what` names the reason in the "N more suppressed" line. */
int ratelimit_allow(struct ratelimit *rl, unsigned per_second, const char *what);
/* Reports what is still suppressed: at exit and in counter summaries. */
void ratelimit_flush(struct ratelimit *rl, const char *what);

/* strdup that dies (exit 1) when out of memory. */
char *xstrdup(const char *s);

/* Monotonic seconds, for timeouts and pacing. */
double now_mono(void);

#endif
