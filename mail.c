/* mail: the messages qsmail sends; see mail.h. Values go through clean() on their way into any
 * text, which is what makes the promises hold: it replaces what is not well-formed UTF-8, turns
 * control bytes into line breaks, blanks or U+FFFD, and escapes HTML. The parts are then
 * quoted-printable and the headers encoded words, so no byte of a value reaches the message
 * raw. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "mail.h"

#define REPLACEMENT "\xef\xbf\xbd"	/* U+FFFD */
#define ELLIPSIS "\xe2\x80\xa6"
#define QP_LINE 76			/* RFC 2045: encoded lines at most 76 bytes */
#define HEADER_LINE 78			/* RFC 5322's recommended limit */
#define WORD_BYTES 42			/* text per encoded word: 56 base64 bytes, 68 in all */

void mail_work_free(struct mail_work *w)
{
	buf_free(&w->text);
	buf_free(&w->html);
	buf_free(&w->subject);
	buf_free(&w->value);
	buf_free(&w->tmp);
}

/* ---- text from untrusted bytes ---- */

enum { FLAT = 1, HTML = 2 };

/* Appends s as well-formed UTF-8: a CR, LF or CRLF is a line break (a blank when FLAT), a TAB
 * stays (a blank when FLAT), other control bytes and bad UTF-8 become U+FFFD; with HTML, & < >
 * and " are entities. */
static void clean(struct buf *out, const char *s, size_t n, int how)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		const unsigned char *run = p;
		while (p < end && *p >= 0x20 && *p < 0x7f && !(how & HTML && strchr("&<>\"", *p)))
			p++;
		buf_add(out, run, (size_t)(p - run));
		if (p == end)
			break;
		unsigned char c = *p;
		if (c >= 0x80) {
			size_t len = utf8_len(p, (size_t)(end - p));
			buf_add(out, len ? (const char *)p : REPLACEMENT, len ? len : 3);
			p += len ? len : 1;
			continue;
		}
		p++;
		switch (c) {
		case '\r':
			if (p < end && *p == '\n')
				p++;
			/* fall through */
		case '\n': buf_addc(out, how & FLAT ? ' ' : '\n'); break;
		case '\t': buf_addc(out, how & FLAT ? ' ' : '\t'); break;
		case '&': buf_adds(out, "&amp;"); break;
		case '<': buf_adds(out, "&lt;"); break;
		case '>': buf_adds(out, "&gt;"); break;
		case '"': buf_adds(out, "&quot;"); break;
		default: buf_adds(out, REPLACEMENT);
		}
	}
}

/* Where a cut of s at most max bytes long ends: not inside a UTF-8 sequence. */
static size_t cut_point(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	size_t k = max;
	while (k > 0 && max - k < 3 && ((unsigned char)s[k] & 0xc0) == 0x80)
		k--;
	return k;
}

/* clean() of at most max bytes of s, with a note when it was cut. */
static void clean_cut(struct buf *out, const char *s, size_t n, size_t max, int how)
{
	size_t k = cut_point(s, n, max);
	clean(out, s, k, how);
	if (k == n)
		return;
	if (how & FLAT)
		buf_adds(out, " " ELLIPSIS " [cut]");
	else
		buf_printf(out, "\n" ELLIPSIS " [cut: the first %zu of %zu bytes shown]\n", k, n);
}

/* ---- what an event holds ---- */

/* The decoded value of an escaped slice, in w->value (events are checked: see mail.h). */
static const struct buf *decode(struct mail_work *w, const struct slice *s)
{
	buf_reset(&w->value);
	if (tsv_unescape(&w->value, s->p, s->n, NULL) < 0)
		w->value.n = 0;
	return &w->value;
}

static const struct buf *field(struct mail_work *w, const struct mail_event *e, int f)
{
	return decode(w, &e->ev.f[f]);
}

