/* json.h: any bytes become valid JSON; well-formed UTF-8 round-trips exactly, and an event
 * (its attributes too, checked or not, numeric ones as numbers) becomes a valid object. */
#include <stdlib.h>
#include <string.h>

#include "../json.h"
#include "jsoncheck.h"

static int valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t len = utf8_len(s + i, n - i);
		if (!len)
			return 0;
		i += len;
	}
	return 1;
}

static void check_string(const unsigned char *data, size_t n)
{
	static struct buf out, dec;
	buf_reset(&out);
	buf_reset(&dec);
	json_string(&out, (const char *)data, n);
	const char *p = out.p;
	if (jsoncheck_string(&p, out.p + out.n, &dec) || p != out.p + out.n)
		abort();
	if (valid_utf8(data, n) && (dec.n != n || (n && memcmp(dec.p, data, n))))
		abort();
}

static void check_event(const unsigned char *data, size_t n)
{
	static struct buf out, scratch;
	struct event ev;
	if (tsv_parse_event((const char *)data, n, &ev, NULL))
		return;
	buf_reset(&out);
	if (json_event(&out, &ev, &scratch) == 0 && !jsoncheck_value(out.p, out.n))
		abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	check_string(data, n);
	check_event(data, n);
	return 0;
}
