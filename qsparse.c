/* qsparse: framed or bare Qlik Sense log4net payloads in, normalized events with their
 * attributes out, recognizing the formats of qspipe-events(5). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "diag.h"
#include "lines.h"
#include "metrics.h"
#include "sig.h"
#include "tsv.h"
#include "ua.h"

static const char usage[] =
	"qsparse [-H] [-u] [-q] [-c FILE] [-M FILE] [FILE...]\n"
	"  -H       print the header line of column names first\n"
	"  -u       keep unrecognized payloads as `unknown` events\n"
	"  -q       no per-line diagnostics, counters only\n"
	"  -c FILE  the config file (default $QSPIPE_CONF), section [qsparse]\n"
	"  -M FILE  write the counters to FILE in Prometheus' text format (metrics =)\n"
	"  -V       print the version; --help this text";

/* A format whose COMMAND field names the event, instead of an enum event_kind. */
#define E_BY_COMMAND (-1)
/* A string literal and its length. */
#define LIT(s) s, sizeof s - 1

/* Why a line is rejected. The first ones are about a payload that was read but not recognized
 * (-u makes an `unknown` event of those); the last three leave no payload to show. */
enum reason {
	R_NONE, R_UNKNOWN_PREFIX, R_TOO_FEW_FIELDS, R_TOO_MANY_FIELDS, R_UNKNOWN_COMMAND,
	R_EMPTY_PAYLOAD, R_BAD_ESCAPE, R_BAD_FRAMING, R_LINE_TOO_LONG, NREASONS
};
static const struct {
	const char *name, *what;	/* `what` names them in ratelimit's "N more ... suppressed" */
} reasons[NREASONS] = {
	[R_UNKNOWN_PREFIX] = { "unknown prefix", "unknown prefix diagnostics" },
	[R_TOO_FEW_FIELDS] = { "too few fields", "too few fields diagnostics" },
	[R_TOO_MANY_FIELDS] = { "too many fields", "too many fields diagnostics" },
	[R_UNKNOWN_COMMAND] = { "unknown command", "unknown command diagnostics" },
	[R_EMPTY_PAYLOAD] = { "empty payload", "empty payload diagnostics" },
	[R_BAD_ESCAPE] = { "bad escape", "bad escape diagnostics" },
	[R_BAD_FRAMING] = { "bad framing", "bad framing diagnostics" },
	[R_LINE_TOO_LONG] = { "line too long", "line too long diagnostics" },
};

/* The attributes qsparse writes, in the order it writes them; the numeric ones last. */
enum attr {
	A_SERVICE, A_LOG_TIME, A_SERVICE_USER, A_COMMAND, A_RESULT, A_PROXY_SESSION_ID,
	A_SESSION_ID, A_ENGINE_TIME, A_PROCESS_ID, A_EXE_VERSION, A_SERVER_STARTED, A_ENTRY_TYPE,
	A_REQUEST_ID, A_METHOD, A_HANDLE, A_OBJECT_ID, A_OBJECT_TYPE,
	A_PROCESS_MS, A_WORK_MS, A_LOCK_MS, A_VALIDATE_MS, A_TRAVERSE_MS, A_NET_RAM, A_PEAK_RAM,
	NATTRS
};
#define A_FIRST_NUMERIC A_PROCESS_MS
static const struct slice attr_names[NATTRS] = {
	{ LIT("service") }, { LIT("log_time") }, { LIT("service_user") }, { LIT("command") },
	{ LIT("result") }, { LIT("proxy_session_id") }, { LIT("session_id") },
	{ LIT("engine_time") }, { LIT("process_id") }, { LIT("exe_version") },
	{ LIT("server_started") }, { LIT("entry_type") }, { LIT("request_id") }, { LIT("method") },
	{ LIT("handle") }, { LIT("object_id") }, { LIT("object_type") }, { LIT("process_ms") },
	{ LIT("work_ms") }, { LIT("lock_ms") }, { LIT("validate_ms") }, { LIT("traverse_ms") },
	{ LIT("net_ram") }, { LIT("peak_ram") },
};

/* What becomes of one input field: an event column, one of these, or an attribute. */
enum { SKIP = -1, COMMAND = -2, USER = -3, EXCEPTION = -4 };
#define ATTR(a) (32 + (a))
#define IS_ATTR(to) ((to) >= 32)

/* A payload format's fields in order. The message field, when there is one, takes every
 * surplus ';' (wherever it sits); a format without one has exactly nfields fields. */
