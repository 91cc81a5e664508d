#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "teams.h"

/* UTF-8 of the characters the escaping inserts. */
#define ZWSP "\xe2\x80\x8b"		/* U+200B ZERO WIDTH SPACE: breaks a marker from its text */
#define ASTERISK "\xe2\x88\x97"		/* U+2217 ASTERISK OPERATOR: a `*` that formats nothing */
#define GRAVE "\xcb\x8b"		/* U+02CB MODIFIER LETTER GRAVE ACCENT: for a backtick */
#define REPLACEMENT "\xef\xbf\xbd"	/* U+FFFD */
#define ELLIPSIS "\xe2\x80\xa6"

/* Output bytes (JSON-escaped, quotes included) a text may take. A single event's card: */
#define TITLE_MAX 300
#define FACT_MAX 400
#define MESSAGE_MAX 8000
#define TAIL_MAX 8000
/* In a digest, each event's share; the total is bounded by TEAMS_BODY_MAX all the same. */
#define DIGEST_TITLE_MAX 200
#define DIGEST_FACT_MAX 160
#define DIGEST_TEXT_MAX 6000
#define DIGEST_TEXT_MIN 240
/* Room kept for what closes a body and the "[+N more events]" block. */
#define CLOSING_RESERVE 400

void teams_work_free(struct teams_work *w)
{
	buf_free(&w->value);
	buf_free(&w->md);
	buf_free(&w->part);
	buf_free(&w->line);
}

static int is_ascii_punct(int c)
{
	return (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) ||
	       (c >= 0x7b && c <= 0x7e);
}

/* "www." starts an autolink in Teams: the '.' at s[i] after a "www" run. */
static int after_www(const char *s, size_t i)
{
	return i >= 3 && (s[i - 3] | 0x20) == 'w' && (s[i - 2] | 0x20) == 'w' && (s[i - 1] | 0x20) == 'w';
}

void teams_escape(struct buf *out, const char *s, size_t n, int flat)
{
	int line_start = 1;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x80) {
			size_t len = utf8_len((const unsigned char *)s + i, n - i);
			buf_add(out, len ? s + i : REPLACEMENT, len ? len : 3);
			i += len ? len : 1;
			line_start = 0;
			continue;
		}
		i++;
		if (c == '\r' || c == '\n') {
			/* CRLF is one break. A TextBlock needs a blank line for a break. */
			if (c == '\r' && i < n && s[i] == '\n')
				i++;
			buf_adds(out, flat ? " " : "\n\n");
			line_start = !flat;
			continue;
		}
		if (c == ' ' || c == '\t') {
			buf_addc(out, ' ');
			continue;	/* a list or heading may be indented: still a line start */
		}
		if (c < 0x20 || c == 0x7f) {
			buf_adds(out, REPLACEMENT);
			line_start = 0;
			continue;
		}
		/* At a line's start, punctuation or a digit may begin a list, heading or quote. */
		if (line_start && (is_ascii_punct(c) || (c >= '0' && c <= '9')))
			buf_adds(out, ZWSP);
		line_start = 0;
		switch (c) {
		case '*': buf_adds(out, ASTERISK); break;
		case '`': buf_adds(out, GRAVE); break;
		case '_': case '~': case '>':
			buf_adds(out, ZWSP);
			buf_addc(out, (char)c);
			break;
		case '<': case '&': case '@': case '[': case ']':
			/* No tag, entity, mention, mail autolink or link text can start or end here. */
			buf_addc(out, (char)c);
			buf_adds(out, ZWSP);
			break;
		case '\\':
			buf_addc(out, '\\');
			if (i < n && is_ascii_punct((unsigned char)s[i]))
				buf_adds(out, ZWSP);	/* it escapes nothing then */
			break;
		case ':':
			buf_addc(out, ':');
			if (n - i >= 2 && s[i] == '/' && s[i + 1] == '/')
				buf_adds(out, ZWSP);	/* no scheme://, no autolink */
			break;
		case '.':
			if (after_www(s, i - 1))
				buf_adds(out, ZWSP);
			buf_addc(out, '.');
			break;
		default:
			buf_addc(out, (char)c);
		}
	}
}

