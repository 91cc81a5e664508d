/* tsv: the line formats of qspipe-events(5): escaping, framed lines, events and their attributes. */
#ifndef TSV_H
#define TSV_H
#include <stddef.h>
#include <time.h>

#include "buf.h"

/* A view into a line; never owns its bytes. */
struct slice {
	const char *p;
	size_t n;
};

enum field {
	F_TIME, F_EVENT, F_HOST, F_USER_DIR, F_USER_ID, F_APP_ID, F_APP_NAME, F_TASK_ID,
	F_TASK_NAME, F_EXEC_ID, F_LEVEL, F_LOGGER, F_ORIGIN, F_CONTEXT, F_MESSAGE, F_SOURCE,
	NFIELDS
};
extern const char *const tsv_field_names[NFIELDS];
/* The column's index for its name, or -1. */
int tsv_field_index(const char *name, size_t n);
/* The event names of qspipe-events(5), in that order; an event mask has bit 1u << kind. */
enum event_kind {
	EV_SESSION_START, EV_SESSION_STOP, EV_CONNECTION_OPEN, EV_CONNECTION_CLOSE,
	EV_TASK_FAILED, EV_TASK_ABORTED, EV_TASK_SUCCEEDED, EV_TASK_DISTRIBUTED,
	EV_LOG, EV_QIX_PERF, EV_UNKNOWN, TSV_NEVENTS
};
extern const struct slice tsv_event_names[TSV_NEVENTS];	/* NUL-terminated too */
/* The enum event_kind for a name, or -1. */
int tsv_event_index(const char *name, size_t n);
/* "#time\tevent\t...\tsource" without the LF. */
void tsv_header(struct buf *out);

/* 1 if the byte must be escaped (TAB, LF, CR, backslash, other 0x00-0x1f, 0x7f). */
extern const unsigned char tsv_escape_needed[256];
/* Appends s escaped. */
void tsv_escape(struct buf *out, const char *s, size_t n);
/* Writes s escaped at d, which has room for 4 * n bytes, eight bytes at a time; returns the
 * end. For writers that reserve a whole line at once. */
char *tsv_escape_to(char *d, const char *s, size_t n);
/* Whether s holds a byte that must be escaped. */
int tsv_needs_escape(const char *s, size_t n);
/* Appends s decoded; returns 0, or -1 with *bad at the offset of a malformed escape. */
int tsv_unescape(struct buf *out, const char *s, size_t n, size_t *bad);
/* Whether s holds only well-formed escapes and no raw control bytes; -1 as above. */
int tsv_check(const char *s, size_t n, size_t *bad);

/* Splits line at TABs into at most max slices; returns how many fields the line has (which may
 * be more than max: only the first max are stored). */
size_t tsv_split(const char *line, size_t n, struct slice *f, size_t max);

/* Length of a framed line's TIME field (YYYY-MM-DDTHH:MM:SS(.f{1,9})?Z) when line starts with
 * one followed by a TAB; 0 when the line is bare. */
size_t tsv_framed_time_len(const char *line, size_t n);

/* A framed line: its four fields, still escaped. */
struct framed {
	struct slice time, source, port, payload;
};
/* 1 framed, 0 bare (payload set to the whole line), -1 framed-looking but not 4 fields, or
 * bare but holding a raw TAB (so not escaped text). */
int tsv_parse_framed(const char *line, size_t n, struct framed *fr);

/* RFC 3339 UTC with microseconds: 2026-11-20T23:52:15.123456Z (27 bytes). */
#define RFC3339_LEN 27
/* The date and time of day change once a second: a caller formatting many times keeps one. */
struct timecache {
	time_t sec;
	char text[20];
};
/* The last second tsv_format_time writes as it is (9999-12-31T23:59:59Z); later times, and times
 * before 1970, are clamped. */
#define TSV_TIME_MAX 253402300799LL
void tsv_format_time(struct timecache *cache, char out[RFC3339_LEN + 1], const struct timespec *ts);
/* Whether the shaped time at s (as tsv_framed_time_len accepts it) names a real month, day and
 * time of day: cheap, for checking every framed line. */
int tsv_time_in_range(const char *s);
/* Parses what tsv_framed_time_len accepts; 0 ok, -1 not a time. */
int tsv_parse_time(const char *s, size_t n, struct timespec *ts);

