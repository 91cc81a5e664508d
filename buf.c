#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"
#include "diag.h"

void buf_reserve(struct buf *b, size_t extra)
{
	if (b->cap - b->n >= extra)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->n < extra) {
		if (cap > (size_t)-1 / 2)
			die(1, "buffer of %zu bytes: too large", b->n + extra);
		cap *= 2;
	}
	char *p = realloc(b->p, cap);
	if (!p)
		die(1, "allocating %zu bytes: out of memory", cap);
	b->p = p;
	b->cap = cap;
}

void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		die(1, "formatting '%s' failed", fmt);
	buf_reserve(b, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->n += (size_t)n;
}

const char *buf_str(struct buf *b)
{
	buf_reserve(b, 1);
	b->p[b->n] = 0;
	return b->p;
}

int buf_write_fd(struct buf *b, int fd)
{
	size_t done = 0;
	while (done < b->n) {
		ssize_t w = write(fd, b->p + done, b->n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int err = errno;
			memmove(b->p, b->p + done, b->n - done);
			b->n -= done;
			errno = err;
			return -1;
		}
		done += (size_t)w;
	}
	b->n = 0;
	return 0;
}