/* ---- JSON strings cut to a size ---- */

/* Bytes json_escape writes for one character at s (text from teams_escape: valid UTF-8, no
 * control byte but LF); *len is its own bytes. */
static size_t json_char(const char *s, size_t left, size_t *len)
{
	unsigned char c = (unsigned char)*s;
	if (c < 0x80) {
		*len = 1;
		return c == '"' || c == '\\' || c == '\n' ? 2 : c < 0x20 ? 6 : 1;
	}
	size_t u = utf8_len((const unsigned char *)s, left);
	*len = u ? u : 1;
	return u ? u : 3;
}

/* The same for the unit a cut may not split: a character with the U+200B the escaping put
 * before or after it (a '[' cut from its U+200B would be link text again). */
static size_t json_unit(const char *s, size_t left, size_t *len)
{
	size_t j = json_char(s, left, len), more;
	while (*len < left) {
		if (*len >= 3 && !memcmp(s + *len - 3, ZWSP, 3))
			j += json_char(s + *len, left - *len, &more);
		else if (left - *len >= 3 && !memcmp(s + *len, ZWSP, 3))
			j += 3, more = 3;
		else
			break;
		*len += more;
	}
	return j;
}

/* Appends text as a JSON string of at most max bytes (quotes included). Cut, it ends with
 * "… [+N more bytes]"; with keep_end its start goes instead ("[+N more bytes] … ", for a
 * log's tail). */
static void json_cut(struct buf *out, const char *text, size_t n, size_t max, int keep_end)
{
	size_t total = 0, len;
	for (size_t i = 0; i < n; i += len)
		total += json_unit(text + i, n - i, &len);
	if (total + 2 <= max) {
		json_string(out, text, n);
		return;
	}
	const size_t marker = 48;	/* the marker's bytes at most */
	size_t room = max > marker + 2 ? max - marker - 2 : 0, used = 0, keep = 0;
	if (!keep_end) {
		for (size_t i = 0; i < n; i += len) {
			size_t j = json_unit(text + i, n - i, &len);
			if (used + j > room)
				break;
			used += j;
			keep = i + len;
		}
		buf_addc(out, '"');
		json_escape(out, text, keep);
		buf_printf(out, " " ELLIPSIS " [+%zu more bytes]\"", n - keep);
		return;
	}
	/* From the end: the units' starts are found walking forward, so skip what does not fit. */
	size_t skip = 0;
	for (size_t i = 0; i < n && total - used > room; i += len) {
		used += json_unit(text + i, n - i, &len);
		skip = i + len;
	}
	buf_printf(out, "\"[+%zu more bytes] " ELLIPSIS " ", skip);
	json_escape(out, text + skip, n - skip);
	buf_addc(out, '"');
}

/* The decoded, escaped value of an escaped column or attribute into w->md; its length. */
static size_t md_value(struct teams_work *w, const struct slice *v, int flat)
{
	buf_reset(&w->value);
	buf_reset(&w->md);
	if (!v->n)
		return 0;
	tsv_unescape(&w->value, v->p, v->n, NULL);	/* checked lines decode */
	teams_escape(&w->md, w->value.p, w->value.n, flat);
	return w->md.n;
}

static int attr(const struct event *ev, const char *name, struct slice *v)
{
	*v = (struct slice){ 0 };
	return tsv_attr_find(ev, name, strlen(name), v) && v->n;
}

/* ---- what an event shows ---- */

struct kind_look {
	const char *icon, *label;
	int subject;		/* the column after the label (user events: the user) */
	const char *color;	/* Adaptive Card TextBlock color; MessageCard themeColor */
	const char *theme;
};

