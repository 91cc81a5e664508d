/* metrics: a tool's counters in Prometheus' text exposition format, written to `metrics = FILE`
 * (any section's key; -M FILE) every `metrics_interval` seconds and at exit, replaced
 * atomically (FILE.tmp, then rename) as node_exporter's textfile collector expects, so that no
 * tool grows an HTTP server. Names are qspipe_<tool>_<what>_total for counters and
 * qspipe_<tool>_<what> for gauges, each with HELP and TYPE lines; label values are escaped, so
 * text from the network cannot break the file.
 *
 * How a tool uses it:
 *	struct metrics m; metrics_init(&m, "qsparse");
 *	conf key handler: why = metrics_conf_key(&m, key, value); if (why != conf_unknown_key) ...
 *	-M FILE: metrics_set_path(&m, optarg);
 *	in its loop: if (metrics_due(&m, now)) { metrics_begin(&m); ...samples...; metrics_write(&m, now); }
 *	at exit the same, whatever is due; metrics_free(&m). */
#ifndef METRICS_H
#define METRICS_H
#include <stddef.h>

#include "buf.h"

#define METRICS_INTERVAL_DEFAULT 15.0

struct metrics {
	const char *tool;
	char *path;		/* NULL: no metrics */
	double interval;	/* seconds */
	double next;		/* monotonic time of the next write; 0: at once */
	struct buf text, name;
	int failed;		/* the last write failed (said once until one succeeds) */
};

void metrics_init(struct metrics *m, const char *tool);
void metrics_free(struct metrics *m);
/* `metrics` and `metrics_interval`: NULL when taken, conf_unknown_key when key is neither,
 * else why the value is wrong. */
const char *metrics_conf_key(struct metrics *m, const char *key, const char *value);
void metrics_set_path(struct metrics *m, const char *path);
/* Whether a file is configured and a write is due at now (monotonic seconds). */
int metrics_due(const struct metrics *m, double now);
/* Seconds until the next write (for a poll timeout); -1 with no metrics file. */
double metrics_wait(const struct metrics *m, double now);

/* Starts a new text. */
void metrics_begin(struct metrics *m);
/* One sample. what: the name's own part ("datagrams"); counter: 1 for a counter (named
 * ..._total), 0 for a gauge. labels: NULL, or label pairs made with metrics_label (comma
 * separated). HELP and TYPE are written before the first sample of a name: give a name's
 * samples one after the other. */
void metrics_sample(struct metrics *m, const char *what, int counter, const char *help,
		    const char *labels, double value);
/* Appends name="value" (with a ',' before when out is not empty), the value escaped. */
void metrics_label(struct buf *out, const char *name, const char *value, size_t n);
/* Replaces the file with the text; 0 ok, -1 after a warning (once until a write succeeds):
 * never fatal, a tool goes on without its metrics. Schedules the next write. */
int metrics_write(struct metrics *m, double now);

#endif
