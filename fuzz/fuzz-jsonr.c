/* jsonr.h: it accepts exactly what a strict validator accepts (unless a limit refuses it),
 * never crashes, and the tree it builds, written back as JSON, parses to the same tree. */
#include <stdlib.h>
#include <string.h>

#include "../json.h"
#include "../jsonr.h"
#include "jsoncheck.h"

/* Writes node i (and what it holds) back as JSON; returns the node after it. */
static int emit(const struct jsonr *j, int i, struct buf *out)
{
	const struct jsonr_node *nd = &j->node[i];
	size_t n;
	const char *s;
	switch (nd->type) {
	case JSONR_NULL: buf_adds(out, "null"); return i + 1;
	case JSONR_FALSE: buf_adds(out, "false"); return i + 1;
	case JSONR_TRUE: buf_adds(out, "true"); return i + 1;
	case JSONR_NUMBER: buf_adds(out, jsonr_num_text(j, i)); return i + 1;
	case JSONR_STRING:
		s = jsonr_str(j, i, &n);
		json_string(out, s, n);
		return i + 1;
	}
	int obj = nd->type == JSONR_OBJECT, k = i + 1;
	buf_addc(out, obj ? '{' : '[');
	for (uint32_t c = 0; c < nd->count; c++) {
		if (c)
			buf_addc(out, ',');
		if (k != (c ? k : jsonr_first(j, i)))
			abort();
		if (obj) {
			s = jsonr_key(j, k, &n);
			json_string(out, s, n);
			buf_addc(out, ':');
		}
		int after = emit(j, k, out);
		int next = jsonr_next(j, k);
		if (c + 1 < nd->count ? next != after : next != -1)
			abort();
		k = after;
	}
	buf_addc(out, obj ? '}' : ']');
	return k;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	static struct jsonr j, j2;
	static struct buf out, out2;
	int r = jsonr_parse(&j, (const char *)data, n);
	int valid = jsoncheck_value((const char *)data, n);
	if ((r == 0 && !valid) || (r < 0 && valid && j.error != JSONR_LIMIT))
		abort();
	if (r < 0) {
		if (j.error_at > n || !j.why[0])
			abort();
		return 0;
	}
	buf_reset(&out);
	if ((size_t)emit(&j, 0, &out) != j.nnode || !jsoncheck_value(out.p, out.n))
		abort();
	if (jsonr_parse(&j2, out.p, out.n) < 0 || j2.nnode != j.nnode)
		abort();
	buf_reset(&out2);
	emit(&j2, 0, &out2);
	if (out2.n != out.n || memcmp(out2.p, out.p, out.n))
		abort();
	/* The lookups on whatever shape came out. */
	long long v;
	for (size_t i = 0; i < j.nnode; i++)
		(void)jsonr_int(&j, (int)i, &v);
	(void)jsonr_path(&j, 0, "operational.lastExecutionResult.status");
	(void)jsonr_path(&j, 0, "");
	(void)jsonr_get(&j, 0, "a");
	return 0;
}