static const struct kind_look looks[TSV_NEVENTS] = {
	[EV_SESSION_START] = { "\xf0\x9f\x9f\xa2", "Session started", F_USER_ID, "Default", "0078D7" },
	[EV_SESSION_STOP] = { "\xe2\x9a\xaa", "Session ended", F_USER_ID, "Default", "0078D7" },
	[EV_CONNECTION_OPEN] = { "\xf0\x9f\x94\x8c", "Connection opened", F_USER_ID, "Default", "0078D7" },
	[EV_CONNECTION_CLOSE] = { "\xe2\x9e\x96", "Connection closed", F_USER_ID, "Default", "0078D7" },
	[EV_TASK_FAILED] = { "\xe2\x9d\x8c", "Reload task failed", F_TASK_NAME, "Attention", "C4314B" },
	[EV_TASK_ABORTED] = { "\xe2\x9a\xa0\xef\xb8\x8f", "Reload task aborted", F_TASK_NAME, "Warning", "FFAA44" },
	[EV_TASK_SUCCEEDED] = { "\xe2\x9c\x85", "Reload task succeeded", F_TASK_NAME, "Good", "2EB886" },
	[EV_TASK_DISTRIBUTED] = { "\xf0\x9f\x93\xa4", "Task distributed", F_TASK_NAME, "Default", "0078D7" },
	[EV_LOG] = { "\xf0\x9f\x9a\xa8", "Log", F_LEVEL, "Attention", "C4314B" },
	[EV_QIX_PERF] = { "\xe2\x8f\xb1\xef\xb8\x8f", "QIX performance record", F_APP_ID, "Default", "0078D7" },
	[EV_UNKNOWN] = { "\xe2\x9d\x94", "Unrecognized message", F_SOURCE, "Default", "808080" },
};

/* A log event's look follows its level. */
static const char *level_color(const struct teams_event *e, int theme)
{
	const struct kind_look *k = &looks[e->kind];
	if (e->kind == EV_LOG) {
		const struct slice *l = &e->ev.f[F_LEVEL];
		if (l->n == 4 && !memcmp(l->p, "WARN", 4))
			return theme ? "FFAA44" : "Warning";
	}
	return theme ? k->theme : k->color;
}

/* Appends the event's user, escaped: DIR\id, or whichever part is known. */
static void append_user(struct buf *dst, struct teams_work *w, const struct event *ev)
{
	if (md_value(w, &ev->f[F_USER_DIR], 1) && ev->f[F_USER_ID].n) {
		buf_add(dst, w->md.p, w->md.n);
		buf_addc(dst, '\\');
	}
	if (md_value(w, &ev->f[F_USER_ID], 1) || md_value(w, &ev->f[F_USER_DIR], 1))
		buf_add(dst, w->md.p, w->md.n);
}

static int is_user_event(int kind)
{
	return kind == EV_SESSION_START || kind == EV_SESSION_STOP || kind == EV_CONNECTION_OPEN ||
	       kind == EV_CONNECTION_CLOSE;
}

/* The title: icon, label, ": " and the subject (escaped, one line), as a JSON string. */
static void add_title(struct buf *out, const struct teams_event *e, struct teams_work *w, size_t max)
{
	const struct kind_look *k = &looks[e->kind];
	buf_reset(&w->line);
	buf_printf(&w->line, "%s %s: ", k->icon, k->label);
	size_t mark = w->line.n;
	if (is_user_event(e->kind))
		append_user(&w->line, w, &e->ev);
	else if (md_value(w, &e->ev.f[k->subject], 1))
		buf_add(&w->line, w->md.p, w->md.n);
	if (w->line.n == mark)
		w->line.n = mark - 2;	/* no subject: no ": " */
	json_cut(out, w->line.p, w->line.n, max, 0);
}

/* A fact: its name and value, in whichever format's object shape. */
struct facts {
	struct buf *out;
	enum teams_format format;
	size_t max;
	int count;
};

static void fact_text(struct facts *f, const char *name, const char *text, size_t n)
{
	if (!n)
		return;
	buf_adds(f->out, f->count++ ? "," : "");
	buf_printf(f->out, f->format == TEAMS_ADAPTIVE ? "{\"title\":\"%s\",\"value\":" :
			   "{\"name\":\"%s\",\"value\":", name);
	json_cut(f->out, text, n, f->max, 0);
	buf_addc(f->out, '}');
}

static void fact(struct facts *f, struct teams_work *w, const char *name, const struct slice *v)
{
	if (md_value(w, v, 1))
		fact_text(f, name, w->md.p, w->md.n);
}

static void fact_attr(struct facts *f, struct teams_work *w, const char *name,
		      const struct event *ev, const char *attr_name)
{
	struct slice v;
	if (attr(ev, attr_name, &v))
		fact(f, w, name, &v);
}

