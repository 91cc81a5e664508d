/* qspipe-events(5) escaping: round-trips every byte string; decoding never accepts what tsv_check
 * rejects as an escape, and what decodes re-escapes to the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "../tsv.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	static struct buf esc, dec, again;
	const char *s = (const char *)data;
	size_t bad;

	buf_reset(&esc);
	buf_reset(&dec);
	tsv_escape(&esc, s, n);
	for (size_t i = 0; i < esc.n; i++)
		if ((unsigned char)esc.p[i] < 0x20 || esc.p[i] == 0x7f)
			abort();
	if (tsv_check(esc.p, esc.n, &bad) || tsv_unescape(&dec, esc.p, esc.n, &bad))
		abort();
	if (dec.n != n || (n && memcmp(dec.p, s, n)))
		abort();

	buf_reset(&dec);
	int checked = tsv_check(s, n, &bad);
	int decoded = tsv_unescape(&dec, s, n, &bad);
	if (checked == 0 && decoded != 0)
		abort();
	if (decoded == 0) {
		buf_reset(&esc);
		buf_reset(&again);
		tsv_escape(&esc, dec.p, dec.n);
		if (tsv_unescape(&again, esc.p, esc.n, &bad) || again.n != dec.n ||
		    (dec.n && memcmp(again.p, dec.p, dec.n)))
			abort();
	}
	return 0;
}