#define MAX_FIELDS 26
struct layout {
	unsigned char nfields;
	signed char message;	/* its index, or -1 */
	signed char to[MAX_FIELDS];
};

/* PREFIX;HOST;COMMAND;USERDIR;USERID;ORIGIN;CONTEXT;MESSAGE */
static const struct layout user_layout = { 8, 7, {
	SKIP, F_HOST, COMMAND, F_USER_DIR, F_USER_ID, F_ORIGIN, F_CONTEXT, F_MESSAGE } };
/* PREFIX;HOST;TASKNAME;APPNAME;USER;TASKID;APPID;DATE;LEVEL;EXECID;MESSAGE */
static const struct layout task_layout = { 11, 10, {
	SKIP, F_HOST, F_TASK_NAME, F_APP_NAME, USER, F_TASK_ID, F_APP_ID, SKIP, F_LEVEL,
	F_EXEC_ID, F_MESSAGE } };
/* HOST;TASKNAME;APPNAME;USER;TASKID;APPID;DATE;LEVEL;EXECID;MESSAGE: Butler's 10 fields */
static const struct layout butler_task_layout = { 10, 9, {
	F_HOST, F_TASK_NAME, F_APP_NAME, USER, F_TASK_ID, F_APP_ID, SKIP, F_LEVEL, F_EXEC_ID,
	F_MESSAGE } };
/* Log events all begin PREFIX;ROWNUM;ISODATE;DATE;LEVEL;HOST;LOGGER;SERVICEUSER; */
#define LOG_HEAD SKIP, SKIP, ATTR(A_LOG_TIME), SKIP, F_LEVEL, F_HOST, F_LOGGER, ATTR(A_SERVICE_USER)
/* ...;MESSAGE;EXCEPTION;USERDIR;USERID;COMMAND;RESULT;ORIGIN;CONTEXT (proxy, repository) */
static const struct layout proxy_log_layout = { 16, 8, {
	LOG_HEAD, F_MESSAGE, EXCEPTION, F_USER_DIR, F_USER_ID, ATTR(A_COMMAND), ATTR(A_RESULT),
	F_ORIGIN, F_CONTEXT } };
/* ...;MESSAGE;EXCEPTION;USERDIR;USERID;USER;TASKNAME;APPNAME;TASKID;APPID;EXECID */
static const struct layout scheduler_log_layout = { 18, 8, {
	LOG_HEAD, F_MESSAGE, EXCEPTION, F_USER_DIR, F_USER_ID, USER, F_TASK_NAME, F_APP_NAME,
	F_TASK_ID, F_APP_ID, F_EXEC_ID } };
/* ...;MESSAGE;PROXYSESSIONID;USERDIR;USERID;ENGINETS;PROCESSID;EXEVERSION;SERVERSTARTED;
 * ENTRYTYPE;SESSIONID;APPID: the engine's appender has no EXCEPTION */
static const struct layout engine_log_layout = { 19, 8, {
	LOG_HEAD, F_MESSAGE, ATTR(A_PROXY_SESSION_ID), F_USER_DIR, F_USER_ID, ATTR(A_ENGINE_TIME),
	ATTR(A_PROCESS_ID), ATTR(A_EXE_VERSION), ATTR(A_SERVER_STARTED), ATTR(A_ENTRY_TYPE),
	ATTR(A_SESSION_ID), F_APP_ID } };
/* ...;PROXYSESSIONID;USERDIR;USERID;ENGINETS;SESSIONID;APPID;REQUESTID;METHOD;PROCESSTIME;
 * WORKTIME;LOCKTIME;VALIDATETIME;TRAVERSETIME;HANDLE;OBJECTID;NETRAM;PEAKRAM;OBJECTTYPE */
static const struct layout qix_perf_layout = { 26, -1, {
	LOG_HEAD, ATTR(A_PROXY_SESSION_ID), F_USER_DIR, F_USER_ID, ATTR(A_ENGINE_TIME),
	ATTR(A_SESSION_ID), F_APP_ID, ATTR(A_REQUEST_ID), ATTR(A_METHOD), ATTR(A_PROCESS_MS),
	ATTR(A_WORK_MS), ATTR(A_LOCK_MS), ATTR(A_VALIDATE_MS), ATTR(A_TRAVERSE_MS), ATTR(A_HANDLE),
	ATTR(A_OBJECT_ID), ATTR(A_NET_RAM), ATTR(A_PEAK_RAM), ATTR(A_OBJECT_TYPE) } };