/* exec_duration_ms as "2 h 3 min", "4 min 5 s", "6.7 s". */
static void fact_duration(struct facts *f, const struct event *ev)
{
	struct slice v;
	if (!attr(ev, "exec_duration_ms", &v) || !tsv_is_decimal(v.p, v.n) || v.n > 30)
		return;
	char num[32];
	memcpy(num, v.p, v.n);
	num[v.n] = 0;
	double s = strtod(num, NULL) / 1000;
	char text[64];
	if (s < 0 || s > 1e9)
		return;
	if (s < 60)
		snprintf(text, sizeof text, "%.1f s", s);
	else if (s < 3600)
		snprintf(text, sizeof text, "%d min %d s", (int)s / 60, (int)s % 60);
	else
		snprintf(text, sizeof text, "%d h %d min", (int)(s / 3600), ((int)s % 3600) / 60);
	fact_text(f, "Duration", text, strlen(text));	/* ours: nothing to escape */
}

/* The owner's name, with the email address after it when both are known. */
static void fact_owner(struct facts *f, struct teams_work *w, const struct event *ev)
{
	struct slice name, mail;
	int has_name = attr(ev, "app_owner_name", &name) || attr(ev, "app_owner", &name);
	int has_mail = attr(ev, "app_owner_email", &mail);
	if (!has_name && !has_mail)
		return;
	buf_reset(&w->line);
	if (has_name) {
		md_value(w, &name, 1);
		buf_add(&w->line, w->md.p, w->md.n);
	}
	if (has_mail) {
		md_value(w, &mail, 1);
		buf_adds(&w->line, has_name ? " (" : "");
		buf_add(&w->line, w->md.p, w->md.n);
		buf_adds(&w->line, has_name ? ")" : "");
	}
	fact_text(f, "Owner", w->line.p, w->line.n);
}

static void fact_time(struct facts *f, struct teams_work *w, const struct slice *time)
{
	struct timespec ts;
	struct tm tm;
	char text[40];
	if (tsv_parse_time(time->p, time->n, &ts) == 0 && gmtime_r(&ts.tv_sec, &tm) &&
	    strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm))
		fact_text(f, "Time", text, strlen(text));
	else
		fact(f, w, "Time", time);
}

/* The facts of an event; how many. */
static int add_facts(struct buf *out, enum teams_format format, const struct teams_event *e,
		     struct teams_work *w, size_t max)
{
	const struct event *ev = &e->ev;
	struct facts f = { .out = out, .format = format, .max = max };
	fact(&f, w, "Host", &ev->f[F_HOST]);
	fact(&f, w, "App", ev->f[F_APP_NAME].n ? &ev->f[F_APP_NAME] : &ev->f[F_APP_ID]);
	fact(&f, w, "Task", &ev->f[F_TASK_NAME]);
	buf_reset(&w->line);
	append_user(&w->line, w, ev);
	fact_text(&f, "User", w->line.p, w->line.n);
	fact_time(&f, w, &ev->f[F_TIME]);
	if (e->kind == EV_LOG) {
		fact(&f, w, "Level", &ev->f[F_LEVEL]);
		fact(&f, w, "Logger", &ev->f[F_LOGGER]);
	}
	if (e->kind == EV_UNKNOWN)
		fact(&f, w, "Source", &ev->f[F_SOURCE]);
	fact_attr(&f, w, "Status", ev, "exec_status");
	fact_attr(&f, w, "Node", ev, "exec_node");
	fact_duration(&f, ev);
	fact_owner(&f, w, ev);
	return f.count;
}

/* A link into the QMC or the hub: config's base, an id from the event only when a GUID. */
struct link {
	const char *label;
	const char *base, *path;
	struct slice id;
};

static int links(const struct teams_style *st, const struct event *ev, struct link l[2])
{
	int n = 0;
	if (st->qmc_url && tsv_is_guid(ev->f[F_TASK_ID].p, ev->f[F_TASK_ID].n))
		l[n++] = (struct link){ "Open task in QMC", st->qmc_url, "/reloadtask/edit/", ev->f[F_TASK_ID] };
	if (st->hub_url && tsv_is_guid(ev->f[F_APP_ID].p, ev->f[F_APP_ID].n))
		l[n++] = (struct link){ "Open app in hub", st->hub_url, "/app/", ev->f[F_APP_ID] };
	return n;
}

