/* lines: reads LF-terminated lines from a file descriptor in large blocks, without copying. */
#ifndef LINES_H
#define LINES_H
#include <stddef.h>

/* Longest line kept whole: a 65,507-byte datagram escaped (4 bytes a byte at most) with its
 * framing fits. A longer line is returned cut, with `overlong` set, and its rest skipped. */
#define LINES_MAX (1024 * 1024)

struct lines {
	int fd;
	char *buf;
	size_t start, end;
	int eof;
	unsigned long lineno;	/* of the line last returned, from 1 */
	int overlong;		/* the line last returned was longer than LINES_MAX, and cut */
	int skipping;		/* the rest of that line is still to be dropped */
	size_t read_max;	/* bytes one read(2) may bring at most; 0: as many as fit */
	/* lines_hold: input bytes are copied out of the pipe (tee(2)) and consumed only by
	 * lines_commit, so a reader killed before it commits loses nothing from the pipe */
	int hold, tee_r, tee_w, null_fd;
	size_t tee_cap;		/* the private pipe's size */
	size_t uncommitted;	/* bytes at the end of buf still in the input pipe */
	/* Called before every read(2) that may block: where a tool flushes its output, so that
	 * output goes out once per batch of input and never waits for the next one. */
	void (*before_read)(void *ctx);
	void *ctx;
};

enum { LINES_ERR = -1, LINES_EOF = 0, LINES_OK = 1, LINES_AGAIN = 2 };

void lines_init(struct lines *lr, int fd, void (*before_read)(void *), void *ctx);
void lines_free(struct lines *lr);
/* LINES_OK with *line (not NUL-terminated, valid until the next call) and *len without the LF;
 * LINES_EOF (a last line without LF is still returned first); LINES_AGAIN when fd is
 * non-blocking and has nothing more now; LINES_ERR with errno set (EINTR included). */
int lines_next(struct lines *lr, char **line, size_t *len);
/* Hold mode, for an input pipe that outlives the reader (held by its supervisor): the bytes of
 * the lines returned stay in the pipe until lines_commit (called, too, before each read that
 * lines_next makes, after before_read): a reader killed between reading lines and having made
 * them safe finds them again when restarted (at least once). A line cut by the read stays in
 * the pipe until its end arrives, except when nothing follows it for a read (which would
 * otherwise make the pipe readable for ever) or it is longer than half the private pipe.
 * -1 (and no hold) when fd is not a pipe. */
int lines_hold(struct lines *lr);
/* Consumes from the pipe the bytes of every line returned so far. */
void lines_commit(struct lines *lr);
/* Whether a complete line is already buffered (no read needed to return it; the rest of an
 * overlong line being skipped is not one). */
int lines_buffered(const struct lines *lr);

#endif
