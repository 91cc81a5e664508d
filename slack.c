#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "json.h"
#include "slack.h"
#include "xfer.h"

/* The first line of each is what the event shows as in a digest (with the rest flattened
 * after it), so it says what happened and where. */
static const char *const default_templates[TSV_NEVENTS] = {
	[EV_SESSION_START] = ":large_green_circle: `{user}` started a session on `{host}`",
	[EV_SESSION_STOP] = ":white_circle: `{user}` ended a session on `{host}`",
	[EV_CONNECTION_OPEN] = ":electric_plug: `{user}` opened a connection on `{host}`",
	[EV_CONNECTION_CLOSE] = ":heavy_minus_sign: `{user}` closed a connection on `{host}`",
	[EV_TASK_FAILED] = ":x: Task `{task_name}` failed on `{host}`\\n"
		"*App:* `{app_name}`   *User:* `{user}`\\n```{message}```",
	[EV_TASK_ABORTED] = ":warning: Task `{task_name}` was aborted on `{host}`\\n"
		"*App:* `{app_name}`   *User:* `{user}`\\n```{message}```",
	[EV_TASK_SUCCEEDED] = ":white_check_mark: Task `{task_name}` succeeded on `{host}`\\n"
		"*App:* `{app_name}`",
	[EV_TASK_DISTRIBUTED] = ":outbox_tray: Task `{task_name}` was distributed on `{host}`\\n"
		"*App:* `{app_name}`",
	/* service tells which appender (and so which log folder on the server) it came from;
	 * log_time is the time in that log, the server's own */
	[EV_LOG] = ":rotating_light: `{level}` from `{service}` on `{host}`\\n"
		"*Logger:* `{logger}`   *Logged:* `{log_time}`\\n```{message}```",
	[EV_QIX_PERF] = ":stopwatch: `{method}` took `{process_ms}` ms on `{host}`\\n"
		"*App:* `{app_id}`   *User:* `{user}`   *Object:* `{object_type}` `{object_id}`",
	[EV_UNKNOWN] = ":grey_question: Unrecognized message from `{source}`\\n```{message}```",
};

/* UTF-8 of the characters the escaping inserts. */
#define ZWSP "\xe2\x80\x8b"		/* U+200B ZERO WIDTH SPACE: breaks a formatting marker */
#define WORD_JOINER "\xe2\x81\xa0"	/* U+2060: after the @ of @channel, @here, @everyone */
#define GRAVE "\xcb\x8b"		/* U+02CB MODIFIER LETTER GRAVE ACCENT: for a backtick */
#define REPLACEMENT "\xef\xbf\xbd"	/* U+FFFD */
#define ELLIPSIS "\xe2\x80\xa6"

int slack_style_template(struct slack_style *st, int kind, const char *src,
			 char *why, size_t whylen)
{
	struct tmpl t;
	if (tmpl_compile(&t, src ? src : default_templates[kind], why, whylen) < 0)
		return -1;
	tmpl_free(&st->tmpl[kind]);
	st->tmpl[kind] = t;
	return 0;
}

void slack_style_free(struct slack_style *st)
{
	for (int k = 0; k < TSV_NEVENTS; k++)
		tmpl_free(&st->tmpl[k]);
}

const char *slack_check_link_base(char *url)
{
	const char *why = xfer_link_base(url);
	if (why)
		return why;
	/* The base goes into <URL|text> as it is: these would end or split the link. */
	if (url[strcspn(url, "<>|")])
		return "URL holds a <, > or |";
	return NULL;
}

void slack_work_free(struct slack_work *w)
{
	buf_free(&w->text);
	buf_free(&w->section);
	buf_free(&w->line);
	buf_free(&w->value);
}

/* Where a text stands with code spans: formatting is off inside them, and an inline span
 * cannot hold a line break. Backticks in a text come only from template literals (values'
 * backticks are replaced), so following the runs of them tells where a value lands. */
enum code { CODE_NONE, CODE_INLINE, CODE_BLOCK };

static enum code code_step(enum code state, size_t run)
{
	switch (state) {
	case CODE_NONE:
		return run == 1 ? CODE_INLINE : run >= 3 && run < 6 ? CODE_BLOCK : CODE_NONE;
	case CODE_INLINE:
		return CODE_NONE;
	default:
		return run >= 3 ? CODE_NONE : CODE_BLOCK;
	}
}