static const struct buf *attr(struct mail_work *w, const struct mail_event *e, const char *name)
{
	struct slice v = { "", 0 };
	tsv_attr_find(&e->ev, name, strlen(name), &v);
	return decode(w, &v);
}

static int is_guid(const struct slice *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	if (s->n != sizeof shape - 1)
		return 0;
	for (size_t i = 0; i < s->n; i++) {
		char c = s->p[i];
		int hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
		if (shape[i] == '-' ? c != '-' : !hex)
			return 0;
	}
	return 1;
}

static int is_task_result(int kind)
{
	return kind >= EV_TASK_FAILED && kind <= EV_TASK_DISTRIBUTED;
}

/* ---- subjects ---- */

/* Appends a decoded value to a subject being built (cleaned later, as a whole). */
static void subject_value(struct buf *out, const struct buf *v, const char *fallback)
{
	if (v->n)
		buf_add(out, v->p, v->n < MAIL_SUBJECT_MAX ? v->n : MAIL_SUBJECT_MAX);
	else
		buf_adds(out, fallback);
}

static void subject_user(struct buf *out, struct mail_work *w, const struct mail_event *e)
{
	const struct buf *v = field(w, e, F_USER_DIR);
	if (v->n) {
		subject_value(out, v, "");
		buf_addc(out, '\\');
	}
	subject_value(out, field(w, e, F_USER_ID), "unknown user");
}

/* The built-in subject: what happened where, raw (decoded, not cleaned). */
static void builtin_subject(struct buf *out, struct mail_work *w, const struct mail_event *e)
{
	static const char *const what[TSV_NEVENTS] = {
		[EV_SESSION_START] = "Session started", [EV_SESSION_STOP] = "Session ended",
		[EV_CONNECTION_OPEN] = "Connection opened", [EV_CONNECTION_CLOSE] = "Connection closed",
		[EV_TASK_FAILED] = "Reload failed", [EV_TASK_ABORTED] = "Reload aborted",
		[EV_TASK_SUCCEEDED] = "Reload succeeded", [EV_TASK_DISTRIBUTED] = "Task distributed",
		[EV_LOG] = "Qlik Sense", [EV_QIX_PERF] = "QIX performance",
		[EV_UNKNOWN] = "Unrecognized message",
	};
	buf_adds(out, what[e->kind]);
	buf_adds(out, ": ");
	if (is_task_result(e->kind)) {
		subject_value(out, field(w, e, F_TASK_NAME), "unnamed task");
		const struct buf *app = field(w, e, F_APP_NAME);
		if (app->n) {
			buf_adds(out, " (");
			subject_value(out, app, "");
			buf_addc(out, ')');
		}
	} else if (e->kind == EV_LOG || e->kind == EV_QIX_PERF) {
		subject_value(out, field(w, e, F_LEVEL), "log");
		buf_adds(out, " from ");
		subject_value(out, field(w, e, F_LOGGER), "a service");
	} else if (e->kind == EV_UNKNOWN) {
		subject_value(out, field(w, e, F_SOURCE), "an unknown sender");
		return;
	} else {
		subject_user(out, w, e);
	}
	buf_adds(out, " on ");
	subject_value(out, field(w, e, F_HOST), "an unknown host");
}

/* tmpl_expand's emit: a value cleaned for where it lands, cut to its budget. */
struct emit {
	int how;
	size_t max;
};

static void emit_value(struct buf *out, const char *value, size_t n, void *ctx)
{
	const struct emit *em = ctx;
	clean_cut(out, value, n, em->max, em->how);
}

/* An event's subject, one cleaned line of at most MAIL_SUBJECT_MAX bytes, appended. */
static void event_subject(struct buf *out, const struct mail_style *st, struct mail_work *w,
			  const struct mail_event *e)
{
	buf_reset(&w->tmp);
	const struct tmpl *t = st->tmpl[MAIL_SUBJECT][e->kind];
	if (t) {
		struct emit em = { FLAT, MAIL_SUBJECT_MAX };
		tmpl_expand(t, &e->ev, &w->tmp, &w->value, emit_value, &em);
	} else {
		builtin_subject(&w->tmp, w, e);
	}
	size_t start = out->n;
	clean(out, w->tmp.p, w->tmp.n, FLAT);
	size_t k = cut_point(out->p + start, out->n - start, MAIL_SUBJECT_MAX);
	if (start + k < out->n) {
		out->n = start + k;
		buf_adds(out, ELLIPSIS);
	}
}