static void add_url(struct buf *out, const struct link *l)
{
	buf_addc(out, '"');
	json_escape(out, l->base, strlen(l->base));
	buf_adds(out, l->path);
	buf_add(out, l->id.p, l->id.n);
	buf_addc(out, '"');
}

/* Adaptive Card actions ("[...]"); 0 when there are none (nothing appended). */
static int ac_actions(struct buf *out, const struct teams_style *st, const struct event *ev)
{
	struct link l[2];
	int n = links(st, ev, l);
	for (int i = 0; i < n; i++) {
		buf_adds(out, i ? "," : "[");
		buf_printf(out, "{\"type\":\"Action.OpenUrl\",\"title\":\"%s\",\"url\":", l[i].label);
		add_url(out, &l[i]);
		buf_addc(out, '}');
	}
	if (n)
		buf_addc(out, ']');
	return n;
}

static void mc_actions(struct buf *out, const struct teams_style *st, const struct event *ev)
{
	struct link l[2];
	int n = links(st, ev, l);
	for (int i = 0; i < n; i++) {
		buf_adds(out, i ? "," : ",\"potentialAction\":[");
		buf_printf(out, "{\"@type\":\"OpenUri\",\"name\":\"%s\",\"targets\":[{\"os\":\"default\",\"uri\":",
			   l[i].label);
		add_url(out, &l[i]);
		buf_adds(out, "}]}");
	}
	if (n)
		buf_addc(out, ']');
}

struct budget {
	size_t title, fact, message, tail;
};

/* ---- Adaptive Card ---- */

static void ac_text(struct buf *out, struct teams_work *w, const struct slice *v, size_t max,
		    int keep_end, const char *extra)
{
	if (!md_value(w, v, 0))
		return;
	buf_adds(out, ",{\"type\":\"TextBlock\",\"text\":");
	json_cut(out, w->md.p, w->md.n, max, keep_end);
	buf_printf(out, ",\"fontType\":\"Monospace\",\"wrap\":true%s}", extra);
}

/* An event's body elements, the first without a leading comma; with in_digest, its buttons
 * in an ActionSet among them (a card's own actions go at its end). */
static void ac_event(struct buf *out, const struct teams_style *st, const struct teams_event *e,
		     struct teams_work *w, const struct budget *b, int in_digest)
{
	buf_adds(out, "{\"type\":\"TextBlock\",\"text\":");
	add_title(out, e, w, b->title);
	buf_printf(out, ",\"weight\":\"Bolder\",\"size\":\"%s\",\"color\":\"%s\",\"wrap\":true}",
		   in_digest ? "Default" : "Medium", level_color(e, 0));
	size_t mark = out->n;
	buf_adds(out, ",{\"type\":\"FactSet\",\"facts\":[");
	if (add_facts(out, TEAMS_ADAPTIVE, e, w, b->fact))
		buf_adds(out, "]}");
	else
		out->n = mark;
	ac_text(out, w, &e->ev.f[F_MESSAGE], b->message, 0, "");
	struct slice tail;
	if (b->tail && attr(&e->ev, "script_log_tail", &tail)) {
		buf_adds(out, ",{\"type\":\"TextBlock\",\"text\":\"Script log (last lines)\","
			      "\"weight\":\"Bolder\",\"spacing\":\"Medium\",\"wrap\":true}");
		ac_text(out, w, &tail, b->tail, 1, ",\"size\":\"Small\"");
	}
	if (in_digest) {
		mark = out->n;
		buf_adds(out, ",{\"type\":\"ActionSet\",\"actions\":");
		if (ac_actions(out, st, &e->ev))
			buf_addc(out, '}');
		else
			out->n = mark;
	}
}