static size_t backtick_run(const char *s, size_t n)
{
	size_t k = 0;
	while (k < n && s[k] == '`')
		k++;
	return k;
}

static const char *closer(enum code state)
{
	return state == CODE_INLINE ? "`" : state == CODE_BLOCK ? "```" : "";
}

/* @channel, @here and @everyone notify a whole channel when Slack parses them. */
static int is_broadcast(const char *s, size_t n)
{
	static const char *const words[] = { "channel", "here", "everyone" };
	for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
		size_t len = strlen(words[i]);
		if (n >= len && !strncasecmp(s, words[i], len))
			return 1;
	}
	return 0;
}

/* Appends an untrusted value as mrkdwn data: &, <, > as entities (so no mention, link or
 * command can be made of it), broadcasts broken, backticks replaced (a value never ends a code
 * span), formatting markers broken outside code spans, control bytes replaced, bad UTF-8 made
 * U+FFFD. `flat` keeps it on one line (digest lines). */
static void escape_value(struct buf *out, const char *s, size_t n, enum code state, int flat)
{
	if (!n)		/* s may be an empty buf's NULL */
		return;
	const char *end = s + n;
	while (s < end) {
		const char *run = s;
		while (s < end && ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
				   (*s >= '0' && *s <= '9') || *s == ' ' || *s == '.' || *s == '-'))
			s++;
		buf_add(out, run, (size_t)(s - run));
		if (s == end)
			break;
		unsigned char c = (unsigned char)*s;
		if (c >= 0x80) {
			size_t len = utf8_len((const unsigned char *)s, (size_t)(end - s));
			buf_add(out, len ? s : REPLACEMENT, len ? len : 3);
			s += len ? len : 1;
			continue;
		}
		s++;
		switch (c) {
		case '&': buf_adds(out, "&amp;"); break;
		case '<': buf_adds(out, "&lt;"); break;
		case '>': buf_adds(out, "&gt;"); break;
		case '`': buf_adds(out, GRAVE); break;
		case '\r':
			/* CRLF is a line break; a lone CR is one too. Never just dropped: that could
			 * join "@he" and "re" into a broadcast after the check below. */
			if (s < end && *s == '\n')
				break;
			buf_addc(out, flat || state == CODE_INLINE ? ' ' : '\n');
			break;
		case '@':
			buf_addc(out, '@');
			if (is_broadcast(s, (size_t)(end - s)))
				buf_adds(out, WORD_JOINER);
			break;
		case '*': case '_': case '~':
			/* Before a marker: whether Slack takes U+200B for a blank or not, either the
			 * opening or the closing marker of a pair stops counting as one. */
			if (state == CODE_NONE)
				buf_adds(out, ZWSP);
			buf_addc(out, (char)c);
			break;
		case '\n': case '\t':
			buf_addc(out, flat || state == CODE_INLINE ? ' ' : (char)c);
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				buf_adds(out, REPLACEMENT);
			else
				buf_addc(out, (char)c);
		}
	}
}

/* tmpl_expand's emit: finds out from the literal text so far whether the value lands in a
 * code span, then escapes it. */
struct render {
	size_t scanned;
	enum code state;
	int flat;
};

static void scan_code(const struct buf *b, struct render *r)
{
	while (r->scanned < b->n) {
		const char *p = memchr(b->p + r->scanned, '`', b->n - r->scanned);
		if (!p) {
			r->scanned = b->n;
			return;
		}
		size_t run = backtick_run(p, (size_t)(b->p + b->n - p));
		r->state = code_step(r->state, run);
		r->scanned = (size_t)(p - b->p) + run;
	}
}

static void emit_value(struct buf *out, const char *value, size_t n, void *ctx)
{
	struct render *r = ctx;
	scan_code(out, r);
	escape_value(out, value, n, r->state, r->flat);
	r->scanned = out->n;
}

/* Tidies a rendered text in place of tmp: an empty code span (an empty value) shows as `-`,
 * an empty code block goes; flat, code blocks become inline spans and line breaks " · ". */
static void tidy(struct buf *text, struct buf *tmp, int flat)
{
	buf_reset(tmp);
	for (size_t i = 0; i < text->n;) {
		char c = text->p[i];
		if (c == '`') {
			size_t run = backtick_run(text->p + i, text->n - i);
			if (run == 2)
				buf_adds(tmp, "`-`");
			else if (run != 6)
				buf_add(tmp, text->p + i, flat ? 1 : run);
			i += run;
			continue;
		}
		if (c == '\n' && flat)
			buf_adds(tmp, " \xc2\xb7 ");
		else
			buf_addc(tmp, c);
		i++;
	}
	struct buf swap = *text;
	*text = *tmp;
	*tmp = swap;
}

