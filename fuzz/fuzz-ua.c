/* ua.c: any bytes as a user agent (uap-core's regexes from Debian's package) classify without
 * crashing, within the match limits; every value fits its field, a version only with its
 * family; a second call (from the cache) gives the same. */
#include <stdlib.h>
#include <string.h>

#include "../ua.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	static struct ua_db *db;
	static int tried;
	if (!tried) {
		char why[256];
		tried = 1;
		db = ua_open(UA_REGEXES_DEFAULT, why, sizeof why);
		if (!db)
			abort();	/* scripts/deps installs uap-core */
	}
	struct ua_result a = *ua_classify(db, (const char *)data, n);
	if (!memchr(a.browser, 0, sizeof a.browser) || !memchr(a.os, 0, sizeof a.os) ||
	    !memchr(a.os_version, 0, sizeof a.os_version))
		abort();
	if ((!a.os[0] && a.os_version[0]) || !strcmp(a.browser, "Other") || !strcmp(a.os, "Other"))
		abort();
	const struct ua_result *b = ua_classify(db, (const char *)data, n);
	if (memcmp(&a, b, sizeof a) || a.len[0] != strlen(a.browser) || a.len[3] != strlen(a.os_version))
		abort();
	return 0;
}