static const char ac_head[] =
	"{\"type\":\"message\",\"attachments\":[{\"contentType\":\"application/vnd.microsoft.card.adaptive\","
	"\"contentUrl\":null,\"content\":{\"$schema\":\"http://adaptivecards.io/schemas/adaptive-card.json\","
	"\"type\":\"AdaptiveCard\",\"version\":\"1.4\",\"msteams\":{\"width\":\"Full\"},\"body\":[";

static const struct budget single = { TITLE_MAX, FACT_MAX, MESSAGE_MAX, TAIL_MAX };

static void ac_single(struct buf *out, const struct teams_style *st, const struct teams_event *e,
		      struct teams_work *w)
{
	buf_adds(out, ac_head);
	ac_event(out, st, e, w, &single, 0);
	buf_addc(out, ']');
	size_t mark = out->n;
	buf_adds(out, ",\"actions\":");
	if (!ac_actions(out, st, &e->ev))
		out->n = mark;
	buf_adds(out, "}}]}");
}

static struct budget digest_budget(size_t n)
{
	size_t text = DIGEST_TEXT_MAX / n;
	if (text < DIGEST_TEXT_MIN)
		text = DIGEST_TEXT_MIN;
	return (struct budget){ DIGEST_TITLE_MAX, DIGEST_FACT_MAX, text, text / 2 };
}

/* "[+N more events]" when not every event fit. */
static void more_events(struct buf *out, enum teams_format format, size_t more, int first)
{
	if (!more)
		return;
	if (format == TEAMS_ADAPTIVE)
		buf_printf(out, ",{\"type\":\"TextBlock\",\"text\":\"[+%zu more events]\","
				"\"weight\":\"Bolder\",\"separator\":true,\"wrap\":true}", more);
	else
		buf_printf(out, "%s{\"text\":\"[+%zu more events]\"}", first ? "" : ",", more);
}

/* The digest header: how many, and from when to when. */
static void digest_title(struct teams_work *w, const struct teams_event *e, size_t n)
{
	buf_reset(&w->line);
	buf_printf(&w->line, "%zu Qlik Sense events", n);
	struct timespec a, b;
	struct tm ta, tb;
	char from[32], to[16];
	if (tsv_parse_time(e[0].ev.f[F_TIME].p, e[0].ev.f[F_TIME].n, &a) == 0 &&
	    tsv_parse_time(e[n - 1].ev.f[F_TIME].p, e[n - 1].ev.f[F_TIME].n, &b) == 0 &&
	    gmtime_r(&a.tv_sec, &ta) && gmtime_r(&b.tv_sec, &tb) &&
	    strftime(from, sizeof from, "%Y-%m-%d %H:%M:%S", &ta) &&
	    strftime(to, sizeof to, "%H:%M:%S", &tb))
		buf_printf(&w->line, ", %s " "\xe2\x80\x93" " %s UTC", from, to);
}

static void ac_digest(struct buf *out, const struct teams_style *st, const struct teams_event *e,
		      size_t n, struct teams_work *w)
{
	struct budget b = digest_budget(n);
	size_t start = out->n;
	buf_adds(out, ac_head);
	digest_title(w, e, n);
	buf_adds(out, "{\"type\":\"TextBlock\",\"text\":");
	json_string(out, w->line.p, w->line.n);
	buf_adds(out, ",\"weight\":\"Bolder\",\"size\":\"Medium\",\"wrap\":true}");
	size_t i;
	for (i = 0; i < n; i++) {
		buf_reset(&w->part);
		buf_adds(&w->part, ",{\"type\":\"Container\",\"separator\":true,\"spacing\":\"Medium\",\"items\":[");
		ac_event(&w->part, st, &e[i], w, &b, 1);
		buf_adds(&w->part, "]}");
		if (out->n - start + w->part.n + CLOSING_RESERVE > TEAMS_BODY_MAX)
			break;
		buf_add(out, w->part.p, w->part.n);
	}
	more_events(out, TEAMS_ADAPTIVE, n - i, 0);
	buf_adds(out, "]}}]}");
}

/* ---- MessageCard (legacy connectors) ---- */

static void mc_text(struct buf *out, struct teams_work *w, const char *key, const struct slice *v,
		    size_t max, int keep_end)
{
	if (!md_value(w, v, 0))
		return;
	buf_printf(out, ",\"%s\":", key);
	json_cut(out, w->md.p, w->md.n, max, keep_end);
}

