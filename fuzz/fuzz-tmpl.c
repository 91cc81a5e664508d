/* tmpl.h: any template source compiles or is refused with a reason; expanding any event (its
 * attributes reached as {name}) with a JSON-escaping emitter gives a valid JSON string body.
 * Input: template NUL event-line. */
#include <stdlib.h>
#include <string.h>

#include "../json.h"
#include "../tmpl.h"
#include "jsoncheck.h"

static void emit_json(struct buf *out, const char *s, size_t n, void *ctx)
{
	(void)ctx;
	json_escape(out, s, n);
}

/* Template text that needs no JSON escaping of its own. */
static int plain(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	static struct buf out, scratch, src;
	const unsigned char *nul = memchr(data, 0, n);
	size_t srclen = nul ? (size_t)(nul - data) : n;
	buf_reset(&src);
	buf_add(&src, data, srclen);
	struct tmpl t;
	char why[128];
	if (tmpl_compile(&t, buf_str(&src), why, sizeof why)) {
		if (!why[0])
			abort();
		return 0;
	}
	struct event ev;
	const char *line = nul ? (const char *)nul + 1 : "";
	size_t linelen = nul ? n - srclen - 1 : 0;
	if (tsv_parse_event(line, linelen, &ev, NULL) == 0) {
		buf_reset(&out);
		buf_addc(&out, '"');
		if (tmpl_expand(&t, &ev, &out, &scratch, emit_json, NULL) == 0 && plain(src.p, src.n)) {
			/* Literal text is the admin's; what the event adds must never break the string. */
			buf_addc(&out, '"');
			if (!jsoncheck_value(out.p, out.n))
				abort();
		}
	}
	tmpl_free(&t);
	return 0;
}
