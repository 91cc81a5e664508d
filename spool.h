/* spool: the disk side of a sink's queue (sink.h), one directory per sink. What it promises:
 *
 * - Records. Each event is one record: a magic, its length, a sequence number and a CRC-32C
 *   over all three and the line. An acknowledgement names the record's sequence number (with a
 *   CRC of its own), so a damaged, lost or added byte can never shift another record or
 *   another acknowledgement onto the wrong event.
 * - Durability. An event given to spool_add is in the spool file (write(2): it survives the
 *   process being killed) once spool_flush has returned 0; with sync, on the device too
 *   (fdatasync of the segment per flush and of an acknowledgement log per write, fsync
 *   of the directory for each new segment file).
 * - Recovery (spool_open). Every segment is verified record by record. Every intact record
 *   not acknowledged is handed back (spool_next) in order; a record whose checksum fails is
 *   never handed back: each damaged stretch is reported on stderr with its file, offset, size
 *   and how many records it held, and its raw bytes go to the damage hook (the dead-letter
 *   file). A torn record at the end of the newest segment (a crash mid-write) is the normal
 *   case and is dropped with a note (its bytes to the damage hook too, but it is not in the
 *   count of damaged records said at start). Segments of the previous format (NNNN.ev lines with
 *   NNNN.ack line numbers) are read once and rewritten as records (migration).
 * - A full disk is not fatal. spool_flush returns -1 (ENOSPC and other write errors) with the
 *   segment cut back to its last whole record; the caller takes the unwritten events back
 *   (spool_unflushed) and keeps them in memory. spool_room says when to try again. Without an
 *   explicit limit the spool counts as full before the filesystem is: see spool_conf.max.
 *
 * Segment files: NNNN.sp (16 hex digits, oldest first), each with a log of acknowledged
 * sequence numbers NNNN.spa, removed together once every record of the segment is
 * acknowledged; a lock file makes a spool one process's. */
#ifndef SPOOL_H
#define SPOOL_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct spool;
struct spool_seg;

/* A record's identity. */
struct spool_ref {
	struct spool_seg *seg;
	uint64_t seq;
};

struct spool_conf {
	const char *dir;
	/* Bytes the spool may hold. 0: automatic: at most 1 GiB, and never so much that the
	 * filesystem keeps less free than a reserve of 1/32 of its size (at most 64 MiB):
	 * checked with statvfs as the spool grows, so "full" comes before ENOSPC. */
	unsigned long long max;
	int sync;
	/* Damaged bytes found reading the spool back (never NULL): the file, the offset, the
	 * bytes and the number of records they held. n = 0: records missing
	 * altogether (a segment cut short, as the next one's header tells). */
	void (*damaged)(void *ctx, const char *file, off_t off, const char *p, size_t n,
			unsigned long long records);
	void *ctx;
};

/* Locks and opens the directory (creating it), verifies what it holds, reports damage.
 * Exits 1 on a failure to use the directory at all (not a directory, locked by another). */
struct spool *spool_open(const struct spool_conf *conf);
/* Writes what is buffered, acknowledgements and all, removes what is done, frees. */
void spool_close(struct spool *sp);

/* Adds an event line (without LF) to the batch for the next flush; its identity in *ref.
 * in_memory: the caller keeps the event in memory (only when spool_caught_up): it is not
 * handed back by spool_next. -1 (nothing added) when the spool is full: the caller keeps
 * the event itself. */
int spool_add(struct spool *sp, const char *line, size_t n, int in_memory,
	      struct spool_ref *ref);
/* Writes the batch with one write(2). 0: on disk. -1: not written (errno said on stderr, once
 * per kind of failure): the spool is full until spool_room says otherwise, and the batch is
 * waiting in spool_unflushed. */
int spool_flush(struct spool *sp);
/* After a failed flush: calls fn for each event of the batch (line, length, its former
 * identity), oldest first, then forgets them; the caller now holds them in memory only. */
void spool_unflushed(struct spool *sp, void (*fn)(void *ctx, const char *line, size_t n,
						  struct spool_ref ref), void *ctx);
/* Whether the spool takes events: 1 yes; 0 full (spool_max reached, or the last write
 * failed less than a second ago; now in monotonic seconds). */
int spool_room(struct spool *sp, double now);
/* Bytes the next read may bring, so that one read never holds more than the spool takes. */
size_t spool_read_max(struct spool *sp);

/* Forgets a delivered (or dead-lettered) record: logged, and its segment removed once all of
 * it is. */
void spool_ack(struct spool *sp, struct spool_ref ref);
/* The next record on disk not in memory yet, in order: 1 with *line (valid until the next
 * call), *n and *ref; 0 when there is none now. */
int spool_next(struct spool *sp, const char **line, size_t *n, struct spool_ref *ref);
/* No record waits on disk to be handed back. */
int spool_caught_up(const struct spool *sp);
/* Writes acknowledgements, removes segments fully acknowledged. */
void spool_collect(struct spool *sp);

/* Records not acknowledged (on disk or in the batch). */
unsigned long long spool_pending(const struct spool *sp);
unsigned long long spool_bytes(const struct spool *sp);
const char *spool_dir(const struct spool *sp);

/* ---- the record format, for spool.c, the fuzzer and t/spooltool ---- */
#define SPOOL_REC_MAGIC "\0qr1"
#define SPOOL_REC_HDR 20	/* magic 4, length 4, sequence 8, CRC-32C 4 (little-endian) */
#define SPOOL_SEG_MAGIC "qsspool2"
#define SPOOL_SEG_HDR 20	/* magic 8, first sequence 8, CRC-32C 4 */
#define SPOOL_ACK_LEN 12	/* sequence 8, CRC-32C 4 */
#define SPOOL_LINE_MAX (1024 * 1024 + 1)	/* a record's line (LINES_MAX) and its LF */

uint32_t spool_crc32c(uint32_t crc, const void *p, size_t n);
/* Appends the record of line (n bytes, LF added) at out, which has room for
 * SPOOL_REC_HDR + n + 1 bytes; returns the record's size. */
size_t spool_rec_put(char *out, const char *line, size_t n, uint64_t seq);
/* The record at p (avail bytes): its size (> 0) with *line (with its LF), *n and *seq; 0 when
 * more bytes are needed to tell (at most *need); -1 when no record starts here. */
long spool_rec_get(const char *p, size_t avail, const char **line, size_t *n, uint64_t *seq,
		   size_t *need);

/* One pass over a segment's bytes, as recovery makes it: calls rec for each intact record
 * and bad for each damaged stretch (offset, size, records it held: as the sequence numbers
 * around it tell, else the records that start in it, at least 1). first_seq: the segment header's, or 0. The
 * return is the offset where a torn last record starts (== n when none). */
struct spool_scan {
	void (*rec)(void *ctx, off_t off, const char *line, size_t n, uint64_t seq);
	void (*bad)(void *ctx, off_t off, size_t n, unsigned long long records);
	void *ctx;
};
size_t spool_scan(const char *p, size_t n, uint64_t first_seq, const struct spool_scan *cb);
/* The segment header's first sequence number, or 0 when it is missing or damaged. */
uint64_t spool_seg_first(const char *p, size_t n);

#endif