/* HOST;COMMAND;USERDIR;USERID and HOST;TASKNAME;APPNAME;USERID: split alike. */
static const struct layout legacy_user_layout = { 4, -1, {
	F_HOST, COMMAND, F_USER_DIR, F_USER_ID } };
static const struct layout legacy_task_layout = { 4, -1, {
	F_HOST, F_TASK_NAME, F_APP_NAME, USER } };

static const struct format {
	const char *prefix;
	size_t len;
	int event;
	const struct layout *layout;
	const char *service;	/* the service attribute, for log events */
} formats[] = {
	{ LIT("/qseow-proxy-session/"), E_BY_COMMAND, &user_layout, NULL },
	{ LIT("/qseow-proxy-connection/"), E_BY_COMMAND, &user_layout, NULL },
	{ LIT("/proxy-session/"), E_BY_COMMAND, &user_layout, NULL },
	{ LIT("/proxy-connection/"), E_BY_COMMAND, &user_layout, NULL },
	{ LIT("/scheduler-reload-failed/"), EV_TASK_FAILED, &task_layout, NULL },
	{ LIT("/scheduler-task-failed/"), EV_TASK_FAILED, &task_layout, NULL },
	{ LIT("/scheduler-reloadtask-failed/"), EV_TASK_FAILED, &task_layout, NULL },
	{ LIT("/scheduler-reload-aborted/"), EV_TASK_ABORTED, &task_layout, NULL },
	{ LIT("/scheduler-task-aborted/"), EV_TASK_ABORTED, &task_layout, NULL },
	{ LIT("/scheduler-reloadtask-success/"), EV_TASK_SUCCEEDED, &task_layout, NULL },
	{ LIT("/scheduler-reloadtask-success//"), EV_TASK_SUCCEEDED, &task_layout, NULL },
	{ LIT("/scheduler-task-success/"), EV_TASK_SUCCEEDED, &task_layout, NULL },
	{ LIT("/scheduler-task-success//"), EV_TASK_SUCCEEDED, &task_layout, NULL },
	{ LIT("/scheduler-distribute/"), EV_TASK_DISTRIBUTED, &task_layout, NULL },
	{ LIT("/qseow-proxy/"), EV_LOG, &proxy_log_layout, "proxy" },
	{ LIT("/qseow-scheduler/"), EV_LOG, &scheduler_log_layout, "scheduler" },
	{ LIT("/qseow-repository/"), EV_LOG, &proxy_log_layout, "repository" },
	{ LIT("/qseow-engine/"), EV_LOG, &engine_log_layout, "engine" },
	{ LIT("/qseow-qix-perf/"), EV_QIX_PERF, &qix_perf_layout, "engine" },
};

static const struct command {
	const char *name;
	size_t len;
	int event;
} commands[] = {
	{ LIT("Start session"), EV_SESSION_START },
	{ LIT("Stop session"), EV_SESSION_STOP },
	{ LIT("Open connection"), EV_CONNECTION_OPEN },
	{ LIT("Close connection"), EV_CONNECTION_CLOSE },
};

/* The legacy formats' ports (qspipe-events(5)). */
enum { PORT_USER = 9997, PORT_TASK = 9998 };

/* Where a line came from: its framing, or for a bare line the time it was read. */
struct origin {
	struct slice time, source;	/* escaped already: copied to the output as they are */
	unsigned long port;		/* 0 when bare */
	char now[RFC3339_LEN + 1];
};

struct qsparse {
	int unknown, quiet;
	char *ua_path;			/* ua_regexes: NULL for uap-core's, "none" for none */
	struct ua_db *ua;		/* NULL: user agents are not named */
	int ua_tried;			/* the regexes are read at the first user agent */
	struct buf agent;		/* a user agent without its quotes */
	struct buf out;			/* the events of the current input batch */
	struct buf decoded;		/* a payload with escapes, decoded */
	struct buf excerpt;		/* a diagnostic's quote of the input */
	struct timecache clock;
	const struct lines *in;		/* for line numbers in diagnostics */
	const char *file;		/* NULL for stdin */
	unsigned long lines, events[TSV_NEVENTS], rejected[NREASONS];
	struct ratelimit limits[NREASONS];
	struct metrics metrics;
};

static inline struct slice trim(struct slice s)
{
	while (s.n && (s.p[0] == ' ' || s.p[0] == '\t'))
		s.p++, s.n--;
	while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
		s.n--;
	return s;
}