/* ---- built-in bodies: rows (label: value) and blocks (preformatted), text and HTML at once ---- */

static void row_start(struct mail_work *w, const char *label)
{
	buf_printf(&w->text, "%-14s", label);
	buf_adds(&w->html, "<tr><th style=\"text-align:left;vertical-align:top;padding:2px 12px 2px 0\">");
	buf_adds(&w->html, label);
	buf_adds(&w->html, "</th><td style=\"padding:2px 0\">");
}

static void row_put(struct mail_work *w, const char *s, size_t n, size_t max)
{
	clean_cut(&w->text, s, n, max, FLAT);
	clean_cut(&w->html, s, n, max, FLAT | HTML);
}

static void row_lit(struct mail_work *w, const char *s)
{
	buf_adds(&w->text, s);
	clean(&w->html, s, strlen(s), FLAT | HTML);
}

static void row_end(struct mail_work *w)
{
	buf_addc(&w->text, '\n');
	buf_adds(&w->html, "</td></tr>\n");
}

/* A row of one decoded value; none when it is empty. */
static void row(struct mail_work *w, const char *label, const struct buf *v, size_t max)
{
	if (!v->n)
		return;
	row_start(w, label);
	row_put(w, v->p, v->n, max);
	row_end(w);
}

static void block(struct mail_work *w, const char *title, const struct buf *v, size_t max)
{
	if (!v->n)
		return;
	buf_printf(&w->text, "\n%s:\n", title);
	clean_cut(&w->text, v->p, v->n, max, 0);
	if (w->text.p[w->text.n - 1] != '\n')
		buf_addc(&w->text, '\n');
	buf_printf(&w->html, "<h3 style=\"margin:16px 0 4px\">%s</h3>\n"
		   "<pre style=\"white-space:pre-wrap;background:#f4f4f4;padding:8px;"
		   "font-family:Consolas,monospace\">", title);
	clean_cut(&w->html, v->p, v->n, max, HTML);
	buf_adds(&w->html, "</pre>\n");
}

static void row_user(struct mail_work *w, const struct mail_event *e)
{
	const struct buf *v = field(w, e, F_USER_ID);
	if (!v->n)
		return;
	row_start(w, "User:");
	v = field(w, e, F_USER_DIR);
	if (v->n) {
		row_put(w, v->p, v->n, MAIL_SUBJECT_MAX);
		row_lit(w, "\\");
	}
	v = field(w, e, F_USER_ID);
	row_put(w, v->p, v->n, MAIL_SUBJECT_MAX);
	row_end(w);
}

static void row_duration(struct mail_work *w, const struct mail_event *e)
{
	const struct buf *v = attr(w, e, "exec_duration_ms");
	if (!v->n)
		return;
	char num[32], text[64];
	snprintf(num, sizeof num, "%.*s", (int)(v->n < 31 ? v->n : 31), v->p);
	char *end;
	double ms = strtod(num, &end);
	if (*end || ms < 0 || ms > 1e15) {
		row(w, "Duration:", v, 64);
		return;
	}
	unsigned long long s = (unsigned long long)(ms / 1000);
	if (ms < 60000)
		snprintf(text, sizeof text, "%.1f s", ms / 1000);
	else if (s < 3600)
		snprintf(text, sizeof text, "%llu min %02llu s", s / 60, s % 60);
	else
		snprintf(text, sizeof text, "%llu h %02llu min %02llu s", s / 3600, s / 60 % 60, s % 60);
	row_start(w, "Duration:");
	row_lit(w, text);
	row_end(w);
}

