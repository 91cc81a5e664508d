#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "lines.h"

/* Room for a whole maximal line plus a block read behind it. */
#define LINES_BUF (LINES_MAX + 64 * 1024)

/* A pipe of 64 KiB holds 1.7 ms of events at 150,000/s: a reader descheduled a little longer
 * stops the whole pipeline back to udpcat, whose socket then overflows. 1 MiB (pipe-max-size,
 * the most an unprivileged process may ask for) holds 30 ms per stage. */
#define PIPE_WANT (1024 * 1024)

static void grow_pipe(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode))
		return;	/* not a pipe (or no fd, which the first read reports) */
	/* EPERM: over pipe-max-size or the user's pipe quota; the pipe just keeps its size */
	if (fcntl(fd, F_SETPIPE_SZ, PIPE_WANT) < 0 && errno != EPERM && errno != EBUSY)
		warnx("growing input pipe to %d bytes: %s", PIPE_WANT, strerror(errno));
}

void lines_init(struct lines *lr, int fd, void (*before_read)(void *), void *ctx)
{
	grow_pipe(fd);
	*lr = (struct lines){ .fd = fd, .before_read = before_read, .ctx = ctx, .tee_r = -1,
			      .tee_w = -1, .null_fd = -1 };
	lr->buf = malloc(LINES_BUF);
	if (!lr->buf)
		die(1, "allocating a %d-byte input buffer: out of memory", LINES_BUF);
}

void lines_free(struct lines *lr)
{
	if (lr->hold) {
		lines_commit(lr);
		close(lr->tee_r);
		close(lr->tee_w);
		close(lr->null_fd);
		lr->hold = 0;
	}
	free(lr->buf);
	lr->buf = NULL;
}

int lines_hold(struct lines *lr)
{
	struct stat st;
	int p[2];
	if (fstat(lr->fd, &st) < 0 || !S_ISFIFO(st.st_mode))
		return -1;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		warnx("lines: pipe: %s (reading without holding)", strerror(errno));
		return -1;
	}
	int cap = fcntl(p[1], F_SETPIPE_SZ, PIPE_WANT);
	if (cap < 0)
		cap = fcntl(p[1], F_GETPIPE_SZ);
	lr->null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (cap <= 0 || lr->null_fd < 0) {
		warnx("lines: setting up the hold: %s (reading without holding)", strerror(errno));
		close(p[0]);
		close(p[1]);
		if (lr->null_fd >= 0)
			close(lr->null_fd);
		lr->null_fd = -1;
		return -1;
	}
	lr->tee_r = p[0];
	lr->tee_w = p[1];
	lr->tee_cap = (size_t)cap;
	lr->hold = 1;
	return 0;
}

/* Takes n bytes, already copied, out of the input pipe. */
static void consume(struct lines *lr, size_t n)
{
	char scratch[4096];
	while (n) {
		ssize_t r = splice(lr->fd, NULL, lr->null_fd, NULL, n, SPLICE_F_NONBLOCK);
		if (r < 0 && errno == EINVAL)
			r = read(lr->fd, scratch, n < sizeof scratch ? n : sizeof scratch);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {	/* cannot be: the bytes were there */
			warnx("lines: consuming input: %s", r < 0 ? strerror(errno) : "end of input");
			break;
		}
		n -= (size_t)r;
		lr->uncommitted -= (size_t)r;
	}
}

void lines_commit(struct lines *lr)
{
	size_t pending = lr->end - lr->start;	/* not returned yet: stays in the pipe */
	if (lr->hold && lr->uncommitted > pending)
		consume(lr, lr->uncommitted - pending);
}