static const struct format *find_format(struct slice prefix)
{
	for (size_t i = 0; i < sizeof formats / sizeof *formats; i++)
		if (formats[i].len == prefix.n && !strncasecmp(formats[i].prefix, prefix.p, prefix.n))
			return &formats[i];
	return NULL;
}

/* The event a (trimmed) COMMAND field names, or -1. */
static int command_event(struct slice cmd)
{
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (commands[i].len == cmd.n && !strncasecmp(commands[i].name, cmd.p, cmd.n))
			return commands[i].event;
	return -1;
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

#define GUID_LEN 36

/* Whether g starts with a GUID's 8-4-4-4-12 hex digits (g has GUID_LEN bytes). */
static int guid_shape(const char *g)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	for (size_t i = 0; i < GUID_LEN; i++)
		if (shape[i] == '-' ? g[i] != '-' : !is_hex(g[i]))
			return 0;
	return 1;
}

static int is_guid(struct slice s)
{
	return s.n == GUID_LEN && guid_shape(s.p);
}

/* The GUID of a context /app/GUID..., or an empty slice. */
static struct slice context_app_id(struct slice ctx)
{
	const size_t skip = sizeof "/app/" - 1, len = GUID_LEN;
	if (ctx.n < skip + len || memcmp(ctx.p, "/app/", skip))
		return (struct slice){ 0 };
	const char *g = ctx.p + skip;
	if (!guid_shape(g))
		return (struct slice){ 0 };
	/* A longer run of GUID characters is something else. */
	if (ctx.n > skip + len && (is_hex(g[len]) || g[len] == '-'))
		return (struct slice){ 0 };
	return (struct slice){ g, len };
}

/* Splits p at ';' into lo->nfields fields (slices into p): 0, or why not. */
static enum reason split_fields(struct slice p, const struct layout *lo, struct slice *f)
{
	const char *s = p.p, *end = p.p + p.n;
	size_t last = lo->nfields - 1u;
	size_t head = lo->message >= 0 ? (size_t)lo->message : last;
	for (size_t i = 0; i < head; i++) {
		const char *semi = memchr(s, ';', (size_t)(end - s));
		if (!semi)
			return R_TOO_FEW_FIELDS;
		f[i] = (struct slice){ s, (size_t)(semi - s) };
		s = semi + 1;
	}
	if (lo->message < 0) {
		if (memchr(s, ';', (size_t)(end - s)))
			return R_TOO_MANY_FIELDS;
		f[last] = (struct slice){ s, (size_t)(end - s) };
		return R_NONE;
	}
	/* The fields behind the message, from the end, so that it keeps the surplus. */
	for (size_t i = last; i > head; i--) {
		const char *semi = memrchr(s, ';', (size_t)(end - s));
		if (!semi)
			return R_TOO_FEW_FIELDS;
		f[i] = (struct slice){ semi + 1, (size_t)(end - semi - 1) };
		end = semi;
	}
	f[head] = (struct slice){ s, (size_t)(end - s) };
	return R_NONE;
}

/* An event's columns and attributes, as parse_payload fills them (slices into the payload). */
struct fields {
	struct slice col[NFIELDS], exception, attr[NATTRS];
	unsigned long attrs;	/* bit 1 << enum attr: set and non-empty */
	struct slice ua;	/* the ua_* attributes, formatted and escaped already */
};

/* Appends one event line: time and source as framed, every other column escaped, then the
 * attributes set, in enum attr's order. A non-empty exception goes into the message column
 * after a line break. */