/* Owner: "Name (DIR\id) <email>", whichever parts are known. */
static void row_owner(struct mail_work *w, const struct mail_event *e)
{
	static const char *const parts[] = { "app_owner_name", "app_owner", "app_owner_email" };
	static const char *const open[] = { "", "(", "<" }, *const close[] = { "", ")", ">" };
	int any = 0;
	for (size_t i = 0; i < 3; i++) {
		const struct buf *v = attr(w, e, parts[i]);
		if (!v->n)
			continue;
		if (!any)
			row_start(w, "Owner:");
		else
			row_lit(w, " ");
		row_lit(w, open[i]);
		row_put(w, v->p, v->n, MAIL_SUBJECT_MAX);
		row_lit(w, close[i]);
		any = 1;
	}
	if (any)
		row_end(w);
}

/* Links into the QMC and the hub: bases from config, ids only when they are GUIDs. */
static void links(struct mail_work *w, const struct mail_style *st, const struct mail_event *e)
{
	const char *base[] = { st->qmc_url, st->hub_url };
	const char *path[] = { "/reloadtask/edit/", "/app/" };
	const char *label[] = { "Open the task in the QMC", "Open the app in the hub" };
	const struct slice *id[] = { &e->ev.f[F_TASK_ID], &e->ev.f[F_APP_ID] };
	int any = 0;
	for (size_t i = 0; i < 2; i++) {
		if (!base[i] || !is_guid(id[i]))
			continue;
		buf_printf(&w->text, "%s: %s%s%.*s\n", label[i], base[i], path[i], (int)id[i]->n, id[i]->p);
		buf_adds(&w->html, any ? " &middot; " : "<p>");
		buf_adds(&w->html, "<a href=\"");
		clean(&w->html, base[i], strlen(base[i]), FLAT | HTML);
		buf_printf(&w->html, "%s%.*s\">%s</a>", path[i], (int)id[i]->n, id[i]->p, label[i]);
		any = 1;
	}
	if (any)
		buf_adds(&w->html, "</p>\n");
}

/* Attributes shown in their own place; the others are listed by name. */
static int shown_attr(const char *name, size_t n)
{
	static const char *const names[] = {
		"exec_node", "exec_status", "exec_start", "exec_stop", "exec_duration_ms",
		"app_owner", "app_owner_name", "app_owner_email", "app_stream", "log_time",
		"script_log_tail", "script_log_head", "exec_details", "enrich_error",
	};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (strlen(names[i]) == n && !memcmp(names[i], name, n))
			return 1;
	return 0;
}

static void other_attrs(struct mail_work *w, const struct mail_event *e, size_t max)
{
	struct slice rest = e->ev.attrs, name, value;
	while (tsv_attr_next(&rest, &name, &value)) {
		if (shown_attr(name.p, name.n))
			continue;
		char label[40];
		snprintf(label, sizeof label, "%.*s:", (int)(name.n < 32 ? name.n : 32), name.p);
		row(w, label, decode(w, &value), max);
	}
}