/* The next unit a cut may not split, at b[i]: a backtick run, an entity, a <...> link or
 * date from a template, a UTF-8 sequence. Sets its bytes and its UTF-16 length. */
static void unit_at(const struct buf *b, size_t i, size_t *bytes, size_t *units)
{
	const char *s = b->p + i;
	size_t left = b->n - i;
	if (*s == '`') {
		*bytes = *units = backtick_run(s, left);
		return;
	}
	if (*s == '&') {
		static const char *const entities[] = { "&amp;", "&lt;", "&gt;" };
		for (size_t e = 0; e < 3; e++) {
			size_t len = strlen(entities[e]);
			if (left >= len && !memcmp(s, entities[e], len)) {
				*bytes = *units = len;
				return;
			}
		}
	}
	if (*s == '<') {
		const char *close = memchr(s, '>', left);
		const char *lf = memchr(s, '\n', left);
		if (close && (!lf || close < lf)) {
			*bytes = *units = (size_t)(close - s) + 1;
			return;
		}
	}
	size_t len = (unsigned char)*s >= 0x80 ? utf8_len((const unsigned char *)s, left) : 1;
	*bytes = len ? len : 1;
	*units = len == 4 ? 2 : 1;
}

/* Cuts b[start..] to at most max UTF-16 units, ending it with an ellipsis and closing the code
 * span the cut is in, so a cut text is still valid and formats as the whole would have. */
static void cut_text(struct buf *b, size_t start, size_t max)
{
	const size_t reserve = 4;	/* the ellipsis and at most 3 backticks */
	size_t units = 0, i = start, safe = start;
	enum code state = CODE_NONE, safe_state = CODE_NONE;
	while (i < b->n) {
		size_t bytes, u;
		unit_at(b, i, &bytes, &u);
		if (units + u > max)
			break;
		units += u;
		if (b->p[i] == '`')
			state = code_step(state, bytes);
		i += bytes;
		if (units <= max - reserve)
			safe = i, safe_state = state;
	}
	if (i >= b->n)
		return;
	b->n = safe;
	buf_adds(b, ELLIPSIS);
	buf_adds(b, closer(safe_state));
}

/* Slack rejects an empty or blank section text. */
static int blank(const struct buf *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (!strchr(" \t\n", b->p[i]))
			return 0;
	return 1;
}

/* Renders e with its kind's template into w->text. tmpl_expand fails only on a malformed
 * escape, which a checked event has none of (slack.h). */
static void render(const struct slack_style *st, const struct slack_event *e, struct slack_work *w,
		   int flat)
{
	struct render r = { .flat = flat };
	buf_reset(&w->text);
	tmpl_expand(&st->tmpl[e->kind], &e->ev, &w->text, &w->value, emit_value, &r);
	tidy(&w->text, &w->value, flat);
	if (blank(&w->text)) {
		buf_reset(&w->text);
		buf_adds(&w->text, "(empty message)");
	}
}

/* The event's time as a Slack date token (shown in each reader's time zone), with the UTC
 * time as its fallback; `format` is Slack's, `fallback` strftime's. Nothing when the time
 * column is not a time. */
static void add_time(struct buf *out, const struct slice *time, const char *format,
		     const char *fallback)
{
	struct timespec ts;
	struct tm tm;
	char text[40];
	if (tsv_parse_time(time->p, time->n, &ts) < 0 || !gmtime_r(&ts.tv_sec, &tm) ||
	    !strftime(text, sizeof text, fallback, &tm))
		return;
	buf_printf(out, "<!date^%lld^%s|%s>", (long long)ts.tv_sec, format, text);
}

static void add_link(struct buf *out, const char *base, const char *path,
		     const struct slice *id, const char *label)
{
	if (out->n)
		buf_adds(out, " \xc2\xb7 ");
	buf_addc(out, '<');
	for (const char *p = base; *p; p++)
		if (*p == '&')
			buf_adds(out, "&amp;");
		else
			buf_addc(out, *p);
	buf_adds(out, path);
	buf_add(out, id->p, id->n);
	buf_printf(out, "|%s>", label);
}