static void put_event(struct qsparse *q, const struct origin *o, int event,
		      const struct fields *fl)
{
	struct buf *out = &q->out;
	const struct slice *col = fl->col, exception = fl->exception;
	size_t room = o->time.n + o->source.n + tsv_event_names[event].n + NFIELDS + 2 +
		      4 * exception.n;
	for (int i = F_HOST; i < F_SOURCE; i++)
		room += 4 * col[i].n;
	for (unsigned long a = fl->attrs; a; a &= a - 1) {
		int k = __builtin_ctzl(a);
		room += 2 + attr_names[k].n + 4 * fl->attr[k].n;
	}
	room += fl->ua.n;
	buf_reserve(out, room);
	char *d = out->p + out->n;
	memcpy(d, o->time.p, o->time.n);
	d += o->time.n;
	*d++ = '\t';
	memcpy(d, tsv_event_names[event].p, tsv_event_names[event].n);
	d += tsv_event_names[event].n;
	for (int i = F_HOST; i < F_SOURCE; i++) {
		*d++ = '\t';
		d = tsv_escape_to(d, col[i].p, col[i].n);
		if (i == F_MESSAGE && exception.n) {
			*d++ = '\\';
			*d++ = 'n';
			d = tsv_escape_to(d, exception.p, exception.n);
		}
	}
	*d++ = '\t';
	memcpy(d, o->source.p, o->source.n);
	d += o->source.n;
	for (unsigned long a = fl->attrs; a; a &= a - 1) {
		int k = __builtin_ctzl(a);
		*d++ = '\t';
		memcpy(d, attr_names[k].p, attr_names[k].n);
		d += attr_names[k].n;
		*d++ = '=';
		d = tsv_escape_to(d, fl->attr[k].p, fl->attr[k].n);
	}
	if (fl->ua.n) {	/* p is NULL when there are none: memcpy must not see it */
		memcpy(d, fl->ua.p, fl->ua.n);
		d += fl->ua.n;
	}
	*d++ = '\n';
	out->n = (size_t)(d - out->p);
	q->events[event]++;
}

/* Sets an attribute when it has a value; a numeric one only when that is a decimal number. */
static void set_attr(struct fields *fl, int k, struct slice v)
{
	if (!v.n || (k >= A_FIRST_NUMERIC && !tsv_is_decimal(v.p, v.n)))
		return;
	fl->attr[k] = v;
	fl->attrs |= 1ul << k;
}

/* Fills user_dir and user_id from DIR\id, unless a format's own fields have set them. */
static void split_user(struct slice user, struct slice *col)
{
	if (col[F_USER_DIR].n || col[F_USER_ID].n)
		return;
	const char *bs = memchr(user.p, '\\', user.n);
	if (!bs) {
		col[F_USER_ID] = user;
		return;
	}
	col[F_USER_DIR] = (struct slice){ user.p, (size_t)(bs - user.p) };
	col[F_USER_ID] = (struct slice){ bs + 1, user.n - (size_t)(bs - user.p) - 1 };
}

/* Reads the regexes at the first user agent, so that a start costs nothing (tests and replays
 * start qsparse often). Without them, user events go out all the same, without ua_*
 * attributes: said once. 1 when they are there. */
static int open_user_agents(struct qsparse *q)
{
	if (q->ua_tried)
		return q->ua != NULL;
	q->ua_tried = 1;
	const char *path = q->ua_path && *q->ua_path ? q->ua_path : UA_REGEXES_DEFAULT;
	if (!strcmp(path, "none"))
		return 0;
	char why[512];
	if (!(q->ua = ua_open(path, why, sizeof why)))
		warnx("user agents are not named (no ua_* attributes): %s", why);
	return q->ua != NULL;
}

/* "UserAgent:" in a message: memchr for its rare first letter is cheaper than memmem. */
static const char *find_agent_mark(struct slice m)
{
	static const char mark[] = "UserAgent:";
	const char *p = m.p, *end = m.p + m.n;
	while ((size_t)(end - p) >= sizeof mark - 1 && (p = memchr(p, 'U', (size_t)(end - p)))) {
		if ((size_t)(end - p) >= sizeof mark - 1 && !memcmp(p, mark, sizeof mark - 1))
			return p + sizeof mark - 1;
		p++;
	}
	return NULL;
}

/* The browser and OS of the text after "UserAgent:" in a user event's message (trimmed,
 * single quotes removed), as attributes (their text is ua.c's until the next agent). */
static void user_agent(struct qsparse *q, struct fields *fl)
{
	struct slice m = fl->col[F_MESSAGE];
	if (q->ua_tried && !q->ua)
		return;
	const char *at = find_agent_mark(m);
	if (!at)
		return;
	struct slice ua = trim((struct slice){ at, (size_t)(m.p + m.n - at) });
	if (memchr(ua.p, '\'', ua.n)) {
		buf_reset(&q->agent);
		for (size_t i = 0; i < ua.n; i++)
			if (ua.p[i] != '\'')
				buf_addc(&q->agent, ua.p[i]);
		ua = trim((struct slice){ q->agent.p, q->agent.n });
	}
	if (!ua.n || !open_user_agents(q))
		return;
	const struct ua_result *r = ua_classify(q->ua, ua.p, ua.n);
	fl->ua = (struct slice){ r->attrs, r->attrs_len };
}