/* One event's built-in body: appended to w->text and w->html. */
static void builtin_body(struct mail_work *w, const struct mail_style *st, const struct mail_event *e,
			 size_t max)
{
	buf_adds(&w->html, "<table style=\"border-collapse:collapse\">\n");
	if (is_task_result(e->kind)) {
		row(w, "Task:", field(w, e, F_TASK_NAME), max);
		row(w, "App:", field(w, e, F_APP_NAME), max);
		row(w, "Host:", field(w, e, F_HOST), max);
		row_user(w, e);
		row(w, "Node:", attr(w, e, "exec_node"), max);
		row(w, "Status:", attr(w, e, "exec_status"), max);
		row(w, "Started:", attr(w, e, "exec_start"), max);
		row(w, "Stopped:", attr(w, e, "exec_stop"), max);
		row_duration(w, e);
		row_owner(w, e);
		row(w, "Stream:", attr(w, e, "app_stream"), max);
	} else {
		row(w, "Event:", field(w, e, F_EVENT), max);
		row(w, "Host:", field(w, e, F_HOST), max);
		row_user(w, e);
		row(w, "App:", field(w, e, F_APP_NAME), max);
		row(w, "App id:", field(w, e, F_APP_ID), max);
		row(w, "Task:", field(w, e, F_TASK_NAME), max);
		row(w, "Level:", field(w, e, F_LEVEL), max);
		row(w, "Logger:", field(w, e, F_LOGGER), max);
		row(w, "Origin:", field(w, e, F_ORIGIN), max);
		row(w, "Context:", field(w, e, F_CONTEXT), max);
	}
	row(w, "Sense time:", attr(w, e, "log_time"), max);
	row(w, "Received:", field(w, e, F_TIME), max);
	row(w, "Execution id:", field(w, e, F_EXEC_ID), max);
	if (is_task_result(e->kind)) {
		row(w, "Task id:", field(w, e, F_TASK_ID), max);
		row(w, "App id:", field(w, e, F_APP_ID), max);
	}
	row(w, "Source:", field(w, e, F_SOURCE), max);
	other_attrs(w, e, max);
	row(w, "Enrichment:", attr(w, e, "enrich_error"), max);
	buf_adds(&w->html, "</table>\n");
	links(w, st, e);
	block(w, "Message", field(w, e, F_MESSAGE), max);
	block(w, "Script log (last lines)", attr(w, e, "script_log_tail"), max);
	block(w, "Script log (first lines)", attr(w, e, "script_log_head"), max);
	block(w, "Execution history", attr(w, e, "exec_details"), max);
}

/* One event's bodies, from templates where there are some. A text template without an HTML
 * one gives the HTML part too, preformatted. */
static void event_body(struct mail_work *w, const struct mail_style *st, const struct mail_event *e,
		       size_t max)
{
	const struct tmpl *text = st->tmpl[MAIL_TEXT][e->kind], *html = st->tmpl[MAIL_HTML][e->kind];
	if (!text && !html) {
		builtin_body(w, st, e, max);
		return;
	}
	size_t text_start = w->text.n;
	if (text) {
		struct emit em = { 0, max };
		tmpl_expand(text, &e->ev, &w->text, &w->value, emit_value, &em);
	} else {
		size_t html_start = w->html.n;	/* the built-in text part, with the HTML template */
		builtin_body(w, st, e, max);
		w->html.n = html_start;
	}
	if (html) {
		struct emit em = { HTML, max };
		tmpl_expand(html, &e->ev, &w->html, &w->value, emit_value, &em);
	} else {
		buf_adds(&w->html, "<pre style=\"white-space:pre-wrap;font-family:Consolas,monospace\">");
		clean(&w->html, w->text.p + text_start, w->text.n - text_start, HTML);
		buf_adds(&w->html, "</pre>\n");
	}
	if (text_start < w->text.n && w->text.p[w->text.n - 1] != '\n')
		buf_addc(&w->text, '\n');
}

/* ---- encodings ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(struct buf *out, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
			     (i + 2 < n ? s[i + 2] : 0);
		char q[4] = { b64[v >> 18], b64[v >> 12 & 63], i + 1 < n ? b64[v >> 6 & 63] : '=',
			      i + 2 < n ? b64[v & 63] : '=' };
		buf_add(out, q, 4);
	}
}

/* Quoted-printable of well-formed text with LF line ends: CRLF line ends, lines of at most 76
 * bytes, '=' and every byte but printable ASCII encoded, and a '.', '-' or 'F' opening a line
 * too (so no line can look like SMTP's end of data, a boundary or an mbox "From " line, even
 * before any stuffing). */
