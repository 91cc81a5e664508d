/* influx: line protocol from events; see influx.h. The schema is Butler SOS's (its
 * src/lib/influxdb/v1/user-events.js and log-events.js) and Butler's for task results
 * (reload_task_failed, reload_task_success); what neither has goes to task_events and
 * unknown_event. Attributes become fields: those Butler has a name for under that name, the
 * others under their own. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "influx.h"
#include "json.h"

/* ---- escaping ---- */

/* Bytes a name escapes with a backslash: measurement ',' ' '; tag keys and values, field keys
 * also '='. */
static int special(unsigned char c, int kind)
{
	return c == ',' || c == ' ' || (c == '=' && kind != 'm');
}

void influx_name(struct buf *out, const char *s, size_t n, int kind)
{
	if (!n)		/* s may be an empty buf's NULL */
		return;
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	buf_reserve(out, n + 8);
	while (p < end) {
		unsigned char c = *p;
		if (c < 0x20 || c == 0x7f) {
			buf_add(out, "\\ ", 2);
			p++;
		} else if (special(c, kind)) {
			buf_addc(out, '\\');
			buf_addc(out, (char)c);
			p++;
		} else if (c == '\\') {
			/* InfluxDB reads a backslash before a special byte as its escape, and one at
			 * the end as escaping what follows the name: neither can be literal */
			int next_special = p + 1 == end || special(p[1], kind) || p[1] < 0x20 || p[1] == 0x7f;
			buf_addc(out, next_special ? '/' : '\\');
			p++;
		} else if (c < 0x80) {
			buf_addc(out, (char)c);
			p++;
		} else {
			size_t len = utf8_len(p, (size_t)(end - p));
			if (len)
				buf_add(out, p, len);
			else
				buf_add(out, "\xef\xbf\xbd", 3);
			p += len ? len : 1;
		}
	}
}

