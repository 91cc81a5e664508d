/* teams.c: whatever an event holds, every card is valid JSON under Teams' size limit, and
 * nothing from the event can format, make a link, an autolink, a mention, an HTML tag or an
 * entity. */
#include <stdlib.h>
#include <string.h>

#include "../teams.h"
#include "jsoncheck.h"

/* Every "://" in a body must begin one of the card's own URLs: a JSON string "http... (the
 * schema, QMC and hub links from the style below). */
static void check_links(const struct buf *b)
{
	for (const char *p = b->p, *end = b->p + b->n; (p = memmem(p, (size_t)(end - p), "://", 3)); p += 3) {
		size_t back = p - b->p;
		int ok = (back >= 6 && !memcmp(p - 6, "\"https", 6)) || (back >= 5 && !memcmp(p - 5, "\"http", 5));
		if (!ok || (back >= 7 && p[-7] == '\\'))
			abort();
	}
}

static void check_body(const struct buf *b)
{
	if (!jsoncheck_value(b->p, b->n) || b->n > TEAMS_BODY_MAX)
		abort();
	check_links(b);
	static const char *const banned[] = { "**", "](", "__", "`", "\\\\*", "\\\\_", "\\\\[" };
	for (size_t i = 0; i < sizeof banned / sizeof *banned; i++)
		if (memmem(b->p, b->n, banned[i], strlen(banned[i])))
			abort();
	for (size_t i = 0; i + 1 < b->n; i++) {
		char c = b->p[i], d = b->p[i + 1];
		int alnum = (d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z') || (d >= '0' && d <= '9');
		if (c == '<' && (alnum || d == '/' || d == '!' || d == '?'))
			abort();	/* a tag, a comment, an autolink */
		if (c == '&' && (alnum || d == '#'))
			abort();	/* an entity */
		if (c == '@' && alnum && (i == 0 || b->p[i - 1] != '"'))
			abort();	/* a mail autolink ("@type" is a MessageCard key) */
		if (c == '[' && d != '{' && d != '"' && d != '+' && d != '\xe2')
			abort();	/* link text: a value's '[' is followed by U+200B; "[+N more" is ours */
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	static struct buf esc, attrs, body;
	static struct teams_work work;
	static char qmc[] = "https://sense.example/qmc", hub[] = "https://sense.example/hub";
	if (n < 1)
		return 0;
	struct teams_style st = { .format = data[0] & 1 ? TEAMS_MESSAGECARD : TEAMS_ADAPTIVE,
				  .qmc_url = qmc, .hub_url = hub };
	size_t count = 1 + (data[0] >> 1) % TEAMS_DIGEST_MAX;
	data++, n--;
	buf_reset(&esc);
	tsv_escape(&esc, (const char *)data, n);
	static const char *const names[] = { "script_log_tail", "exec_node", "exec_status",
					     "app_owner_name", "app_owner_email", "app_owner" };
	buf_reset(&attrs);
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		buf_adds(&attrs, i ? "\t" : "");
		buf_adds(&attrs, names[i]);
		buf_addc(&attrs, '=');
		buf_add(&attrs, esc.p, esc.n);
	}
	buf_adds(&attrs, "\texec_duration_ms=12345678.5");
	struct teams_event e[TEAMS_DIGEST_MAX];
	for (size_t k = 0; k < count; k++) {
		int kind = (int)(k % TSV_NEVENTS);
		e[k].kind = kind;
		for (int i = 0; i < NFIELDS; i++)
			e[k].ev.f[i] = (struct slice){ esc.p ? esc.p : "", esc.n };
		e[k].ev.f[F_TIME] = (struct slice){ "2026-11-20T23:52:15.123456Z", 27 };
		e[k].ev.f[F_EVENT] = (struct slice){ tsv_event_names[kind].p, strlen(tsv_event_names[kind].p) };
		e[k].ev.f[F_TASK_ID] = (struct slice){ "0b0f5f5e-1111-2222-3333-444455556666", 36 };
		e[k].ev.attrs = (struct slice){ attrs.p, attrs.n };
	}
	buf_reset(&body);
	teams_body(&body, &st, e, 1, &work);
	check_body(&body);
	buf_reset(&body);
	teams_body(&body, &st, e, count, &work);
	check_body(&body);
	return 0;
}