static void quoted_printable(struct buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n') {
			buf_adds(out, "\r\n");
			col = 0;
			continue;
		}
		int line_end = i + 1 == n || s[i + 1] == '\n';
		int plain = (c > 0x20 && c < 0x7f && c != '=') || ((c == ' ' || c == '\t') && !line_end);
		if (col + (plain ? 1 : 3) > QP_LINE - 1) {
			buf_adds(out, "=\r\n");
			col = 0;
		}
		if (col == 0 && (c == '.' || c == '-' || c == 'F'))
			plain = 0;
		if (plain) {
			buf_addc(out, (char)c);
			col++;
		} else {
			char e[3] = { '=', hex[c >> 4], hex[c & 15] };
			buf_add(out, e, 3);
			col += 3;
		}
	}
}

/* Whether a header value can go as it is: printable ASCII, no "=?" (which would read as an
 * encoded word), and no word too long to fold. */
static int plain_header(const char *s, size_t n)
{
	size_t word = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f || (c == '=' && i + 1 < n && s[i + 1] == '?'))
			return 0;
		word = c == ' ' ? 0 : word + 1;
		if (word > HEADER_LINE - 20)
			return 0;
	}
	return 1;
}

/* Appends "Name: value" CRLF, the value one cleaned line (no control byte): folded at blanks
 * when it is plain, else RFC 2047 encoded words of whole characters. */
static void header(struct buf *out, const char *name, const char *s, size_t n)
{
	size_t col = strlen(name) + 2;
	buf_adds(out, name);
	buf_adds(out, ": ");
	if (plain_header(s, n)) {
		for (size_t i = 0; i < n;) {
			size_t k = i + 1;
			while (k < n && s[k] != ' ')
				k++;
			if (i && col + (k - i) > HEADER_LINE) {
				buf_adds(out, "\r\n");
				col = 0;
			}
			buf_add(out, s + i, k - i);
			col += k - i;
			i = k;
		}
	} else {
		for (size_t i = 0; i < n;) {
			/* the first word shares its line with the name */
			size_t room = i ? WORD_BYTES : (HEADER_LINE - col - 12) / 4 * 3;
			size_t k = i + cut_point(s + i, n - i, room);
			if (k == i)	/* not UTF-8 (never after clean): whole bytes then */
				k = i + (n - i < room ? n - i : room);
			if (i)
				buf_adds(out, "\r\n ");
			buf_adds(out, "=?UTF-8?B?");
			base64(out, (const unsigned char *)s + i, k - i);
			buf_adds(out, "?=");
			i = k;
		}
	}
	buf_adds(out, "\r\n");
}

/* A header of a cleaned untrusted value. */
static void header_value(struct buf *out, struct buf *tmp, const char *name, const char *s, size_t n)
{
	buf_reset(tmp);
	clean_cut(tmp, s, n, MAIL_SUBJECT_MAX, FLAT);
	header(out, name, tmp->p, tmp->n);
}

/* From: the display name (a phrase: words of atext, else encoded words) and the address. */
static void header_from(struct buf *out, const struct mail_style *st)
{
	buf_adds(out, "From: ");
	if (st->from_name && *st->from_name) {
		const char *s = st->from_name;
		size_t n = strlen(s);
		int plain = n < HEADER_LINE - 20;
		for (size_t i = 0; plain && i < n; i++)
			plain = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
				(s[i] >= '0' && s[i] <= '9') || (s[i] == ' ' && i) || strchr("!#$%&'*+-/^_`{|}~", s[i]);
		if (plain) {
			buf_add(out, s, n);
		} else {
			struct buf tmp = { 0 };
			clean(&tmp, s, n, FLAT);
			for (size_t i = 0; i < tmp.n;) {
				size_t k = i + cut_point(tmp.p + i, tmp.n - i, WORD_BYTES);
				if (k == i)
					k = tmp.n;
				buf_adds(out, i ? "\r\n =?UTF-8?B?" : "=?UTF-8?B?");
				base64(out, (const unsigned char *)tmp.p + i, k - i);
				buf_adds(out, "?=");
				i = k;
			}
			buf_free(&tmp);
		}
		buf_adds(out, "\r\n ");
	}
	buf_printf(out, "<%s>\r\n", st->from);
}