/* Recognizes a decoded payload and appends its event: 0, or why not. */
static enum reason parse_payload(struct qsparse *q, const struct origin *o, struct slice p)
{
	const char *semi = memchr(p.p, ';', p.n);
	struct slice first = trim((struct slice){ p.p, semi ? (size_t)(semi - p.p) : p.n });
	const struct layout *lo = &legacy_user_layout;
	const char *service = NULL;
	int event = E_BY_COMMAND;
	struct slice f[MAX_FIELDS];
	enum reason why;
	if (first.n && first.p[0] == '/') {
		const struct format *fmt = find_format(first);
		if (!fmt)
			return R_UNKNOWN_PREFIX;
		lo = fmt->layout;
		event = fmt->event;
		service = fmt->service;
	} else if (!semi) {
		return R_UNKNOWN_PREFIX;	/* one word: not even a legacy format */
	} else if (split_fields(p, &butler_task_layout, f) == R_NONE && is_guid(trim(f[4])) &&
		   is_guid(trim(f[5]))) {
		/* Butler's 10 fields, told by their two GUIDs, before the 4-field formats */
		lo = &butler_task_layout;
		event = EV_TASK_FAILED;
	}
	if (lo != &butler_task_layout && (why = split_fields(p, lo, f)))
		return why;
	if (lo == &legacy_user_layout && (o->port == PORT_TASK ||
	    (o->port != PORT_USER && command_event(trim(f[1])) < 0))) {
		lo = &legacy_task_layout;
		event = EV_TASK_FAILED;
	}

	struct fields fl;
	memset(fl.col, 0, sizeof fl.col);
	fl.exception = (struct slice){ 0 };
	fl.attrs = 0;
	fl.ua = (struct slice){ 0 };
	if (service)
		set_attr(&fl, A_SERVICE, (struct slice){ service, strlen(service) });
	for (size_t i = 0; i < lo->nfields; i++) {
		struct slice v = (int)i == lo->message ? f[i] : trim(f[i]);
		int to = lo->to[i];
		switch (to) {
		case SKIP: break;
		case COMMAND:
			if ((event = command_event(v)) < 0)
				return R_UNKNOWN_COMMAND;
			break;
		case USER: split_user(v, fl.col); break;
		case EXCEPTION: fl.exception = v; break;
		default:
			if (IS_ATTR(to))
				set_attr(&fl, to - ATTR(0), v);
			else
				fl.col[to] = v;
		}
	}
	if (!fl.col[F_APP_ID].n)
		fl.col[F_APP_ID] = context_app_id(fl.col[F_CONTEXT]);
	if (lo == &user_layout)
		user_agent(q, &fl);
	put_event(q, o, event, &fl);
	return R_NONE;
}

/* Counts a rejected line and, unless quiet or too many of the kind came this second, says so
 * with the first 80 bytes of `shown`. */
static void reject(struct qsparse *q, enum reason why, struct slice shown)
{
	q->rejected[why]++;
	if (q->quiet || !ratelimit_allow(&q->limits[why], 10, reasons[why].what))
		return;
	buf_reset(&q->excerpt);
	tsv_escape(&q->excerpt, shown.p, shown.n < 80 ? shown.n : 80);
	if (q->file)
		warnx("%s:%lu: %s: %s", q->file, q->in->lineno, reasons[why].name,
		      buf_str(&q->excerpt));
	else
		warnx("line %lu: %s: %s", q->in->lineno, reasons[why].name, buf_str(&q->excerpt));
}

/* The PORT field's value; 0 when it is not a port number. */
static unsigned long parse_port(struct slice s)
{
	unsigned long port = 0;
	if (s.n == 0 || s.n > 5)
		return 0;
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return 0;
		port = port * 10 + (unsigned long)(s.p[i] - '0');
	}
	return port <= 65535 ? port : 0;
}

/* Decodes the payload's escapes; the bytes as they are when it has none (the common case). */
static int decode(struct qsparse *q, struct slice esc, struct slice *raw)
{
	if (!memchr(esc.p, '\\', esc.n)) {
		*raw = esc;
		return 0;
	}
	buf_reset(&q->decoded);
	if (tsv_unescape(&q->decoded, esc.p, esc.n, NULL) < 0)
		return -1;
	*raw = (struct slice){ q->decoded.p, q->decoded.n };
	return 0;
}

