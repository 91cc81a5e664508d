/* glob.c: any pattern compiles or is refused with a reason; matching never crashes, and for
 * ASCII patterns without sets it agrees with fnmatch(3) (no escapes, case folded).
 * Input: pattern NUL subject. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "../glob.h"

static int plain_ascii(const char *s, size_t n, int sets_too)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80 || !s[i] || (!sets_too && (s[i] == '[' || s[i] == ']')))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	const char *in = (const char *)data;
	const char *nul = memchr(in, 0, n);
	size_t patlen = nul ? (size_t)(nul - in) : n;
	const char *subj = nul ? nul + 1 : "";
	size_t subjlen = nul ? n - patlen - 1 : 0;
	struct glob g;
	char why[128] = "";
	if (glob_compile(&g, in, patlen, why, sizeof why)) {
		if (!why[0])
			abort();
		return 0;
	}
	struct glob_subject s;
	glob_subject(&s, subj, subjlen);
	int got = glob_match(&g, &s);
	if (plain_ascii(in, patlen, 0) && plain_ascii(subj, subjlen, 1)) {
		char *pat = strndup(in, patlen), *str = strndup(subj, subjlen);
		int want = fnmatch(pat, str, FNM_NOESCAPE | FNM_CASEFOLD) == 0;
		free(pat);
		free(str);
		if (got != want)
			abort();
	}
	glob_free(&g);
	return 0;
}