static void header_to(struct buf *out, const struct mail_head *h)
{
	buf_adds(out, "To: ");
	size_t col = 4;
	for (size_t i = 0; i < h->nto; i++) {
		size_t len = strlen(h->to[i]);
		if (i) {
			buf_addc(out, ',');
			if (col + len + 2 > HEADER_LINE) {
				buf_adds(out, "\r\n");
				col = 0;
			}
			buf_addc(out, ' ');
			col += 2;
		}
		buf_add(out, h->to[i], len);
		col += len;
	}
	buf_adds(out, "\r\n");
}

int mail_address_ok(const char *s, size_t n)
{
	const char *at = memchr(s, '@', n);
	if (!at || n > MAIL_ADDRESS_MAX || at == s || at - s > 64 || at + 1 == s + n)
		return 0;
	static const char atext[] = "!#$%&'*+-/=?^_`{|}~";
	for (const char *p = s; p < at; p++) {
		char c = *p;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			 (c && strchr(atext, c)) || (c == '.' && p > s && p + 1 < at && p[1] != '.');
		if (!ok)
			return 0;
	}
	size_t label = 0;
	for (const char *p = at + 1; p < s + n; p++) {
		char c = *p;
		if (c == '.') {
			if (!label || p[-1] == '-')
				return 0;
			label = 0;
			continue;
		}
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			 (c == '-' && label);
		if (!ok || ++label > 63)
			return 0;
	}
	return label && s[n - 1] != '-';
}

/* ---- the message ---- */

