/* sink API: stable */
/* sink: the runtime every sink tool (qsmqtt, qsslack, ...) is built on. It reads events
 * (qspipe-events(5)) from stdin or named files without ever blocking on the destination, passes lines through
 * (-t), keeps the events to deliver in a queue bounded in memory and, with a spool directory,
 * on disk until the destination has acknowledged them, retries with backoff, dead-letters
 * permanent failures, and handles the signals and the common config keys. The tool (the
 * "driver") only delivers.
 *
 * How a driver uses it:
 *
 *	struct sink *s = sink_new(&driver, &tool);
 *	getopt(argc, argv, SINK_FLAGS "h:p:...")  ->  sink_flag(s, c, optarg) first; else its own
 *	sink_configure(s);        config file: the common keys, others to driver.conf_key (exit 2)
 *	... the driver applies its own flags, checks its config, sink_set_lanes() ...
 *	return sink_run(s, argc - optind, argv + optind);
 *
 * The loop in sink_run, each turn: read what input there is (never waiting for it), apply the
 * completions reported since the last turn, ask driver.fds for pollfds and a wait bound, poll,
 * then call driver.pump, in which the driver takes items (sink_take) and starts deliveries,
 * and reports finished ones (sink_done). Everything runs on one thread.
 *
 * Lanes: the queue is one FIFO per lane (a destination: qsslack's webhooks; qsmqtt has one).
 * driver.lane picks an event's lane when it is queued. A lane hands out its oldest event
 * first; an event given back for retry goes back in its place (by input order) and holds the
 * lane until it is due, so a failing destination is backed off as a whole while other lanes
 * go on, and order is kept as far as at-least-once allows. */
#ifndef SINK_H
#define SINK_H
#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "conf.h"
#include "tsv.h"

/* Bit (1u << ev) per event, for sink_driver.default_events and sink_events(). */
#define SINK_ALL_EVENTS ((1u << TSV_NEVENTS) - 1)
/* Every event but qix_perf, which comes by the thousand a second from a busy engine: the
 * default of the sinks, which deliver it only when asked. */
#define SINK_DEFAULT_EVENTS (SINK_ALL_EVENTS & ~(1u << EV_QIX_PERF))

struct sink;
struct spool_seg;
struct metrics;

/* One queued event. The driver reads the public part; drv and drv_next are its own to use
 * while it holds the item (from sink_take to sink_done), e.g. a count of publishes still
 * unacknowledged, or a link in a digest it is building. */
struct sink_item {
	int event;			/* enum event_kind */
	unsigned lane;
	unsigned attempts;		/* deliveries tried and failed before this one */
	uintptr_t drv;
	struct sink_item *drv_next;
	/* The runtime's own: */
	uint64_t seq;			/* input order */
	double due;			/* not to be handed out before (monotonic seconds) */
	struct sink_item *prev, *next;
	struct spool_seg *seg;		/* spool segment holding it, or NULL */
	uint64_t rec;			/* its record there (sequence number) */
	struct sink_item *hprev, *hnext;	/* held in memory only: the spool was full */
	int taken;			/* between sink_take and sink_done */
	size_t len;
	char line[];			/* the event line as read, without LF, NUL-terminated */
};

/* The event's 16 columns and attributes (still escaped, pointing into it->line). Never fails: the runtime
 * only queues well-formed events. */
void sink_item_event(const struct sink_item *it, struct event *ev);

enum sink_result {
	SINK_OK,		/* delivered (acknowledged): leaves the queue and the spool */
	SINK_RETRY,		/* transient failure: back in the queue, tried again later */
	SINK_PERMANENT,		/* will never be delivered: dead-lettered with the reason */
};
/* With SINK_RETRY: wait the exponential backoff (1 s doubling per attempt up to backoff_max,
 * with jitter). A delay >= 0 (Retry-After, or 0 for "as soon as you take it again") is used
 * as it is and does not count as a failed attempt. */
#define SINK_BACKOFF (-1.0)

/* Reports the end of a delivery of an item taken with sink_take; the driver must not touch
 * the item afterwards. why: for SINK_PERMANENT, the reason put in the dead-letter file or on
 * stderr (may be NULL otherwise). */
void sink_done(struct sink *s, struct sink_item *it, enum sink_result r, double delay,
	       const char *why);

/* The lane's oldest item when it is due now, else NULL (also NULL once the runtime is
 * stopping on SIGTERM: no new deliveries then). The item is the driver's until sink_done. */