void influx_string(struct buf *out, const char *s, size_t n)
{
	if (!n)
		return;
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	buf_reserve(out, n + 8);
	while (p < end) {
		const unsigned char *run = p;
		while (p < end && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		buf_add(out, run, (size_t)(p - run));
		if (p == end)
			break;
		if (*p == '"' || *p == '\\') {
			buf_addc(out, '\\');
			buf_addc(out, (char)*p++);
			continue;
		}
		size_t len = utf8_len(p, (size_t)(end - p));
		if (len)
			buf_add(out, p, len);
		else
			buf_add(out, "\xef\xbf\xbd", 3);
		p += len ? len : 1;
	}
}

/* ---- configuration ---- */

static const char *const default_measurement[TSV_NEVENTS] = {
	[EV_SESSION_START] = "user_events", [EV_SESSION_STOP] = "user_events",
	[EV_CONNECTION_OPEN] = "user_events", [EV_CONNECTION_CLOSE] = "user_events",
	[EV_TASK_FAILED] = "reload_task_failed", [EV_TASK_SUCCEEDED] = "reload_task_success",
	[EV_TASK_ABORTED] = "task_events", [EV_TASK_DISTRIBUTED] = "task_events",
	[EV_LOG] = "log_event", [EV_QIX_PERF] = "log_event", [EV_UNKNOWN] = "unknown_event",
};

const char *influx_default_measurement(int kind) { return default_measurement[kind]; }

void influx_init(struct influx *ix)
{
	memset(ix, 0, sizeof *ix);
}

void influx_free(struct influx *ix)
{
	for (size_t i = 0; i < ix->ntag_keys; i++)
		free(ix->tag_keys[i]);
	free(ix->tag_keys);
	for (int i = 0; i < TSV_NEVENTS; i++)
		free(ix->measurement[i]);
	buf_free(&ix->tags);
	buf_free(&ix->s1);
	buf_free(&ix->s2);
}

/* Why a configured name cannot be used: InfluxDB keeps names starting with '_' for itself
 * (2.x, 3.x) and rejects "time" as a tag or field key; a line starting with '#' is a comment. */
static const char *check_name(const char *s, size_t n, int kind)
{
	if (!n)
		return "empty name";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return "a name may not hold control characters";
	if (s[0] == '_')
		return "names starting with _ are InfluxDB's own";
	if (kind == 'm' && s[0] == '#')
		return "a measurement may not start with #";
	if (kind == 'k' && n == 4 && !memcmp(s, "time", 4))
		return "time is not a key InfluxDB takes";
	return NULL;
}

/* Rebuilds the escaped static tags from the keys and their values (kept after each key's
 * NUL). */
static void build_tags(struct influx *ix)
{
	buf_reset(&ix->tags);
	for (size_t i = 0; i < ix->ntag_keys; i++) {
		const char *k = ix->tag_keys[i], *v = k + strlen(k) + 1;
		buf_addc(&ix->tags, ',');
		influx_name(&ix->tags, k, strlen(k), 'k');
		buf_addc(&ix->tags, '=');
		influx_name(&ix->tags, v, strlen(v), 'k');
	}
}

const char *influx_static_tag(struct influx *ix, const char *spec)
{
	const char *eq = strchr(spec, '=');
	if (!eq)
		return "not KEY=VALUE";
	size_t kn = (size_t)(eq - spec), vn = strlen(eq + 1);
	const char *why = check_name(spec, kn, 'k');
	if (why)
		return why;
	if (!vn)
		return "an empty value (InfluxDB takes no empty tags)";
	for (size_t i = 0; i < vn; i++)
		if ((unsigned char)eq[1 + i] < 0x20 || eq[1 + i] == 0x7f)
			return "a tag value may not hold control characters";
	char *kv = malloc(kn + vn + 2);
	if (!kv)
		die(1, "out of memory");
	memcpy(kv, spec, kn);
	kv[kn] = 0;
	memcpy(kv + kn + 1, eq + 1, vn + 1);
	size_t i;
	for (i = 0; i < ix->ntag_keys; i++)
		if (!strcmp(ix->tag_keys[i], kv))
			break;
	if (i == ix->ntag_keys) {
		char **keys = realloc(ix->tag_keys, (i + 1) * sizeof *keys);
		if (!keys)
			die(1, "out of memory");
		ix->tag_keys = keys;
		ix->ntag_keys++;
	} else {
		free(ix->tag_keys[i]);
	}
	ix->tag_keys[i] = kv;
	build_tags(ix);
	return NULL;
}

const char *influx_measurement(struct influx *ix, int kind, const char *name)
{
	const char *why = check_name(name, strlen(name), 'm');
	if (why)
		return why;
	struct buf b = { 0 };
	influx_name(&b, name, strlen(name), 'm');
	free(ix->measurement[kind]);
	ix->measurement[kind] = xstrdup(buf_str(&b));
	buf_free(&b);
	return NULL;
}

/* ---- the attributes the schema knows ---- */

enum attr {
	A_SERVICE, A_SERVICE_USER, A_COMMAND, A_RESULT, A_PROXY_SESSION_ID, A_SESSION_ID,
	A_EXE_VERSION, A_METHOD, A_HANDLE, A_OBJECT_ID, A_OBJECT_TYPE, A_PROCESS_MS, A_WORK_MS,
	A_LOCK_MS, A_VALIDATE_MS, A_TRAVERSE_MS, A_NET_RAM, A_PEAK_RAM, A_UA_BROWSER,
	A_UA_BROWSER_MAJOR, A_UA_OS, A_UA_OS_VERSION, A_EXEC_STATUS, A_EXEC_NODE,
	A_EXEC_DURATION_MS, NATTR
};
static const char *const attr_names[NATTR] = {
	"service", "service_user", "command", "result", "proxy_session_id", "session_id",
	"exe_version", "method", "handle", "object_id", "object_type", "process_ms", "work_ms",
	"lock_ms", "validate_ms", "traverse_ms", "net_ram", "peak_ram", "ua_browser",
	"ua_browser_major", "ua_os", "ua_os_version", "exec_status", "exec_node",
	"exec_duration_ms",
};

static int attr_index(struct slice name)
{
	for (int i = 0; i < NATTR; i++)
		if (!strncmp(attr_names[i], name.p, name.n) && !attr_names[i][name.n])
			return i;
	return -1;
}

/* A point's fields at most: the schema's and one per attribute (at most 64). */
#define MAX_FIELDS 96

/* One point being built. */
struct point {
	struct influx *ix;
	struct buf *out;
	const struct event *ev;
	struct slice attr[NATTR];	/* p NULL: absent */
	uint32_t used;			/* attributes written under a name of the schema */
	int nfields;
	size_t fkey_off[MAX_FIELDS], fkey_len[MAX_FIELDS];	/* the keys written, in out */
};

/* The decoded bytes of an escaped value: as it is when it holds no escape, else in b. */
static struct slice decode(struct buf *b, struct slice v)
{
	if (!v.n || !memchr(v.p, '\\', v.n))
		return v;
	buf_reset(b);
	if (tsv_unescape(b, v.p, v.n, NULL) < 0)
		return v;	/* not reached for checked events; written as it is */
	return (struct slice){ b->p, b->n };
}

static int static_key(const struct influx *ix, const char *key)
{
	for (size_t i = 0; i < ix->ntag_keys; i++)
		if (!strcmp(ix->tag_keys[i], key))
			return 1;
	return 0;
}

/* A tag from decoded bytes; left out when empty or when a static tag has its key. */
static void tag_raw(struct point *pt, const char *key, struct slice v)
{
	if (!v.n || static_key(pt->ix, key))
		return;
	buf_addc(pt->out, ',');
	buf_adds(pt->out, key);
	buf_addc(pt->out, '=');
	influx_name(pt->out, v.p, v.n, 'k');
}

static void tag(struct point *pt, const char *key, struct slice escaped)
{
	tag_raw(pt, key, decode(&pt->ix->s1, escaped));
}

static void tag_col(struct point *pt, const char *key, enum field f)
{
	tag(pt, key, pt->ev->f[f]);
}

static void tag_attr(struct point *pt, const char *key, enum attr a)
{
	if (pt->attr[a].p) {
		pt->used |= 1u << a;
		tag(pt, key, pt->attr[a]);
	}
}

static void tag_text(struct point *pt, const char *key, const char *text)
{
	tag_raw(pt, key, (struct slice){ text, strlen(text) });
}

/* Every name the schema writes as a tag somewhere. InfluxDB 3 keeps a table's tags and fields
 * in one set of columns: there a field of such a name (or a static tag's) is written as
 * NAME_field, as Butler SOS does, in every point alike. */
static const char *const schema_tags[] = {
	"host", "event_action", "userFull", "userDirectory", "userId", "origin", "appId",
	"appName", "uaBrowserName", "uaBrowserMajorVersion", "uaOsName", "uaOsVersion", "level",
	"source", "subsystem", "user_full", "user_directory", "user_id", "app_id", "app_name",
	"task_id", "task_name", "result_code", "windows_user", "engine_exe_version", "method",
	"object_type", "object_id", "proxy_session_id", "session_id", "event_activity_source",
	"user", "log_level", "event", "task_executingNodeName", "task_exeuctionStatusText",
};

/* Every name the schema writes as a float; an attribute of such a name is one too, so that a
 * field never changes its type, whatever measurement an event kind is given. */
static const char *const schema_floats[] = {
	"process_time", "work_time", "lock_time", "validate_time", "traverse_time", "handle",
	"net_ram", "peak_ram", "task_executionDuration_sec", "task_executionDuration_min",
	"task_executionDuration_h",
};

static int in_list(const char *const *list, size_t len, const char *key, size_t n)
{
	for (size_t i = 0; i < len; i++)
		if (!strncmp(list[i], key, n) && !list[i][n])
			return 1;
	return 0;
}

static int v3_renamed(const struct point *pt, const char *key, size_t n)
{
	if (in_list(schema_tags, sizeof schema_tags / sizeof *schema_tags, key, n))
		return 1;
	for (size_t i = 0; i < pt->ix->ntag_keys; i++)
		if (!strncmp(pt->ix->tag_keys[i], key, n) && !pt->ix->tag_keys[i][n])
			return 1;
	return 0;
}

static int float_name(const char *key, size_t n)
{
	return tsv_attr_numeric(key, n) ||
	       in_list(schema_floats, sizeof schema_floats / sizeof *schema_floats, key, n);
}

/* Starts a field: its key (renamed for InfluxDB 3) and '='. 0 when the point has a field of
 * that key already (the schema's come first and win): nothing is written then. */
static int field_key(struct point *pt, const char *key, size_t n)
{
	size_t mark = pt->out->n;
	buf_addc(pt->out, pt->nfields ? ',' : ' ');
	size_t at = pt->out->n;
	buf_add(pt->out, key, n);
	if (pt->ix->v3 && v3_renamed(pt, key, n))
		buf_adds(pt->out, "_field");
	size_t len = pt->out->n - at;
	for (int i = 0; i < pt->nfields && i < MAX_FIELDS; i++)
		if (pt->fkey_len[i] == len && !memcmp(pt->out->p + pt->fkey_off[i], pt->out->p + at, len)) {
			pt->out->n = mark;
			return 0;
		}
	if (pt->nfields < MAX_FIELDS) {
		pt->fkey_off[pt->nfields] = at;
		pt->fkey_len[pt->nfields] = len;
	}
	pt->nfields++;
	buf_addc(pt->out, '=');
	return 1;
}

/* A string field from decoded bytes, written even when empty. */
static void field_str_raw(struct point *pt, const char *key, size_t kn, struct slice v)
{
	if (!field_key(pt, key, kn))
		return;
	buf_addc(pt->out, '"');
	influx_string(pt->out, v.p, v.n);
	buf_addc(pt->out, '"');
}

/* A string field; always: when empty too. */
static void field_always(struct point *pt, const char *key, struct slice escaped)
{
	field_str_raw(pt, key, strlen(key), decode(&pt->ix->s1, escaped));
}

/* A string field, left out when empty. */
static void field_str(struct point *pt, const char *key, struct slice escaped)
{
	if (escaped.n)
		field_always(pt, key, escaped);
}

/* A float field from a decimal number ([+-]?D+(.D+)?); left out when it is none or is out of
 * the range of a double (InfluxDB would reject the whole line). */
static void field_float_num(struct point *pt, const char *key, double scale, struct slice v)
{
	if (!v.n || !tsv_is_decimal(v.p, v.n) || v.n > 64)
		return;
	char num[80];
	memcpy(num, v.p, v.n);
	num[v.n] = 0;
	errno = 0;
	double d = strtod(num, NULL);
	if (errno || !isfinite(d))
		return;
	if (!field_key(pt, key, strlen(key)))
		return;
	if (scale == 1 && v.n < 32) {	/* as sent: "12.50" stays what Sense wrote */
		const char *s = num[0] == '+' ? num + 1 : num;
		buf_adds(pt->out, s);
	} else {
		buf_printf(pt->out, "%.17g", d * scale);
	}
}

static void field_float(struct point *pt, const char *key, enum attr a)
{
	if (pt->attr[a].p) {
		pt->used |= 1u << a;
		field_float_num(pt, key, 1, decode(&pt->ix->s1, pt->attr[a]));
	}
}

static void field_attr(struct point *pt, const char *key, enum attr a)
{
	if (pt->attr[a].p) {
		pt->used |= 1u << a;
		field_str(pt, key, pt->attr[a]);
	}
}

/* DIR\id, or id alone, decoded into s2. */
static struct slice user_full(struct point *pt)
{
	struct buf *b = &pt->ix->s2;
	buf_reset(b);
	struct slice dir = pt->ev->f[F_USER_DIR], id = pt->ev->f[F_USER_ID];
	if (dir.n && tsv_unescape(b, dir.p, dir.n, NULL) == 0 && id.n)
		buf_addc(b, '\\');
	if (id.n)
		tsv_unescape(b, id.p, id.n, NULL);
	return (struct slice){ b->p, b->n };
}

/* Every attribute not written under a schema name, under its own: numeric ones as floats. */
static void other_attrs(struct point *pt)
{
	struct slice rest = pt->ev->attrs, name, value;
	while (tsv_attr_next(&rest, &name, &value)) {
		int a = attr_index(name);
		if (a >= 0 && pt->used >> a & 1)
			continue;
		if (float_name(name.p, name.n)) {
			char key[TSV_ATTR_NAME_MAX + 1];
			if (name.n > TSV_ATTR_NAME_MAX)
				continue;
			memcpy(key, name.p, name.n);
			key[name.n] = 0;
			field_float_num(pt, key, 1, decode(&pt->ix->s1, value));
		} else if (value.n) {
			/* a checked attribute's name needs no escaping */
			field_str_raw(pt, name.p, name.n, decode(&pt->ix->s1, value));
		}
	}
}

/* ---- the measurements ---- */

static const char *const commands[] = {
	[EV_SESSION_START] = "Start session", [EV_SESSION_STOP] = "Stop session",
	[EV_CONNECTION_OPEN] = "Open connection", [EV_CONNECTION_CLOSE] = "Close connection",
};

static void user_event(struct point *pt, int kind)
{
	const struct event *ev = pt->ev;
	tag_col(pt, "host", F_HOST);
	tag_text(pt, "event_action", commands[kind]);
	struct slice full = user_full(pt);
	tag_raw(pt, "userFull", full);
	tag_col(pt, "userDirectory", F_USER_DIR);
	tag_col(pt, "userId", F_USER_ID);
	tag_col(pt, "origin", F_ORIGIN);
	tag_col(pt, "appId", F_APP_ID);
	tag_col(pt, "appName", F_APP_NAME);
	tag_attr(pt, "uaBrowserName", A_UA_BROWSER);
	tag_attr(pt, "uaBrowserMajorVersion", A_UA_BROWSER_MAJOR);
	tag_attr(pt, "uaOsName", A_UA_OS);
	tag_attr(pt, "uaOsVersion", A_UA_OS_VERSION);
	buf_add(pt->out, pt->ix->tags.p, pt->ix->tags.n);
	field_str_raw(pt, "userFull", 8, user_full(pt));
	field_always(pt, "userId", ev->f[F_USER_ID]);
	field_str(pt, "appId", ev->f[F_APP_ID]);
	field_str(pt, "appName", ev->f[F_APP_NAME]);
}

/* The tags every log event has. */
static void log_tags(struct point *pt, const char *source)
{
	tag_col(pt, "host", F_HOST);
	tag_col(pt, "level", F_LEVEL);
	tag_text(pt, "source", source);
	tag_col(pt, "subsystem", F_LOGGER);
	tag_raw(pt, "user_full", user_full(pt));
	tag_col(pt, "user_directory", F_USER_DIR);
	tag_col(pt, "user_id", F_USER_ID);
	tag_col(pt, "app_id", F_APP_ID);
	tag_col(pt, "app_name", F_APP_NAME);
}

static void log_event(struct point *pt)
{
	const struct event *ev = pt->ev;
	char source[48] = "";
	struct slice svc = pt->attr[A_SERVICE];
	if (svc.n && svc.n < 32 && !memchr(svc.p, '\\', svc.n))
		snprintf(source, sizeof source, "qseow-%.*s", (int)svc.n, svc.p);
	pt->used |= 1u << A_SERVICE;
	log_tags(pt, source);
	tag_col(pt, "task_id", F_TASK_ID);
	tag_col(pt, "task_name", F_TASK_NAME);
	tag_attr(pt, "result_code", A_RESULT);
	tag_attr(pt, "windows_user", A_SERVICE_USER);
	tag_attr(pt, "engine_exe_version", A_EXE_VERSION);
	buf_add(pt->out, pt->ix->tags.p, pt->ix->tags.n);
	field_always(pt, "message", ev->f[F_MESSAGE]);
	field_attr(pt, "command", A_COMMAND);
	if (pt->attr[A_RESULT].p)
		field_str(pt, "result_code", pt->attr[A_RESULT]);
	field_str(pt, "origin", ev->f[F_ORIGIN]);
	field_str(pt, "context", ev->f[F_CONTEXT]);
	field_attr(pt, "session_id", A_SESSION_ID);
	field_str(pt, "execution_id", ev->f[F_EXEC_ID]);
}

static void qix_perf(struct point *pt)
{
	const struct event *ev = pt->ev;
	log_tags(pt, "qseow-qix-perf");
	pt->used |= 1u << A_SERVICE;
	tag_attr(pt, "method", A_METHOD);
	tag_attr(pt, "object_type", A_OBJECT_TYPE);
	tag_attr(pt, "object_id", A_OBJECT_ID);
	tag_attr(pt, "proxy_session_id", A_PROXY_SESSION_ID);
	tag_attr(pt, "session_id", A_SESSION_ID);
	struct slice ps = pt->attr[A_PROXY_SESSION_ID];
	/* Butler SOS: proxy session 0 is the engine's own work (a reload), any other a user's */
	if (ps.p)
		tag_text(pt, "event_activity_source", ps.n == 1 && ps.p[0] == '0' ? "non-user" : "user");
	buf_add(pt->out, pt->ix->tags.p, pt->ix->tags.n);
	field_always(pt, "app_id", ev->f[F_APP_ID]);
	field_float(pt, "process_time", A_PROCESS_MS);
	field_float(pt, "work_time", A_WORK_MS);
	field_float(pt, "lock_time", A_LOCK_MS);
	field_float(pt, "validate_time", A_VALIDATE_MS);
	field_float(pt, "traverse_time", A_TRAVERSE_MS);
	field_float(pt, "handle", A_HANDLE);
	field_float(pt, "net_ram", A_NET_RAM);
	field_float(pt, "peak_ram", A_PEAK_RAM);
}

static void task_event(struct point *pt, int kind)
{
	const struct event *ev = pt->ev;
	tag_col(pt, "host", F_HOST);
	tag_raw(pt, "user", user_full(pt));
	tag_col(pt, "task_id", F_TASK_ID);
	tag_col(pt, "task_name", F_TASK_NAME);
	tag_col(pt, "app_id", F_APP_ID);
	tag_col(pt, "app_name", F_APP_NAME);
	tag_col(pt, "log_level", F_LEVEL);
	if (kind == EV_TASK_ABORTED || kind == EV_TASK_DISTRIBUTED)
		tag_text(pt, "event", tsv_event_names[kind].p);
	tag_attr(pt, "task_executingNodeName", A_EXEC_NODE);
	/* Butler's spelling, which its dashboards query */
	tag_attr(pt, "task_exeuctionStatusText", A_EXEC_STATUS);
	buf_add(pt->out, pt->ix->tags.p, pt->ix->tags.n);
	field_always(pt, "execution_id", ev->f[F_EXEC_ID]);
	field_always(pt, "log_message", ev->f[F_MESSAGE]);
	if (pt->attr[A_EXEC_DURATION_MS].p) {
		struct slice d = decode(&pt->ix->s1, pt->attr[A_EXEC_DURATION_MS]);
		pt->used |= 1u << A_EXEC_DURATION_MS;
		field_float_num(pt, "task_executionDuration_sec", 1e-3, d);
		field_float_num(pt, "task_executionDuration_min", 1e-3 / 60, d);
		field_float_num(pt, "task_executionDuration_h", 1e-3 / 3600, d);
	}
}

static void unknown_event(struct point *pt)
{
	tag_col(pt, "host", F_HOST);
	buf_add(pt->out, pt->ix->tags.p, pt->ix->tags.n);
	field_always(pt, "message", pt->ev->f[F_MESSAGE]);
	field_str(pt, "source", pt->ev->f[F_SOURCE]);
}

/* 0 to 999 from the event's bytes (FNV-1a): the same event always gets the same number. */
static unsigned sub_microsecond(const struct event *ev)
{
	uint64_t h = 1469598103934665603u;
	for (int i = 0; i <= NFIELDS; i++) {
		struct slice f = i < NFIELDS ? ev->f[i] : ev->attrs;
		for (size_t j = 0; j < f.n; j++)
			h = (h ^ (unsigned char)f.p[j]) * 1099511628211u;
		h = (h ^ '\t') * 1099511628211u;
	}
	return (unsigned)(h % 1000);
}

/* The time column in nanoseconds since 1970; -1 when it is none, or past what an int64 of
 * nanoseconds holds (2262). InfluxDB keeps one point per series and time: two events of one
 * microsecond with the same tags (a burst of QIX records) would overwrite each other. Times
 * come to the microsecond, so the nanoseconds below it are the event's own number: distinct
 * events rarely share one, and an event written twice (at least once) still overwrites
 * itself. */
static int point_time(const struct event *ev, long long *ns)
{
	struct timespec ts;
	struct slice t = ev->f[F_TIME];
	if (tsv_parse_time(t.p, t.n, &ts) < 0 || ts.tv_sec < 0 || ts.tv_sec > 9223372035LL)
		return -1;
	*ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	if (ts.tv_nsec % 1000 == 0)
		*ns += sub_microsecond(ev);
	return 0;
}

const char *influx_point(struct influx *ix, const struct event *ev, int kind, struct buf *out)
{
	long long ns;
	if (kind < 0 || kind >= TSV_NEVENTS)
		return "unknown event";
	if (point_time(ev, &ns) < 0)
		return "the time is not an RFC 3339 UTC time InfluxDB can store (1970 to 2262)";
	struct point pt = { .ix = ix, .out = out, .ev = ev };
	struct slice rest = ev->attrs, name, value;
	while (tsv_attr_next(&rest, &name, &value)) {
		int a = attr_index(name);
		if (a >= 0)
			pt.attr[a] = value;
	}
	size_t start = out->n;
	const char *m = ix->measurement[kind] ? ix->measurement[kind] : default_measurement[kind];
	buf_adds(out, m);
	switch (kind) {
	case EV_SESSION_START: case EV_SESSION_STOP:
	case EV_CONNECTION_OPEN: case EV_CONNECTION_CLOSE:
		user_event(&pt, kind);
		break;
	case EV_LOG:
		log_event(&pt);
		break;
	case EV_QIX_PERF:
		qix_perf(&pt);
		break;
	case EV_UNKNOWN:
		unknown_event(&pt);
		break;
	default:
		task_event(&pt, kind);
	}
	other_attrs(&pt);
	if (!pt.nfields) {	/* not reached: every measurement has a field it always writes */
		out->n = start;
		return "no field";
	}
	buf_printf(out, " %lld\n", ns);
	return NULL;
}