/* The line's origin and decoded payload (less trailing line ends): 0, or why it cannot be
 * read. */
static enum reason read_line(struct qsparse *q, const char *line, size_t len, struct origin *o,
			     struct slice *p)
{
	struct framed fr;
	int framed = tsv_parse_framed(line, len, &fr);
	if (framed < 0)
		return R_BAD_FRAMING;
	if (framed) {
		if (!tsv_time_in_range(fr.time.p))
			return R_BAD_FRAMING;
		o->time = fr.time;
		o->source = fr.source;
		if (!(o->port = parse_port(fr.port)))
			return R_BAD_FRAMING;
		if (tsv_needs_escape(fr.source.p, fr.source.n) &&
		    tsv_check(fr.source.p, fr.source.n, NULL) < 0)
			return R_BAD_ESCAPE;
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		tsv_format_time(&q->clock, o->now, &ts);
		o->time = (struct slice){ o->now, RFC3339_LEN };
		o->source = (struct slice){ "", 0 };
		o->port = 0;
	}
	if (decode(q, fr.payload, p) < 0)
		return R_BAD_ESCAPE;
	while (p->n && (p->p[p->n - 1] == '\r' || p->p[p->n - 1] == '\n'))
		p->n--;
	return R_NONE;
}

static void parse_line(struct qsparse *q, const char *line, size_t len, int overlong)
{
	struct origin o;
	struct slice p;
	q->lines++;
	enum reason why = overlong ? R_LINE_TOO_LONG : read_line(q, line, len, &o, &p);
	if (why) {
		reject(q, why, (struct slice){ line, len });
		return;
	}
	why = p.n ? parse_payload(q, &o, p) : R_EMPTY_PAYLOAD;
	if (!why)
		return;
	if (q->unknown) {
		struct fields fl = { .col = { [F_MESSAGE] = p } };
		put_event(q, &o, EV_UNKNOWN, &fl);
		return;
	}
	reject(q, why, p);
}

/* Output goes once per input batch: before lines reads (and maybe waits for) more. */
/* A reason's name as a label value: "unknown_prefix". */
static void reason_label(struct buf *l, const char *name)
{
	char v[32];
	size_t n = 0;
	for (; *name && n < sizeof v; name++)
		v[n++] = *name == ' ' ? '_' : *name;
	metrics_label(l, "reason", v, n);
}

static void write_metrics(struct qsparse *q, double now)
{
	struct metrics *m = &q->metrics;
	struct buf l = { 0 };
	metrics_begin(m);
	metrics_sample(m, "lines", 1, "Lines read (framed or bare payloads).", NULL, (double)q->lines);
	for (int e = 0; e < TSV_NEVENTS; e++) {
		buf_reset(&l);
		metrics_label(&l, "event", tsv_event_names[e].p, tsv_event_names[e].n);
		metrics_sample(m, "events", 1, "Events written, by event name.", buf_str(&l),
			       (double)q->events[e]);
	}
	for (int r = R_NONE + 1; r < NREASONS; r++) {
		buf_reset(&l);
		reason_label(&l, reasons[r].name);
		metrics_sample(m, "rejected", 1, "Lines rejected, by reason.", buf_str(&l),
			       (double)q->rejected[r]);
	}
	buf_free(&l);
	metrics_write(m, now);
}

/* Before every read that may block: the batch's output, and the metrics when due. */
static void flush_out(void *ctx)
{
	struct qsparse *q = ctx;
	if (buf_write_fd(&q->out, 1) < 0)
		diesys(1, "write stdout");
	if (q->metrics.path) {
		double now = now_mono();
		if (metrics_due(&q->metrics, now))
			write_metrics(q, now);
	}
}

/* Appends "NAME N" for a non-zero count, the first of a list after " (", the others after ", ". */
static void add_count(struct buf *s, int *listed, const char *name, unsigned long n)
{
	if (!n)
		return;
	buf_printf(s, "%s%s %lu", *listed ? ", " : " (", name, n);
	*listed = 1;
}