/* The context line under a single event: when, and links into the QMC and the hub. URLs come
 * from config; an id goes into one only when it is a GUID. */
static void context_line(struct buf *out, const struct slack_style *st, const struct event *ev)
{
	buf_reset(out);
	add_time(out, &ev->f[F_TIME], "{date_short_pretty} {time_secs}", "%Y-%m-%d %H:%M:%S UTC");
	if (st->qmc_url && tsv_is_guid(ev->f[F_TASK_ID].p, ev->f[F_TASK_ID].n))
		add_link(out, st->qmc_url, "/reloadtask/edit/", &ev->f[F_TASK_ID], "Open task in QMC");
	if (st->hub_url && tsv_is_guid(ev->f[F_APP_ID].p, ev->f[F_APP_ID].n))
		add_link(out, st->hub_url, "/app/", &ev->f[F_APP_ID], "Open app in hub");
}

static void add_mrkdwn(struct buf *out, const char *type, const struct buf *text)
{
	buf_printf(out, "{\"type\":\"%s\",\"text\":{\"type\":\"mrkdwn\",\"text\":", type);
	json_string(out, text->p, text->n);
	buf_adds(out, "}}");
}

static void add_context(struct buf *out, const struct buf *text)
{
	if (!text->n)
		return;
	buf_adds(out, ",{\"type\":\"context\",\"elements\":[{\"type\":\"mrkdwn\",\"text\":");
	json_string(out, text->p, text->n);
	buf_adds(out, "}]}");
}

/* The keys after the blocks: a legacy webhook's overrides, and no link previews. */
static void add_tail(struct buf *out, const struct slack_style *st)
{
	const char *keys[] = { "username", "icon_emoji", "channel" };
	const char *values[] = { st->username, st->icon_emoji, st->channel };
	for (size_t i = 0; i < 3; i++) {
		if (!values[i])
			continue;
		buf_printf(out, ",\"%s\":", keys[i]);
		json_string(out, values[i], strlen(values[i]));
	}
	buf_adds(out, ",\"unfurl_links\":false,\"unfurl_media\":false}");
}

/* ---- what qsenrich added to a task result (qspipe-events(5)) ---- */

/* The attribute decoded into out; 0 when the event has none (or an empty one). */
static int attr_value(const struct event *ev, const char *name, struct buf *out)
{
	struct slice v;
	buf_reset(out);
	if (!tsv_attr_find(ev, name, strlen(name), &v) || !v.n)
		return 0;
	return tsv_unescape(out, v.p, v.n, NULL) == 0 && out->n;
}

static void add_duration(struct buf *out, const struct buf *ms)
{
	unsigned long long t = strtoull(buf_str((struct buf *)ms), NULL, 10) / 1000;
	if (t >= 3600)
		buf_printf(out, "%llu h %llu min %llu s", t / 3600, t / 60 % 60, t % 60);
	else if (t >= 60)
		buf_printf(out, "%llu min %llu s", t / 60, t % 60);
	else
		buf_printf(out, "%llu s", t);
}

/* A section under the message: duration, node and owner; then the script log's tail in a code
 * block, its last lines kept when it is longer than a section holds. */
static void enrichment_blocks(struct buf *out, const struct event *ev, struct slack_work *w)
{
	struct buf *facts = &w->line, *v = &w->value;
	buf_reset(facts);
	if (attr_value(ev, "exec_duration_ms", v) && tsv_is_decimal(v->p, v->n)) {
		buf_adds(facts, "*Duration:* ");
		add_duration(facts, v);
	}
	if (attr_value(ev, "exec_node", v)) {
		buf_adds(facts, facts->n ? "   *Node:* `" : "*Node:* `");
		escape_value(facts, v->p, v->n, CODE_INLINE, 1);
		buf_addc(facts, '`');
	}
	if (attr_value(ev, "app_owner_name", v) || attr_value(ev, "app_owner", v)) {
		buf_adds(facts, facts->n ? "   *Owner:* " : "*Owner:* ");
		escape_value(facts, v->p, v->n, CODE_NONE, 1);
		if (attr_value(ev, "app_owner_email", v)) {
			buf_adds(facts, " (");
			escape_value(facts, v->p, v->n, CODE_NONE, 1);
			buf_addc(facts, ')');
		}
	}
	if (facts->n) {
		cut_text(facts, 0, SLACK_SECTION_MAX);
		buf_addc(out, ',');
		add_mrkdwn(out, "section", facts);
	}
	if (!attr_value(ev, "script_log_tail", v))
		return;
	buf_reset(&w->text);
	escape_value(&w->text, v->p, v->n, CODE_BLOCK, 0);
	/* 2,900 bytes are at most as many UTF-16 units: the header and fences fit in 3,000 */
	size_t keep = 2900, from = 0;
	if (w->text.n > keep) {
		const char *lf = memchr(w->text.p + w->text.n - keep, '\n', keep);
		from = lf ? (size_t)(lf - w->text.p) + 1 : 0;	/* else cut_text cuts it */
	}
	buf_reset(&w->section);
	buf_adds(&w->section, "*Script log* (last lines)\n```");
	buf_add(&w->section, w->text.p + from, w->text.n - from);
	buf_adds(&w->section, "```");
	cut_text(&w->section, 0, SLACK_SECTION_MAX);
	if (!blank(&w->text)) {
		buf_addc(out, ',');
		add_mrkdwn(out, "section", &w->section);
	}
}

