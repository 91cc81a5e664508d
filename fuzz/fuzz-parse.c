/* qsparse's recognizer (qspipe-events(5)): any line gives either nothing (rejected) or events of
 * exactly 16 well-escaped columns with a known name and a parsable time, then valid attributes,
 * each non-empty, the numeric ones decimal. */
#define main qsparse_main
#include "../qsparse.c"
#undef main

static void check_output(const struct buf *out)
{
	const char *p = out->p, *end = out->p + out->n;
	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		if (!lf)
			abort();
		struct event ev;
		struct timespec ts;
		if (tsv_parse_event(p, (size_t)(lf - p), &ev, NULL))
			abort();
		for (int i = 0; i < NFIELDS; i++)
			if (tsv_check(ev.f[i].p, ev.f[i].n, NULL))
				abort();
		if (tsv_event_index(ev.f[F_EVENT].p, ev.f[F_EVENT].n) < 0 || tsv_parse_time(ev.f[F_TIME].p, ev.f[F_TIME].n, &ts))
			abort();
		if (tsv_check_attrs(ev.attrs.p, ev.attrs.n))
			abort();
		struct slice rest = ev.attrs, name, value;
		while (tsv_attr_next(&rest, &name, &value))
			if (!value.n || (tsv_attr_numeric(name.p, name.n) && !tsv_is_decimal(value.p, value.n)))
				abort();
		p = lf + 1;
	}
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	static struct qsparse q;
	static struct lines none;
	q.quiet = 1;
	q.unknown = n && (data[0] & 1);
	q.in = &none;
	buf_reset(&q.out);
	const char *line = (const char *)data;
	const char *lf = memchr(line, '\n', n);
	parse_line(&q, line, lf ? (size_t)(lf - line) : n, 0);
	check_output(&q.out);
	return 0;
}
