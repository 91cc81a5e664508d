/* Test driver for tsv's attribute API (t/0250): each stdin line is an event line with \t
 * written as a real TAB; prints what the API makes of it, one line per line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tsv.h"

static void line(const char *p, size_t n)
{
	struct event ev, sc, counted;
	size_t nf;
	unsigned esc, esc_counted;
	const char *scan_why;
	int r = tsv_parse_event(p, n, &ev, &nf);
	/* the scan that checks the tail and the one that only counts it see the same line */
	size_t ns = tsv_scan_event(p, n, &sc, &esc, NULL, &scan_why);
	size_t nc = tsv_scan_event(p, n, &counted, &esc_counted, NULL, NULL);
	/* twice with the tails of the lines before: the second time its own names are known */
	static struct tsv_tails tails;
	const char *memo_why[2];
	unsigned esc_memo[2];
	size_t nm[2];
	for (int i = 0; i < 2; i++)
		nm[i] = tsv_scan_event(p, n, &counted, &esc_memo[i], &tails, &memo_why[i]);
	for (int i = 0; i < 2; i++)
		if (nm[i] != nf || esc_memo[i] != esc || !memo_why[i] != !scan_why ||
		    (scan_why && strcmp(scan_why, memo_why[i])))
			printf("memo disagrees ");
	if (ns != nf || nc != nf || esc != esc_counted || sc.attrs.p != ev.attrs.p ||
	    sc.attrs.n != ev.attrs.n || (r == 0 && (sc.f[F_SOURCE].n != ev.f[F_SOURCE].n)) ||
	    (r < 0 && scan_why))
		printf("scan disagrees ");
	printf("%d %zu", r, nf);
	if (r < 0) {
		putchar('\n');
		return;
	}
	printf(" source=[%.*s] esc=%d", (int)ev.f[F_SOURCE].n, ev.f[F_SOURCE].p, !!(esc >> NFIELDS & 1));
	const char *why = tsv_check_attrs(ev.attrs.p, ev.attrs.n);
	if (!why != !scan_why || (why && strcmp(why, scan_why)))
		printf(" scan says %s,", scan_why ? scan_why : "valid");
	printf(" %s", why ? why : "valid");
	struct slice rest = ev.attrs, name, value;
	while (tsv_attr_next(&rest, &name, &value))
		printf(" [%.*s]=[%.*s]", (int)name.n, name.p, (int)value.n, value.p);
	if (tsv_attr_find(&ev, "service", 7, &value))
		printf(" service:%.*s", (int)value.n, value.p);
	putchar('\n');
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "decimal"))
		return !tsv_is_decimal(argv[2], strlen(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "numeric"))
		return !tsv_attr_numeric(argv[2], strlen(argv[2]));
	if (argc == 4 && !strcmp(argv[1], "append")) {
		struct buf b = { 0 };
		tsv_attr_append(&b, argv[2], argv[3], strlen(argv[3]));
		fwrite(b.p, 1, b.n, stdout);
		buf_free(&b);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "events")) {
		for (int i = 0; i < TSV_NEVENTS; i++)
			printf("%d %s %d\n", i, tsv_event_names[i].p,
			       tsv_event_index(tsv_event_names[i].p, tsv_event_names[i].n));
		return 0;
	}
	char *l = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&l, &cap, stdin)) > 0) {
		if (l[len - 1] == '\n')
			len--;
		line(l, (size_t)len);
	}
	free(l);
	return 0;
}