/* The counters, in one line: "N lines, N events (name N, ...), N rejected (reason N, ...)". */
static void summary(struct qsparse *q)
{
	struct buf s = { 0 };
	unsigned long events = 0, rejected = 0;
	int listed = 0;
	for (int e = 0; e < TSV_NEVENTS; e++)
		events += q->events[e];
	for (int r = R_NONE + 1; r < NREASONS; r++) {
		ratelimit_flush(&q->limits[r], reasons[r].what);
		rejected += q->rejected[r];
	}
	buf_printf(&s, "%lu lines, %lu events", q->lines, events);
	for (int e = 0; e < TSV_NEVENTS; e++)
		add_count(&s, &listed, tsv_event_names[e].p, q->events[e]);
	buf_adds(&s, listed ? ")" : "");
	buf_printf(&s, ", %lu rejected", rejected);
	listed = 0;
	for (int r = R_NONE + 1; r < NREASONS; r++)
		add_count(&s, &listed, reasons[r].name, q->rejected[r]);
	buf_adds(&s, listed ? ")" : "");
	warnx("%s", buf_str(&s));
	buf_free(&s);
}

/* Parses one input; 0 at its end or on SIGTERM, 1 when reading failed. */
static int parse_fd(struct qsparse *q, int fd, const char *name)
{
	struct lines lr;
	char *line;
	size_t len;
	int status = 0;
	lines_init(&lr, fd, flush_out, q);
	q->in = &lr;
	q->file = name;
	while (!sig_term) {
		if (sig_usr1) {
			sig_usr1 = 0;
			summary(q);
		}
		int r = lines_next(&lr, &line, &len);
		if (r == LINES_OK) {
			parse_line(q, line, len, lr.overlong);
			continue;
		}
		if (r == LINES_EOF)
			break;
		if (r == LINES_ERR && errno == EINTR)
			continue;
		warnsys("read %s", name ? name : "stdin");
		status = 1;
		break;
	}
	/* SIGTERM: finish the complete lines already read. */
	while (sig_term && lines_buffered(&lr) && lines_next(&lr, &line, &len) == LINES_OK)
		parse_line(q, line, len, lr.overlong);
	flush_out(q);
	lines_free(&lr);
	q->in = NULL;
	return status;
}

static const char *on_conf_key(void *tool, const char *key, const char *value)
{
	struct qsparse *q = tool;
	const char *why = metrics_conf_key(&q->metrics, key, value);
	if (why != conf_unknown_key)
		return why;
	if (!strcmp(key, "ua_regexes")) {
		free(q->ua_path);
		q->ua_path = xstrdup(value);
		return NULL;
	}
	int *flag = !strcmp(key, "unknown") ? &q->unknown : !strcmp(key, "quiet") ? &q->quiet : NULL;
	if (!flag)
		return conf_unknown_key;
	return conf_bool(value, flag) ? "not yes or no" : NULL;
}

int main(int argc, char **argv)
{
	struct qsparse q = { 0 };
	const char *conf = NULL, *metrics_file = NULL;
	int header = 0, unknown = 0, quiet = 0, opt, status = 0;

	diag_init("qsparse");
	diag_std_flags(argc, argv, usage);
	while ((opt = getopt(argc, argv, "Huqc:M:")) != -1) {
		switch (opt) {
		case 'H': header = 1; break;
		case 'u': unknown = 1; break;
		case 'q': quiet = 1; break;
		case 'c': conf = optarg; break;
		case 'M': metrics_file = optarg; break;
		default: diag_usage(usage);
		}
	}
	metrics_init(&q.metrics, "qsparse");
	if (conf_load(conf_path(conf), "qsparse", on_conf_key, &q) < 0)
		exit(2);
	if (metrics_file)
		metrics_set_path(&q.metrics, metrics_file);
	q.unknown |= unknown;
	q.quiet |= quiet;
	sig_setup();
	if (q.metrics.path)
		sig_every(q.metrics.interval);

	if (header) {
		tsv_header(&q.out);
		buf_addc(&q.out, '\n');
	}
	if (optind == argc)
		status |= parse_fd(&q, 0, NULL);
	for (int i = optind; i < argc && !sig_term; i++) {
		if (!strcmp(argv[i], "-")) {
			status |= parse_fd(&q, 0, NULL);
			continue;
		}
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			warnsys("open %s", argv[i]);
			status = 1;
			continue;
		}
		status |= parse_fd(&q, fd, argv[i]);
		if (close(fd) < 0)
			diesys(1, "close %s", argv[i]);
	}
	flush_out(&q);
	summary(&q);
	if (q.metrics.path)
		write_metrics(&q, now_mono());
	metrics_free(&q.metrics);
	buf_free(&q.out);
	buf_free(&q.decoded);
	buf_free(&q.excerpt);
	buf_free(&q.agent);
	ua_close(q.ua);
	free(q.ua_path);
	return status;
}
