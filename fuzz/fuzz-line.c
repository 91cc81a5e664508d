/* DESIGN.md 2 and 3: framed-line detection and the 16-column event splitter. */
#include <stdlib.h>
#include <string.h>

#include "../tsv.h"

static int has_tab(struct slice s)
{
	return memchr(s.p, '\t', s.n) != NULL;
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
	if (count != tabs + 1 || (r == 0) != (count == NFIELDS))
		abort();
	/* The vectorized scanner agrees with the plain splitter, and flags exactly the columns
	 * holding bytes that need escaping. */
	struct event scanned;
	unsigned escaped;
	if (tsv_scan_event(line, n, &scanned, &escaped) != count)
		abort();
	for (size_t i = 0; i < (count < NFIELDS ? count : NFIELDS); i++) {
		struct slice a = ev.f[i], b = scanned.f[i];
		if (a.p != b.p || a.n != b.n || !!(escaped >> i & 1) != tsv_needs_escape(a.p, a.n))
			abort();
	}
	if (r == 0) {
		size_t total = NFIELDS - 1;
		for (int i = 0; i < NFIELDS; i++)
			total += ev.f[i].n;
		if (total != n)
			abort();
	}
	return 0;
}