/* An event's section(s), after a comma unless first. */
static void mc_event(struct buf *out, const struct teams_style *st, const struct teams_event *e,
		     struct teams_work *w, const struct budget *b, int first, int in_digest)
{
	buf_adds(out, first ? "{\"activityTitle\":" : ",{\"activityTitle\":");
	add_title(out, e, w, b->title);
	size_t mark = out->n;
	buf_adds(out, ",\"facts\":[");
	if (add_facts(out, TEAMS_MESSAGECARD, e, w, b->fact))
		buf_addc(out, ']');
	else
		out->n = mark;
	mc_text(out, w, "text", &e->ev.f[F_MESSAGE], b->message, 0);
	if (in_digest)
		mc_actions(out, st, &e->ev);
	buf_addc(out, '}');
	struct slice tail;
	if (b->tail && attr(&e->ev, "script_log_tail", &tail) && md_value(w, &tail, 0)) {
		buf_adds(out, ",{\"title\":\"Script log (last lines)\",\"text\":");
		json_cut(out, w->md.p, w->md.n, b->tail, 1);
		buf_addc(out, '}');
	}
}

static const char mc_start[] = "{\"@type\":\"MessageCard\",\"@context\":\"https://schema.org/extensions\",\"summary\":";

static void mc_single(struct buf *out, const struct teams_style *st, const struct teams_event *e,
		      struct teams_work *w)
{
	buf_adds(out, mc_start);
	add_title(out, e, w, TITLE_MAX);
	buf_printf(out, ",\"themeColor\":\"%s\",\"sections\":[", level_color(e, 1));
	mc_event(out, st, e, w, &single, 1, 0);
	buf_addc(out, ']');
	mc_actions(out, st, &e->ev);
	buf_addc(out, '}');
}

static void mc_digest(struct buf *out, const struct teams_style *st, const struct teams_event *e,
		      size_t n, struct teams_work *w)
{
	struct budget b = digest_budget(n);
	size_t start = out->n;
	digest_title(w, e, n);
	buf_adds(out, mc_start);
	json_string(out, w->line.p, w->line.n);
	buf_adds(out, ",\"themeColor\":\"0078D7\",\"title\":");
	json_string(out, w->line.p, w->line.n);
	buf_adds(out, ",\"sections\":[");
	size_t i;
	for (i = 0; i < n; i++) {
		buf_reset(&w->part);
		mc_event(&w->part, st, &e[i], w, &b, i == 0, 1);
		if (out->n - start + w->part.n + CLOSING_RESERVE > TEAMS_BODY_MAX)
			break;
		buf_add(out, w->part.p, w->part.n);
	}
	more_events(out, TEAMS_MESSAGECARD, n - i, i == 0);
	buf_adds(out, "]}");
}

void teams_classify(const struct xfer_result *r, struct xfer_answer *a)
{
	static const char failed[] = "Webhook message delivery failed with error:";
	static const char status[] = "returned HTTP error ";
	xfer_classify(r, a);
	if (a->verdict != XFER_DONE || r->n < sizeof failed - 1 || memcmp(r->body, failed, sizeof failed - 1))
		return;
	const char *p = memmem(r->body, r->n, status, sizeof status - 1);
	long code = 0;
	if (p) {
		p += sizeof status - 1;
		for (const char *end = r->body + r->n; p < end && *p >= '0' && *p <= '9' && code < 1000; p++)
			code = code * 10 + (*p - '0');
	}
	/* The connector took the post, so the answer is whole: its embedded status decides,
	 * and a failure without one is retried. */
	struct xfer_result inner = *r;
	inner.status = code >= 400 && code < 600 ? code : 500;
	inner.retry_after = NULL;
	xfer_classify(&inner, a);
}

void teams_body(struct buf *out, const struct teams_style *st, const struct teams_event *e,
		size_t n, struct teams_work *w)
{
	if (st->format == TEAMS_MESSAGECARD)
		n > 1 ? mc_digest(out, st, e, n, w) : mc_single(out, st, e, w);
	else
		n > 1 ? ac_digest(out, st, e, n, w) : ac_single(out, st, e, w);
}
