/* buf: a growable byte buffer, reused across lines so the hot paths do not allocate. */
#ifndef BUF_H
#define BUF_H
#include <stddef.h>
#include <string.h>

struct buf {
	char *p;
	size_t n, cap;
};

void buf_reserve(struct buf *b, size_t extra);
void buf_free(struct buf *b);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* NUL-terminates without counting the NUL in n. */
const char *buf_str(struct buf *b);
/* Writes all of b to fd (retrying short writes and EINTR) and empties it; -1 with errno set. */
int buf_write_fd(struct buf *b, int fd);

static inline void buf_reset(struct buf *b) { b->n = 0; }

static inline void buf_add(struct buf *b, const void *s, size_t n)
{
	if (b->cap - b->n < n)
		buf_reserve(b, n);
	if (n)
		memcpy(b->p + b->n, s, n);
	b->n += n;
}

static inline void buf_addc(struct buf *b, char c)
{
	if (b->n == b->cap)
		buf_reserve(b, 1);
	b->p[b->n++] = c;
}

static inline void buf_adds(struct buf *b, const char *s) { buf_add(b, s, strlen(s)); }

#endif