static void html_start(struct buf *out, const struct buf *subject)
{
	buf_adds(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
	clean(out, subject->p, subject->n, FLAT | HTML);
	buf_adds(out, "</title></head>\n<body style=\"font-family:Segoe UI,Arial,sans-serif;"
		 "font-size:14px\">\n");
}

static void heading(struct mail_work *w, const char *tag, const char *s, size_t n)
{
	buf_printf(&w->html, "<%s style=\"margin:16px 0 8px\">", tag);
	clean(&w->html, s, n, FLAT | HTML);
	buf_printf(&w->html, "</%s>\n", tag);
}

/* The bodies of all n events into w->text and w->html, the subject into w->subject. */
static void bodies(struct mail_work *w, const struct mail_style *st, const struct mail_event *e,
		   size_t n)
{
	buf_reset(&w->text);
	buf_reset(&w->html);
	buf_reset(&w->subject);
	struct buf one = { 0 };
	event_subject(&one, st, w, &e[0]);
	if (n == 1) {
		buf_add(&w->subject, one.p, one.n);
		html_start(&w->html, &w->subject);
		buf_add(&w->text, one.p, one.n);
		buf_adds(&w->text, "\n\n");
		heading(w, "h2", one.p, one.n);
		event_body(w, st, e, MAIL_VALUE_MAX);
	} else {
		buf_printf(&w->subject, "%zu Qlik Sense alerts: ", n);
		buf_add(&w->subject, one.p, one.n);
		buf_printf(&w->subject, ", and %zu more", n - 1);
		html_start(&w->html, &w->subject);
		const struct buf *t = field(w, &e[0], F_TIME);
		buf_printf(&w->text, "%zu Qlik Sense alerts, received from %.*s", n, (int)t->n, t->p);
		t = field(w, &e[n - 1], F_TIME);
		buf_printf(&w->text, " to %.*s.\n", (int)t->n, t->p);
		heading(w, "h2", w->text.p, w->text.n - 1);
		for (size_t i = 0; i < n; i++) {
			buf_reset(&one);
			event_subject(&one, st, w, &e[i]);
			buf_printf(&w->text, "\n==== %zu of %zu: ", i + 1, n);
			buf_add(&w->text, one.p, one.n);
			buf_adds(&w->text, "\n\n");
			buf_printf(&w->html, "<hr>\n<h3 style=\"margin:16px 0 8px\">%zu of %zu: ", i + 1, n);
			clean(&w->html, one.p, one.n, FLAT | HTML);
			buf_adds(&w->html, "</h3>\n");
			event_body(w, st, &e[i], MAIL_DIGEST_VALUE_MAX);
		}
	}
	buf_adds(&w->text, "\n-- \nSent by qsmail (qspipe) from Qlik Sense log events.\n");
	buf_adds(&w->html, "<p style=\"color:#888;font-size:12px\">Sent by qsmail (qspipe) from Qlik "
		 "Sense log events.</p>\n</body></html>\n");
	buf_free(&one);
}

/* A part: cleaned once more as a whole (template literals are the config's, not checked
 * yet), cut to MAIL_PART_MAX, quoted-printable. */
static void part(struct buf *out, struct buf *tmp, const char *boundary, const char *type,
		 const struct buf *text)
{
	buf_printf(out, "--%s\r\nContent-Type: text/%s; charset=utf-8\r\n"
		   "Content-Transfer-Encoding: quoted-printable\r\n\r\n", boundary, type);
	buf_reset(tmp);
	clean_cut(tmp, text->p, text->n, MAIL_PART_MAX, 0);
	quoted_printable(out, tmp->p, tmp->n);
	buf_adds(out, "\r\n");
}

void mail_build(struct buf *out, const struct mail_style *st, const struct mail_head *h,
		const struct mail_event *e, size_t n, struct mail_work *w)
{
	if (n > MAIL_DIGEST_MAX)
		n = MAIL_DIGEST_MAX;
	bodies(w, st, e, n);
	const char *domain = strchr(st->from, '@');
	domain = domain ? domain + 1 : "localhost";
	char date[64];
	struct tm tm;
	if (!gmtime_r(&h->date, &tm) || !strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm))
		snprintf(date, sizeof date, "Thu, 01 Jan 1970 00:00:00 +0000");
	header_from(out, st);
	header_to(out, h);
	header(out, "Subject", w->subject.p ? w->subject.p : "", w->subject.n);
	buf_printf(out, "Date: %s\r\nMessage-ID: <%s@%s>\r\n", date, h->id, domain);
	/* Replies threaded per task: every mail about a task refers to one made-up root. */
	const struct slice *task = &e[0].ev.f[F_TASK_ID];
	int one_task = is_guid(task);
	for (size_t i = 1; one_task && i < n; i++)
		one_task = e[i].ev.f[F_TASK_ID].n == task->n && !memcmp(e[i].ev.f[F_TASK_ID].p, task->p, task->n);
	if (one_task) {
		char root[128];
		snprintf(root, sizeof root, "<qspipe-task.%.*s@%s>", (int)task->n, task->p, domain);
		for (char *p = root; *p; p++)
			if (*p >= 'A' && *p <= 'F')
				*p = (char)(*p - 'A' + 'a');
		buf_printf(out, "In-Reply-To: %s\r\nReferences: %s\r\n", root, root);
	}
	for (size_t i = 0; i < n; i++) {
		const struct buf *v = field(w, &e[i], F_EXEC_ID);
		if (v->n)
			header_value(out, &w->tmp, "X-Qspipe-Exec-Id", v->p, v->n);
	}
	buf_printf(out, "X-Qspipe-Event: %s\r\n", tsv_event_names[e[0].kind].p);
	/* The boundary starts "=_": quoted-printable never yields that pair. */
	char boundary[96];
	snprintf(boundary, sizeof boundary, "=_qspipe_%.60s", h->id);
	for (char *p = boundary; *p; p++)
		if (!strchr("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ=_.-", *p))
			*p = '_';
	buf_printf(out, "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
		   "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n\r\n"
		   "This is a MIME message: plain text and HTML.\r\n", boundary);
	part(out, &w->tmp, boundary, "plain", &w->text);
	part(out, &w->tmp, boundary, "html", &w->html);
	buf_printf(out, "--%s--\r\n", boundary);
}