void slack_body_event(struct buf *out, const struct slack_style *st, const struct slack_event *e,
		      struct slack_work *w)
{
	render(st, e, w, 0);
	buf_reset(&w->section);
	buf_add(&w->section, w->text.p, w->text.n);
	cut_text(&w->section, 0, SLACK_SECTION_MAX);
	cut_text(&w->text, 0, SLACK_TEXT_MAX);
	buf_adds(out, "{\"text\":");
	json_string(out, w->text.p, w->text.n);
	buf_adds(out, ",\"blocks\":[");
	add_mrkdwn(out, "section", &w->section);
	enrichment_blocks(out, &e->ev, w);
	context_line(&w->line, st, &e->ev);
	add_context(out, &w->line);
	buf_addc(out, ']');
	add_tail(out, st);
}

/* A digest's lines go 10 to a section, each line its share of the section. */
#define DIGEST_SECTION_LINES 10
#define DIGEST_LINE_MAX (SLACK_SECTION_MAX / DIGEST_SECTION_LINES - 1)

/* Appends the digest's line for e to w->section (after a line break unless first). */
static void digest_line(const struct slack_style *st, const struct slack_event *e, struct slack_work *w)
{
	size_t start = w->section.n;
	if (start)
		buf_addc(&w->section, '\n'), start++;
	add_time(&w->section, &e->ev.f[F_TIME], "{time_secs}", "%H:%M:%S UTC");
	if (w->section.n > start)
		buf_addc(&w->section, ' ');
	render(st, e, w, 1);
	buf_add(&w->section, w->text.p, w->text.n);
	cut_text(&w->section, start, DIGEST_LINE_MAX);
}

/* JSON key order does not matter: the blocks go first, built as the lines are, and the text
 * fallback (header and every line) after them. */
void slack_body_digest(struct buf *out, const struct slack_style *st, const struct slack_event *e,
		       size_t n, struct slack_work *w)
{
	buf_reset(&w->line);
	buf_printf(&w->line, "*%zu Qlik Sense events*", n);
	buf_adds(out, "{\"blocks\":[");
	add_mrkdwn(out, "section", &w->line);
	buf_reset(&w->line);
	buf_printf(&w->line, "%zu Qlik Sense events", n);
	for (size_t i = 0; i < n; i += DIGEST_SECTION_LINES) {
		buf_reset(&w->section);
		for (size_t j = i; j < n && j < i + DIGEST_SECTION_LINES; j++)
			digest_line(st, &e[j], w);
		buf_addc(out, ',');
		add_mrkdwn(out, "section", &w->section);
		buf_addc(&w->line, '\n');
		buf_add(&w->line, w->section.p, w->section.n);
	}
	buf_reset(&w->section);
	add_time(&w->section, &e[0].ev.f[F_TIME], "{date_short_pretty} {time_secs}", "%Y-%m-%d %H:%M:%S UTC");
	if (w->section.n && n > 1) {
		size_t mark = w->section.n;
		buf_adds(&w->section, " \xe2\x80\x93 ");
		size_t dash = w->section.n;
		add_time(&w->section, &e[n - 1].ev.f[F_TIME], "{time_secs}", "%H:%M:%S UTC");
		if (w->section.n == dash)
			w->section.n = mark;	/* the last time is not one */
	}
	add_context(out, &w->section);
	buf_adds(out, "],\"text\":");
	json_string(out, w->line.p, w->line.n);
	add_tail(out, st);
}