/* An event line split into its 16 escaped columns and the attributes after them. */
struct event {
	struct slice f[NFIELDS];
	/* The raw escaped tail after column 16, without its leading TAB; empty when none (p is
	 * NULL when the line has exactly 16 columns, so a line ending in a TAB after column 16
	 * still has a tail: one empty field, which tsv_check_attrs rejects). */
	struct slice attrs;
};
/* 0 when the line has at least 16 columns, -1 when fewer (*nfields tells how many fields it
 * has, attributes included). Attributes are not checked: callers that need strictness check
 * ev->attrs with tsv_check_attrs. */
int tsv_parse_event(const char *line, size_t n, struct event *ev, size_t *nfields);

/* Attribute tails checked before, by the names they hold. The tails of one source repeat their
 * names (a user agent's, a task result's), so a tail whose names are those of one seen here
 * needs only its names compared and its values checked: half the cost of checking it whole.
 * Caller-owned; zero it before its first use. */
#define TSV_TAILS 16		/* name sequences kept */
#define TSV_TAIL_NAMES 16	/* names in one: longer sequences are checked whole */
#define TSV_TAIL_TEXT 256	/* bytes of "name=" in one */
struct tsv_tails {
	struct tsv_tail {
		unsigned char count;			/* 0: an empty slot */
		unsigned char len[TSV_TAIL_NAMES];	/* of each "name=" in text */
		char text[TSV_TAIL_TEXT];
	} slot[TSV_TAILS];
};

/* tsv_parse_event in one vectorized pass that also notes which columns hold escapes or control
 * bytes (bit 1 << column in *escaped; bit 1 << NFIELDS for the attributes), so that only those
 * need tsv_check or decoding: calling memchr and tsv_check for every column took half of
 * qsroute's time. Returns how many fields the line has (attributes included); the first
 * NFIELDS are stored, the rest in ev->attrs. With why, the attributes are checked on the way:
 * *why is NULL, or tsv_check_attrs's reason (NULL too when the line has fewer than 16
 * columns); tails, if not NULL, makes that quicker for tails like those seen before. Without
 * why, the attributes are only counted. */
size_t tsv_scan_event(const char *line, size_t n, struct event *ev, unsigned *escaped,
		      struct tsv_tails *tails, const char **why);

/* Attributes: name=value fields after column 16. */
#define TSV_ATTR_NAME_MAX 32
#define TSV_ATTRS_MAX 64
/* Takes the next attribute off a tail (rest advances); 1 = got one, 0 = end. The value is
 * still escaped; a field without '=' is all name. Meant for checked tails; on any other it
 * still stays within the tail. */
int tsv_attr_next(struct slice *rest, struct slice *name, struct slice *value);
/* NULL when the tail is valid: each field a name [a-z][a-z0-9_]* of at most 32 bytes, none of
 * the column names and unique in the line, then '=' and a value with well-formed escapes and no
 * raw control bytes; at most 64 attributes. Else the reason: "bad attribute name", "attribute
 * without '='", "attribute named as a column", "duplicate attribute", "more than 64
 * attributes", "malformed escape or control byte in an attribute". p NULL: no tail, valid. */
const char *tsv_check_attrs(const char *p, size_t n);
/* 1 with *value (escaped) when the event has the attribute, else 0. name must be a valid
 * attribute name (a constant, or one a config check let through). For checked tails (names
 * unique): the value of the first field named so. */
int tsv_attr_find(const struct event *ev, const char *name, size_t n, struct slice *value);
/* Appends "\tname=" and value escaped: for producers; name must be valid. */
void tsv_attr_append(struct buf *out, const char *name, const char *value, size_t n);
/* Whether qspipe-events(5) marks the attribute numeric (exec_duration_ms, process_ms, ...). */
int tsv_attr_numeric(const char *name, size_t n);
/* Whether s is an optionally signed decimal number with an optional fraction: [+-]?D+(.D+)? */
int tsv_is_decimal(const char *s, size_t n);

/* Whether s is a GUID as Sense writes them: 8-4-4-4-12 hex digits (ids that may go into a link). */
int tsv_is_guid(const char *s, size_t n);

#endif
