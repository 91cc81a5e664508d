/* httpbody.c: whatever an event holds, json, ndjson and json-array bodies and the bodies of a
 * JSON template are valid JSON (ndjson: each line); any template text compiles or is refused,
 * and expands, without a crash. Input: a template, a NUL byte, the value of every column and
 * attribute. */
#include <stdlib.h>
#include <string.h>

#include "../httpbody.h"
#include "jsoncheck.h"

static void check_lines(const struct buf *b)
{
	const char *p = b->p, *end = b->p + b->n;
	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		if (!lf || !jsoncheck_value(p, (size_t)(lf - p)))
			abort();
		p = lf + 1;
	}
}

static void run(struct httpbody *b, const struct event *ev, size_t n, int lines)
{
	static struct buf out;
	if (httpbody_ready(b, n))
		abort();
	buf_reset(&out);
	if (httpbody_build(b, &out, ev, n) < 0)
		abort();
	if (lines)
		check_lines(&out);
	else if (!jsoncheck_value(out.p, out.n))
		abort();
	httpbody_free(b);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	static struct buf esc, attrs, out;
	const unsigned char *nul = memchr(data, 0, n);
	size_t tlen = nul ? (size_t)(nul - data) : 0;
	const char *value = (const char *)data + (nul ? tlen + 1 : 0);
	size_t vlen = n - (nul ? tlen + 1 : 0);
	buf_reset(&esc);
	tsv_escape(&esc, value, vlen);
	buf_reset(&attrs);
	buf_adds(&attrs, "script_log_tail=");
	buf_add(&attrs, esc.p, esc.n);
	buf_adds(&attrs, "\texec_duration_ms=");
	buf_add(&attrs, esc.p, esc.n);
	struct event ev[3];
	for (int k = 0; k < 3; k++) {
		for (int i = 0; i < NFIELDS; i++)
			ev[k].f[i] = (struct slice){ esc.p ? esc.p : "", esc.n };
		ev[k].attrs = (struct slice){ attrs.p, attrs.n };
	}
	for (int f = HTTPBODY_JSON; f <= HTTPBODY_ARRAY; f++) {
		struct httpbody b = { .format = (enum httpbody_format)f };
		run(&b, ev, f == HTTPBODY_JSON ? 1 : 3, f == HTTPBODY_NDJSON);
	}
	char why[160];
	struct httpbody b = { .format = HTTPBODY_TEMPLATE };
	if (httpbody_template(&b, "{{\"m\":\"{message}\",\"u\":\"{user}\",\"t\":\"{script_log_tail}\","
			      "\"e\":{json},\"x\":\"{nothere}\"}}", why, sizeof why) < 0 ||
	    httpbody_literal(&b.head, "[{{\"logs\":[", why, sizeof why) < 0 ||
	    httpbody_literal(&b.sep, ",", why, sizeof why) < 0 ||
	    httpbody_literal(&b.tail, "]}}]", why, sizeof why) < 0)
		abort();
	run(&b, ev, 3, 0);
	/* The fuzzed template: compiled or refused, and expanded raw, without a crash. */
	char *src = malloc(tlen + 1);
	if (!src)
		abort();
	memcpy(src, data, tlen);
	src[tlen] = 0;
	struct httpbody t = { .format = HTTPBODY_TEMPLATE, .raw = 1 };
	if (httpbody_template(&t, src, why, sizeof why) == 0 && !httpbody_ready(&t, 2)) {
		buf_reset(&out);
		if (httpbody_build(&t, &out, ev, 2) < 0)
			abort();
	}
	httpbody_free(&t);
	free(src);
	return 0;
}
