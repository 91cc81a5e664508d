/* conf.c over inih: any file content loads or is refused with FILE:LINE, never crashes. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../conf.h"

static const char *known_keys(void *tool, const char *key, const char *value)
{
	int *count = tool;
	(*count)++;
	int on;
	if (!strcmp(key, "flag"))
		return conf_bool(value, &on) ? "not yes or no" : NULL;
	return strlen(key) == 1 ? NULL : conf_unknown_key;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	static int fd = -1;
	if (fd < 0 && (fd = memfd_create("conf", 0)) < 0)
		return 0;
	if (ftruncate(fd, 0) || pwrite(fd, data, n, 0) != (ssize_t)n)
		return 0;
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	int count = 0;
	conf_load(path, "qsmqtt", known_keys, &count);
	return 0;
}
