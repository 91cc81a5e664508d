/* slack.c: whatever an event holds, in its columns or its attributes, every message body is
 * valid JSON, and nothing from the event can mention anyone (<!channel>, <@U123>, @here) or
 * make a link. */
#include <stdlib.h>
#include <string.h>

#include "../slack.h"
#include "jsoncheck.h"

static struct slack_style style;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	static char qmc[] = "https://sense.example/qmc", hub[] = "https://sense.example/sense";
	char why[128];
	for (int kind = 0; kind < TSV_NEVENTS; kind++)
		if (slack_style_template(&style, kind, NULL, why, sizeof why))
			abort();
	style.qmc_url = qmc;
	style.hub_url = hub;
	return 0;
}

/* The body must not hold what Slack reads as a mention or a link from event data: the default
 * templates make links only of GUIDs under the configured bases, and one <!date^...> of the
 * event's time. */
static void check_body(const struct buf *b)
{
	if (!jsoncheck_value(b->p, b->n))
		abort();
	for (const char *p = b->p, *end = b->p + b->n; (p = memmem(p, (size_t)(end - p), "<!", 2));
	     p += 2)
		if ((size_t)(end - p) < 7 || memcmp(p, "<!date^", 7))
			abort();
	static const char *const banned[] = { "<@", "<#", "@channel", "@here", "@everyone",
					       "<javascript" };
	for (size_t i = 0; i < sizeof banned / sizeof *banned; i++)
		if (memmem(b->p, b->n, banned[i], strlen(banned[i])))
			abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	static struct buf line, body, attrs;
	static struct slack_work work;
	/* The input, escaped, in every column but time and event, for each event kind: escaped
	 * values pass tsv_check, as the sink runtime requires of what it queues (slack.h). */
	struct slack_event e[TSV_NEVENTS];
	buf_reset(&line);
	tsv_escape(&line, (const char *)data, n);
	/* ... and in every attribute the default templates show, and qsenrich's that task
	 * results show under their message */
	static const char *const names[] = { "service", "log_time", "method", "process_ms",
					      "object_type", "object_id", "exec_node",
					      "app_owner_name", "app_owner_email", "script_log_tail" };
	buf_reset(&attrs);
	tsv_attr_append(&attrs, "exec_duration_ms", "64591", 5);
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		tsv_attr_append(&attrs, names[i], (const char *)data, n);
	for (int kind = 0; kind < TSV_NEVENTS; kind++) {
		e[kind].ev.attrs = (struct slice){ attrs.p + 1, attrs.n - 1 };
		e[kind].kind = kind;
		for (int i = 0; i < NFIELDS; i++)
			e[kind].ev.f[i] = (struct slice){ line.p ? line.p : "", line.n };
		e[kind].ev.f[F_TIME] = (struct slice){ "2026-11-20T23:52:15.123456Z", 27 };
		e[kind].ev.f[F_EVENT] = (struct slice){ tsv_event_names[kind].p, strlen(tsv_event_names[kind].p) };
		buf_reset(&body);
		slack_body_event(&body, &style, &e[kind], &work);
		check_body(&body);
	}
	buf_reset(&body);
	slack_body_digest(&body, &style, e, TSV_NEVENTS < SLACK_DIGEST_MAX ? TSV_NEVENTS : SLACK_DIGEST_MAX, &work);
	check_body(&body);
	return 0;
}
