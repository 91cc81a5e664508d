/* qspipe-events(5): framed-line detection, the 16-column event splitter and attributes. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../tsv.h"

static int has_tab(struct slice s)
{
	return memchr(s.p, '\t', s.n) != NULL;
}

/* A valid tail: its attributes iterate back to exactly its bytes, each found by its name; and
 * appending them again gives the same tail. */
static void attrs_agree(const struct event *ev)
{
	if (tsv_check_attrs(ev->attrs.p, ev->attrs.n))
		return;
	struct slice rest = ev->attrs, name, value, found;
	size_t total = 0, count = 0;
	while (tsv_attr_next(&rest, &name, &value)) {
		total += name.n + 1 + value.n + (count++ ? 1 : 0);
		if (!tsv_attr_find(ev, name.p, name.n, &found) || found.p != value.p || found.n != value.n)
			abort();
		/* a name one byte shorter is another name: found only if the tail has it too */
		if (name.n > 1 && tsv_attr_find(ev, name.p, name.n - 1, &found) &&
		    (found.p[-1] != '=' || memcmp(found.p - name.n, name.p, name.n - 1) ||
		     (found.p - name.n != ev->attrs.p && found.p[-(ptrdiff_t)name.n - 1] != '\t')))
			abort();
		if (!name.n || name.n > TSV_ATTR_NAME_MAX || tsv_field_index(name.p, name.n) >= 0 ||
		    tsv_check(value.p, value.n, NULL) < 0)
			abort();
	}
	if (total != ev->attrs.n || count > TSV_ATTRS_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	const char *line = (const char *)data;
	struct framed fr;
	int kind = tsv_parse_framed(line, n, &fr);
	if (kind == 1) {
		if (has_tab(fr.time) || has_tab(fr.source) || has_tab(fr.port) || has_tab(fr.payload))
			abort();
		if (fr.time.n != tsv_framed_time_len(line, n))
			abort();
	} else if (kind == 0) {
		if (fr.payload.p != line || fr.payload.n != n || has_tab(fr.payload))
			abort();
	}
	struct event ev;
	size_t count;
	int r = tsv_parse_event(line, n, &ev, &count);
	size_t tabs = 0;
	for (size_t i = 0; i < n; i++)
		tabs += line[i] == '\t';
	if (count != tabs + 1 || (r == 0) != (count >= NFIELDS))
		abort();
	/* The vectorized scanner agrees with the plain splitter, and flags exactly the columns
	 * holding bytes that need escaping. */
	struct event scanned, counted;
	unsigned escaped, escaped_counted;
	const char *why_scanned;
	if (tsv_scan_event(line, n, &scanned, &escaped, NULL, &why_scanned) != count ||
	    tsv_scan_event(line, n, &counted, &escaped_counted, NULL, NULL) != count ||
	    escaped != escaped_counted || (r < 0 && why_scanned))
		abort();
	/* with the tails of earlier inputs, twice: the second time its own names are known */
	static struct tsv_tails tails;
	for (int i = 0; i < 2; i++) {
		const char *why_memo;
		if (tsv_scan_event(line, n, &counted, &escaped_counted, &tails, &why_memo) != count ||
		    escaped_counted != escaped || !why_memo != !why_scanned ||
		    (why_memo && strcmp(why_memo, why_scanned)))
			abort();
	}
	for (size_t i = 0; i < (count < NFIELDS ? count : NFIELDS); i++) {
		struct slice a = ev.f[i], b = scanned.f[i];
		if (a.p != b.p || a.n != b.n || !!(escaped >> i & 1) != tsv_needs_escape(a.p, a.n))
			abort();
	}
	if (r == 0) {
		size_t total = NFIELDS - 1;
		for (int i = 0; i < NFIELDS; i++)
			total += ev.f[i].n;
		if (count > NFIELDS)
			total += 1 + ev.attrs.n;
		int special = 0;	/* the tail holds a byte to escape other than its TABs */
		for (size_t i = 0; i < ev.attrs.n; i++)
			special |= ev.attrs.p[i] != '\t' && tsv_escape_needed[(unsigned char)ev.attrs.p[i]];
		if (total != n || (count > NFIELDS) != (ev.attrs.p != NULL) ||
		    scanned.attrs.p != ev.attrs.p || scanned.attrs.n != ev.attrs.n ||
		    special != !!(escaped >> NFIELDS & 1))
			abort();
		/* the check in the scan's pass says what the plain check says */
		const char *why = tsv_check_attrs(ev.attrs.p, ev.attrs.n);
		if (!why != !why_scanned || (why && strcmp(why, why_scanned)))
			abort();
		attrs_agree(&ev);
	}
	return 0;
}