struct sink_item *sink_take(struct sink *s, unsigned lane);
/* How many items of the lane could be taken now (e.g. to build a digest of them). */
size_t sink_ready(const struct sink *s, unsigned lane);
/* Items taken and not yet done, over all lanes. */
size_t sink_inflight(const struct sink *s);
/* Items waiting to be taken (in memory or in the spool), over all lanes. */
size_t sink_queued(const struct sink *s);
/* Writes a dead letter for an item the driver holds, which stays the driver's: for a driver
 * that delivers an item to several recipients and one of them refuses it for good (qsmail).
 * Counted as dead. */
void sink_dead_letter(struct sink *s, const struct sink_item *it, const char *why);
/* The runtime's backoff before retry number attempts + 1 (seconds, jittered, at most
 * backoff_max): for a driver that retries what it holds itself. */
double sink_backoff(struct sink *s, unsigned attempts);
/* 1 once the input has ended, 2 once SIGTERM came (or stdout failed): a driver holding items
 * back (a digest being gathered) should send them now; once stopping, what it cannot send now
 * it gives back (sink_done SINK_RETRY), so that the runtime keeps it in the spool and exits. */
int sink_ending(const struct sink *s);
/* The events selected (events = / -e), as a bit mask of enum event_kind. */
unsigned sink_events(const struct sink *s);
/* Replaces the driver's default_events from its conf_key (a key that turns an event on, say):
 * still only when events = and -e do not choose. */
void sink_set_default_events(struct sink *s, unsigned events);

/* What a sink tool provides. Every hook but conf_key may be NULL; ctx is sink_new's. */
struct sink_driver {
	const char *name;		/* the tool and its config section: "qsmqtt" */
	unsigned default_events;	/* delivered when events = is not given */
	/* A key of the section the runtime does not take (see conf.h for the answers). */
	conf_key_fn conf_key;
	/* The lane of an item being queued (< the count given to sink_set_lanes); NULL: lane 0. */
	unsigned (*lane)(void *ctx, const struct sink_item *it);
	/* Before each poll: adds up to max pollfds at pfd and returns how many; may lower *wait
	 * (seconds; -1 means no bound) to be called back sooner. */
	int (*fds)(void *ctx, struct pollfd *pfd, int max, double *wait);
	/* After each poll, with the pollfds fds gave (revents set): take items and
	 * start deliveries, report finished ones. now is now_mono(). */
	void (*pump)(void *ctx, const struct pollfd *pfd, int npfd, double now);
	/* Before exit, after the wait for in-flight items (which stay in the spool, or are
	 * counted lost): close connections, drop every pointer to items. */
	void (*stop)(void *ctx);
	/* Appends " name=value" counters of its own to the SIGUSR1 and exit summary. */
	void (*counters)(void *ctx, struct buf *out);
	/* Adds samples of its own (metrics_sample) after the runtime's, when they are written. */
	void (*metrics)(void *ctx, struct metrics *m);
};

#define SINK_FLAGS "tc:S:e:M:"	/* the common flags, for the driver's getopt string */
#define SINK_MAX_FDS 64

struct sink *sink_new(const struct sink_driver *drv, void *ctx);
/* Takes a common flag (-t, -c FILE, -S DIR, -e EVENTS, -M FILE): 1 when taken, 0 when not one of them.
 * A bad value exits 2. Applied over the config file by sink_configure. */
int sink_flag(struct sink *s, int opt, const char *arg);
/* Loads the driver's section of the config file (common keys here, the others passed to
 * driver.conf_key), then applies the common flags. Exits 2 on any error. */
void sink_configure(struct sink *s);
/* The number of lanes (default 1); before sink_run. */
void sink_set_lanes(struct sink *s, unsigned n);
/* Reads the named files in turn (none: stdin), delivers, and returns the exit status. */
int sink_run(struct sink *s, int nfiles, char **files);
/* After sink_configure: no spool and no dead-letter file, whatever the config says (a dry run
 * that must neither deliver what a spool holds nor acknowledge it). */
void sink_transient(struct sink *s);
/* Frees a sink that sink_run never ran (sink_run frees its own). */
void sink_free(struct sink *s);
/* Why an event line cannot be delivered (fewer than 16 columns, malformed escape or control
 * byte, an attribute's reason from tsv_check_attrs, unknown event name), or NULL with its event
 * index in *event: the runtime's own check. */
const char *sink_check_line(const char *line, size_t n, int *event);

#endif