/* fill for hold mode: copies (tee) what the pipe holds behind the bytes already copied. */
static int fill_hold(struct lines *lr, size_t room)
{
	if (lr->uncommitted > lr->tee_cap / 2)	/* a line too long to hold */
		consume(lr, lr->uncommitted);
	size_t want = lr->uncommitted + room;
	if (want > lr->tee_cap)
		want = lr->tee_cap;
	ssize_t n = tee(lr->fd, lr->tee_w, want, SPLICE_F_NONBLOCK);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? LINES_AGAIN : LINES_ERR;
	if (n == 0) {
		lr->eof = 1;
		return LINES_EOF;
	}
	/* the bytes held already come again first: they are the same, read over them */
	char *at = lr->buf + lr->end - lr->uncommitted;
	size_t got = 0;
	while (got < (size_t)n) {
		ssize_t r = read(lr->tee_r, at + got, (size_t)n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return LINES_ERR;
		got += (size_t)r;
	}
	if ((size_t)n <= lr->uncommitted) {
		/* nothing behind a cut line: let it go, or the pipe stays readable for ever */
		consume(lr, lr->uncommitted);
		return LINES_AGAIN;
	}
	lr->end += (size_t)n - lr->uncommitted;
	lr->uncommitted = (size_t)n;
	return LINES_OK;
}

int lines_buffered(const struct lines *lr)
{
	const char *p = lr->buf + lr->start, *end = lr->buf + lr->end;
	const char *lf = memchr(p, '\n', (size_t)(end - p));
	if (lf && lr->skipping)	/* that LF ends the rest of an overlong line */
		lf = memchr(lf + 1, '\n', (size_t)(end - lf - 1));
	return lf != NULL;
}

/* Reads more input behind what is buffered; returns as lines_next does, LINES_OK on data. */
static int fill(struct lines *lr)
{
	if (lr->before_read)
		lr->before_read(lr->ctx);
	lines_commit(lr);
	if (lr->start > 0) {
		memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
		lr->end -= lr->start;
		lr->start = 0;
	}
	size_t room = LINES_BUF - lr->end;
	if (lr->read_max && room > lr->read_max)
		room = lr->read_max;
	if (lr->hold)
		return fill_hold(lr, room);
	ssize_t r = read(lr->fd, lr->buf + lr->end, room);
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? LINES_AGAIN : LINES_ERR;
	if (r == 0) {
		lr->eof = 1;
		return LINES_EOF;
	}
	lr->end += (size_t)r;
	return LINES_OK;
}

/* Drops input up to and including the next LF: the rest of an overlong line. */
static int skip_rest(struct lines *lr)
{
	for (;;) {
		char *lf = memchr(lr->buf + lr->start, '\n', lr->end - lr->start);
		if (lf) {
			lr->start = (size_t)(lf + 1 - lr->buf);
			lr->skipping = 0;
			return LINES_OK;
		}
		lr->start = lr->end;
		int r = fill(lr);
		if (r != LINES_OK)
			return r;
	}
}

int lines_next(struct lines *lr, char **line, size_t *len)
{
	lr->overlong = 0;
	if (lr->skipping) {
		int r = skip_rest(lr);
		if (r != LINES_OK)
			return r;
	}
	size_t seen = 0;	/* bytes after start known to hold no LF */
	for (;;) {
		char *from = lr->buf + lr->start + seen;
		char *lf = memchr(from, '\n', lr->end - lr->start - seen);
		if (lf) {
			*line = lr->buf + lr->start;
			*len = (size_t)(lf - *line);
			lr->start = (size_t)(lf + 1 - lr->buf);
			lr->lineno++;
			if (*len > LINES_MAX) {
				*len = LINES_MAX;
				lr->overlong = 1;
			}
			return LINES_OK;
		}
		seen = lr->end - lr->start;
		if (seen > LINES_MAX || (lr->eof && seen)) {
			/* Overlong, or the last line without LF: hand out what there is. */
			*line = lr->buf + lr->start;
			*len = seen < LINES_MAX ? seen : LINES_MAX;
			lr->overlong = lr->skipping = seen > LINES_MAX;
			lr->start += *len;
			lr->lineno++;
			return LINES_OK;
		}
		if (lr->eof)
			return LINES_EOF;
		int r = fill(lr);
		if (r == LINES_ERR || r == LINES_AGAIN)
			return r;
	}
}
