/* ua: a browser's user agent string named the way uap-core's regexes.yaml names it (browser
 * family and major version, OS family and version), matched with PCRE2. The user agent is
 * untrusted: any bytes, any length; a match is bounded in length and in backtracking, so no
 * string can make it slow or make it fail. Results are cached per string (a site has few
 * distinct browsers), so a repeated user agent costs one hash and one compare. */
#ifndef UA_H
#define UA_H
#include <stddef.h>

/* Debian's uap-core package puts it here. */
#define UA_REGEXES_DEFAULT "/usr/share/uap-core/regexes.yaml"

/* Each value NUL-terminated, cut to fit, empty when not known ("Other" is not known). */
struct ua_result {
	char browser[96], browser_major[16];
	char browser_minor[16], browser_patch[16];
	char os[96], os_major[16], os_minor[16], os_patch[16];
	/* ua_os_version of qspipe-events(5): major, or major.minor when the OS has a minor. */
	char os_version[34];
	/* strlen of browser, browser_major, os, os_version */
	unsigned char len[4];
	/* The known ones as event attributes, ready to append to a line (qspipe-events(5)):
	 * "\tua_browser=...\tua_browser_major=...\tua_os=...\tua_os_version=...", each value
	 * escaped, only the non-empty ones, a version only with its family; "" when none. Made
	 * once per agent, so a writer appends it with one copy. */
	char attrs[800];
	size_t attrs_len;
};

struct ua_db;
/* Reads regexes.yaml at path. NULL with the reason in why (file missing or unreadable, not
 * YAML, no parsers in it). Regexes are compiled when first needed, so opening is cheap. */
struct ua_db *ua_open(const char *path, char *why, size_t whylen);
void ua_close(struct ua_db *db);
/* Classifies the n bytes at s (not NUL-terminated); never fails. The result is the db's,
 * valid until the next call (it lives in the cache: no copy on the hot path). */
const struct ua_result *ua_classify(struct ua_db *db, const char *s, size_t n);
/* Regexes of the file that PCRE2 did not accept (each is skipped, as if absent). */
size_t ua_bad_regexes(const struct ua_db *db);

#endif
