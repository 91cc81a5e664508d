/* influx: InfluxDB line protocol from events (qspipe-events(5)), in Butler SOS's schema, so
 * that its Grafana dashboards read them as they are. One event, one point; whatever the
 * event holds, the line is well-formed: names and tag values escaped (comma, space, '='),
 * string fields quoted (", \), invalid UTF-8 replaced by U+FFFD, empty tags left out, and each
 * field always of the one type it has (strings, or floats for the numbers), so no point ever
 * conflicts with one written before. */
#ifndef INFLUX_H
#define INFLUX_H
#include <stddef.h>

#include "buf.h"
#include "tsv.h"

struct influx {
	/* InfluxDB 3 keeps tags and fields in the columns of one table: a field that shares a
	 * name with one of the point's tags gets "_field" appended, as Butler SOS does. */
	int v3;
	struct buf tags;			/* the static tags, ready: ",env=PROD,dc=north" */
	char **tag_keys;			/* their keys, decoded, so events do not repeat them */
	size_t ntag_keys;
	char *measurement[TSV_NEVENTS];		/* escaped; NULL: the schema's */
	struct buf s1, s2;			/* scratch */
};

void influx_init(struct influx *ix);
void influx_free(struct influx *ix);
/* A static tag, "KEY=VALUE", added to every point (a later one with the same key replaces
 * it). NULL, or why it cannot be one. */
const char *influx_static_tag(struct influx *ix, const char *spec);
/* The measurement for an event kind instead of the schema's. NULL, or why not. */
const char *influx_measurement(struct influx *ix, int kind, const char *name);
/* The schema's measurement for an event kind. */
const char *influx_default_measurement(int kind);

/* Appends the event's point, one line ending in LF, the event's time in nanoseconds. NULL,
 * or why it cannot be written (the time column is no time InfluxDB can store): nothing is
 * appended then. ev must have passed the sink runtime's check (well-formed escapes). */
const char *influx_point(struct influx *ix, const struct event *ev, int kind, struct buf *out);

/* Line-protocol escaping, for the builder and its tests. A name (measurement: kind 'm', tag
 * key or value, field key: 'k'): control bytes become spaces, specials are escaped, a
 * backslash that would escape one (or end the name) becomes '/'. */
void influx_name(struct buf *out, const char *s, size_t n, int kind);
/* The inside of a string field: '"' and '\' escaped, the rest as it is but invalid UTF-8. */
void influx_string(struct buf *out, const char *s, size_t n);

#endif
