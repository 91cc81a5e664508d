/* qsmqtt: publishes events to an MQTT broker, one message per topic, at least once (QoS 1, 2).
 * The sink runtime (sink.h) reads and queues; libmosquitto runs in its loop on the one thread
 * (its socket in the poll, mosquitto_loop_read/write/misc in pump), so acknowledgements come
 * back as calls of on_publish within pump: no thread, lock or hand-off. */
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "diag.h"
#include "json.h"
#include "metrics.h"
#include "sink.h"
#include "tmpl.h"

static const char usage[] =
	"qsmqtt [-t] [-c FILE] [-h HOST] [-p PORT] [-q QOS] [-S DIR] [-e EVENTS] [-M FILE] "
	"[-i CLIENT_ID] [-u USER] [FILE...]\n"
	"  -t            pass every input line through to stdout at once\n"
	"  -c FILE       the config file (default $QSPIPE_CONF), section [qsmqtt]\n"
	"  -h HOST       the broker (default localhost)\n"
	"  -p PORT       its port (default 1883, 8883 with TLS)\n"
	"  -q QOS        0, 1 or 2 (default 1)\n"
	"  -S DIR        spool directory: queued events survive a restart\n"
	"  -e EVENTS     publish only these events (default all)\n"
	"  -M FILE       write the counters to FILE in Prometheus' text format (metrics =)\n"
	"  -i CLIENT_ID  the MQTT client id (default qsmqtt-HOST-PID)\n"
	"  -u USER       the user name (password: password_file or QSMQTT_PASSWORD)\n"
	"  -V            print the version; --help this text";

#define RECONNECT_MAX 30	/* seconds between connection attempts at most */
#define TOPIC_ALL TSV_NEVENTS	/* index of topic.everything among the topics */

static const char *const default_topics[TSV_NEVENTS + 1] = {
	"qliksense/userevent/session/start", "qliksense/userevent/session/stop",
	"qliksense/userevent/connection/open", "qliksense/userevent/connection/close",
	"qliksense/task/failed", "qliksense/task/aborted", "qliksense/task/succeeded",
	"qliksense/task/distributed", "qliksense/logevent",
	"",	/* qix_perf: off unless topic.qix_perf is set (thousands a second) */
	"", "qliksense/event",
};

enum payload { PAYLOAD_JSON, PAYLOAD_TSV, PAYLOAD_TEMPLATE };

/* How a connection attempt or connection ended, as reported once per change. */
enum link { LINK_NONE, LINK_UP, LINK_CANNOT, LINK_REFUSED, LINK_LOST };

/* An item's delivery state in sink_item.drv: publishes not yet acknowledged, and how the
 * failed ones failed. */
#define PENDING_MASK 0xffffu
#define FAIL_RETRY (1u << 16)
#define FAIL_PERM (1u << 17)
#define FAIL_V5 (1u << 18)	/* the code is a v5 reason code, not a libmosquitto error */
#define FAIL_CODE(d) ((int)((d) >> 24))

struct mqtt {
	struct sink *sink;
	struct mosquitto *mosq;
	/* configuration */
	char *host, *client_id, *username, *cafile, *capath, *certfile, *keyfile;
	struct buf password;
	int have_password;
	unsigned long port, keepalive, qos, max_inflight, message_expiry;
	int protocol, retain, tls;
	struct tmpl topic[TSV_NEVENTS + 1];	/* no parts: off */
	enum payload payload;
	/* payload templates; [TSV_NEVENTS]: template, the default; no parts: unset */
	struct tmpl tmpl[TSV_NEVENTS + 1];
	char why[160];
	mosquitto_property *props;
	/* the connection: libmosquitto runs in the sink loop, on this one thread */
	enum link link;			/* what we last heard of it */
	int code;			/* libmosquitto error, -errno or CONNACK code for link */
	int refused;			/* the broker refused this attempt with code */
	int open;			/* a socket is open: connecting or connected */
	int tried;			/* connect_async done: reconnect_async from now on */
	unsigned delay;			/* the next backoff, seconds */
	double retry_at, misc_at;	/* next connection attempt, next keepalive check */
	char tls_err[200];		/* libmosquitto's last error log line */
	int early_mid;			/* acknowledged before mosquitto_publish returned it */
	struct sink_item **by_mid;	/* 65536: the item each unacknowledged mid is for */
	unsigned inflight;		/* publishes not acknowledged */
	int blocked;			/* a publish failed for the connection: wait for news of it */
	int tcp_opts_off;		/* not a TCP socket: no TCP_CORK, TCP_QUICKACK */
	enum link reported;
	int reported_code;
	double started;
	struct buf topic_buf, payload_buf, scratch;
	unsigned long long published, acked;
};

/* ---- configuration ---- */

static void set_str(char **dst, const char *value)
{
	free(*dst);
	*dst = *value ? xstrdup(value) : NULL;
}

/* topic.NAME or template.NAME: the event index, TOPIC_ALL for topic.everything, or -1. */
static int suffix_index(const char *key, const char *prefix, int allow_all)
{
	size_t n = strlen(prefix);
	if (strncmp(key, prefix, n))
		return -2;
	if (allow_all && !strcmp(key + n, "everything"))
		return TOPIC_ALL;
	return tsv_event_index(key + n, strlen(key + n));
}

/* Compiles a topic into *t. Its literal text, unescaped (`\n`), goes into every topic as it
 * is: checked here, or every publish would fail. */
static const char *set_topic(struct mqtt *m, struct tmpl *t, const char *value)
{
	struct tmpl new;
	if (tmpl_compile(&new, value, m->why, sizeof m->why) < 0)
		return m->why;
	const char *bad = NULL;
	for (size_t i = 0; i < new.nparts && !bad; i++) {
		const char *text = new.text + new.parts[i].off;
		size_t len = new.parts[i].len;
		if (new.parts[i].field >= 0)
			continue;
		if (mosquitto_validate_utf8(text, (int)len) != MOSQ_ERR_SUCCESS)
			bad = "a topic may not hold control characters (\\n) or invalid UTF-8";
		else if (mosquitto_pub_topic_check2(text, len) != MOSQ_ERR_SUCCESS)
			bad = "a topic to publish to may not hold + or #";
	}
	if (bad) {
		tmpl_free(&new);
		return bad;
	}
	tmpl_free(t);
	*t = new;
	return NULL;
}

/* A template is compiled as its key is read, so that a bad one is reported with its line. */
static const char *set_template(struct mqtt *m, struct tmpl *t, const char *value)
{
	tmpl_free(t);
	return tmpl_compile(t, value, m->why, sizeof m->why) < 0 ? m->why : NULL;
}

static const char *conf_key(void *tool, const char *key, const char *value)
{
	struct mqtt *m = tool;
	int i;
	if ((i = suffix_index(key, "topic.", 1)) != -2) {
		if (i < 0)
			return "unknown event (topic.EVENT takes an event name or everything)";
		if (i == EV_QIX_PERF)	/* its own topic turns it on, unless events = chooses */
			sink_set_default_events(m->sink, *value ? SINK_ALL_EVENTS : SINK_DEFAULT_EVENTS);
		return set_topic(m, &m->topic[i], value);
	}
	if ((i = suffix_index(key, "template.", 0)) != -2) {
		if (i < 0)
			return "unknown event (template.EVENT takes an event name)";
		return set_template(m, &m->tmpl[i], value);
	}
	if (!strcmp(key, "host"))
		set_str(&m->host, value);
	else if (!strcmp(key, "port"))
		return conf_ulong(value, 1, 65535, &m->port) ? "not a port number" : NULL;
	else if (!strcmp(key, "client_id"))
		set_str(&m->client_id, value);
	else if (!strcmp(key, "username"))
		set_str(&m->username, value);
	else if (!strcmp(key, "password")) {
		buf_reset(&m->password);
		buf_adds(&m->password, value);
		m->have_password = 1;
	} else if (!strcmp(key, "password_file")) {
		if (conf_read_secret(value, &m->password) < 0) {
			snprintf(m->why, sizeof m->why, "%s: %s", value, strerror(errno));
			return m->why;
		}
		m->have_password = 1;
	} else if (!strcmp(key, "keepalive"))
		return conf_ulong(value, 5, 65535, &m->keepalive) ? "not seconds from 5 to 65535" : NULL;
	else if (!strcmp(key, "protocol")) {
		if (!strcmp(value, "3.1.1") || !strcmp(value, "311"))
			m->protocol = MQTT_PROTOCOL_V311;
		else if (!strcmp(value, "5"))
			m->protocol = MQTT_PROTOCOL_V5;
		else
			return "not 3.1.1 or 5";
	} else if (!strcmp(key, "qos"))
		return conf_ulong(value, 0, 2, &m->qos) ? "not 0, 1 or 2" : NULL;
	else if (!strcmp(key, "retain"))
		return conf_bool(value, &m->retain) ? "not yes or no" : NULL;
	else if (!strcmp(key, "tls"))
		return conf_bool(value, &m->tls) ? "not yes or no" : NULL;
	else if (!strcmp(key, "cafile") || !strcmp(key, "capath") || !strcmp(key, "certfile") ||
		 !strcmp(key, "keyfile")) {
		char **dst = key[1] == 'a' ? (key[2] == 'f' ? &m->cafile : &m->capath)
			   : key[0] == 'c' ? &m->certfile : &m->keyfile;
		set_str(dst, value);
		if (*value && access(value, R_OK) < 0) {
			snprintf(m->why, sizeof m->why, "%s: %s", value, strerror(errno));
			return m->why;
		}
	} else if (!strcmp(key, "message_expiry"))
		return conf_ulong(value, 0, UINT32_MAX, &m->message_expiry) ? "not seconds" : NULL;
	else if (!strcmp(key, "max_inflight"))
		return conf_ulong(value, 2, 65535, &m->max_inflight) ? "not a number from 2 to 65535" : NULL;
	else if (!strcmp(key, "payload")) {
		if (!strcmp(value, "json"))
			m->payload = PAYLOAD_JSON;
		else if (!strcmp(value, "tsv"))
			m->payload = PAYLOAD_TSV;
		else if (!strcmp(value, "template"))
			m->payload = PAYLOAD_TEMPLATE;
		else
			return "not json, tsv or template";
	} else if (!strcmp(key, "template"))
		return set_template(m, &m->tmpl[TSV_NEVENTS], value);
	else
		return conf_unknown_key;
	return NULL;
}

/* The template of an event's payload: its own, or else the default. */
static const struct tmpl *payload_tmpl(const struct mqtt *m, int event)
{
	return m->tmpl[event].nparts ? &m->tmpl[event] : &m->tmpl[TSV_NEVENTS];
}

/* payload = template: every event published needs a template. */
static void check_templates(struct mqtt *m, unsigned events)
{
	if (m->payload != PAYLOAD_TEMPLATE)
		return;
	for (int i = 0; i < TSV_NEVENTS; i++)
		if ((events & (1u << i)) && !payload_tmpl(m, i)->nparts)
			die(2, "payload = template, but no template (or template.%s) for %s",
			    tsv_event_names[i].p, tsv_event_names[i].p);
}

/* ---- libmosquitto's callbacks (from mosquitto_loop*, mosquitto_publish: all in pump) ---- */

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
		       const mosquitto_property *props)
{
	struct mqtt *m = obj;
	(void)mosq, (void)flags, (void)props;
	if (rc == 0) {
		m->link = LINK_UP;
		m->code = 0;
		m->refused = 0;
		m->delay = 1;
	} else {
		m->refused = rc;
	}
}

static void finish(struct mqtt *m, struct sink_item *it)
{
	unsigned d = (unsigned)it->drv;
	if (d & FAIL_PERM) {
		int code = FAIL_CODE(d);
		sink_done(m->sink, it, SINK_PERMANENT, 0,
			  d & FAIL_V5 ? mosquitto_reason_string(code) : mosquitto_strerror(code));
	} else if (d & FAIL_RETRY) {
		sink_done(m->sink, it, SINK_RETRY, 0, NULL);
	} else {
		sink_done(m->sink, it, SINK_OK, 0, NULL);
	}
}

static void on_ack(struct mqtt *m, struct sink_item *it, int mid, int reason)
{
	m->by_mid[mid & 0xffff] = NULL;
	m->inflight--;
	m->acked++;
	if (reason >= 0x80)	/* v5: the broker would not take it */
		it->drv |= FAIL_PERM | FAIL_V5 | (uintptr_t)reason << 24;
	if (!(--it->drv & PENDING_MASK))
		finish(m, it);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
		       const mosquitto_property *props)
{
	struct mqtt *m = obj;
	(void)mosq, (void)props;
	/* mosquitto_loop_read stops at the first EAGAIN it finds in errno: keep ours from it */
	int saved = errno;
	struct sink_item *it = m->by_mid[mid & 0xffff];
	if (it)
		on_ack(m, it, mid, reason);
	else	/* a QoS 0 publish written within mosquitto_publish, or one given back */
		m->early_mid = mid;
	errno = saved;
}

/* libmosquitto says why TLS failed only in its log. */
static void on_log(struct mosquitto *mosq, void *obj, int level, const char *text)
{
	struct mqtt *m = obj;
	(void)mosq;
	if (level == MOSQ_LOG_ERR)
		snprintf(m->tls_err, sizeof m->tls_err, "%s", text);
}

/* ---- the connection, driven from the sink loop ---- */

static void report_link(struct mqtt *m)
{
	if (m->link == m->reported && m->code == m->reported_code)
		return;
	if (m->link == LINK_UP) {
		if (m->reported != LINK_NONE)
			warnx("connected to %s:%lu", m->host, m->port);
	} else {
		int code = m->code;
		const char *why = code < 0 ? strerror(-code) : mosquitto_strerror(code);
		if (m->link == LINK_REFUSED)
			why = m->protocol == MQTT_PROTOCOL_V5 ? mosquitto_reason_string(code)
							      : mosquitto_connack_string(code);
		if (code == MOSQ_ERR_TLS && *m->tls_err)
			why = m->tls_err;
		warnx(m->link == LINK_REFUSED ? "broker %s:%lu refused the connection: %s"
		      : m->link == LINK_LOST ? "lost the connection to %s:%lu: %s"
					     : "cannot connect to %s:%lu: %s", m->host, m->port, why);
	}
	m->reported = m->link;
	m->reported_code = m->code;
}

/* A broker not listening yet at start is reported after 5 s, not at once: a slow start is
 * no news; anything else is reported as it changes. */
static void report(struct mqtt *m, double now)
{
	if (m->link != LINK_NONE && (m->code != -ECONNREFUSED || m->reported != LINK_NONE ||
				     now - m->started > 5))
		report_link(m);
}

/* QoS 0 publishes still queued in libmosquitto are gone with the connection: resend them.
 * (QoS 1 and 2 ones are kept by libmosquitto and resent with the same mid.) */
static void requeue_inflight(struct mqtt *m)
{
	for (size_t mid = 0; mid < 65536 && m->inflight; mid++) {
		struct sink_item *it = m->by_mid[mid];
		if (!it)
			continue;
		m->by_mid[mid] = NULL;
		m->inflight--;
		it->drv |= FAIL_RETRY;
		if (!(--it->drv & PENDING_MASK))
			finish(m, it);
	}
}

/* A connection (attempt) ended with rc (err: errno when MOSQ_ERR_ERRNO): try again after
 * the backoff. */
static void note_down(struct mqtt *m, int rc, int err, double now)
{
	if (m->refused) {
		m->link = LINK_REFUSED;
		m->code = m->refused;
	} else {
		m->link = m->link == LINK_UP ? LINK_LOST : LINK_CANNOT;
		m->code = rc == MOSQ_ERR_ERRNO ? -err : rc;
	}
	m->refused = 0;
	m->open = 0;
	m->blocked = 0;
	if (m->qos == 0)
		requeue_inflight(m);
	m->retry_at = now + m->delay;
	m->delay = m->delay * 2 > RECONNECT_MAX ? RECONNECT_MAX : m->delay * 2;
}

/* Starts a connection; it goes on in drive. A host name is looked up here, blocking. */
static void connect_broker(struct mqtt *m, double now)
{
	int rc = m->tried ? mosquitto_reconnect_async(m->mosq)
			  : mosquitto_connect_async(m->mosq, m->host, (int)m->port, (int)m->keepalive);
	int err = errno;
	m->tried = 1;
	if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(m->mosq) >= 0)
		m->open = 1;
	else
		note_down(m, rc ? rc : MOSQ_ERR_NO_CONN, err, now);
}

/* Sets a TCP option on the connection; one that the socket does not have (not TCP) is said once
 * and not asked for again. Another error is the socket failing, which libmosquitto's next read
 * or write reports. */
static void tcp_option(struct mqtt *m, int opt, const char *name, int on)
{
	int sock = mosquitto_socket(m->mosq);
	if (m->tcp_opts_off || sock < 0)
		return;
	if (setsockopt(sock, IPPROTO_TCP, opt, &on, sizeof on) < 0 &&
	    (errno == ENOPROTOOPT || errno == EOPNOTSUPP)) {
		warnx("setsockopt %s: %s (going on without)", name, strerror(errno));
		m->tcp_opts_off = 1;
	}
}

/* Reads and writes what poll said the socket is ready for, and sends keepalives. */
static void drive(struct mqtt *m, short revents, double now)
{
	int rc = MOSQ_ERR_SUCCESS;
	if (m->link != LINK_UP) {
		/* until the CONNACK: libmosquitto 2.0 finishes a TLS handshake only in its loop */
		rc = mosquitto_loop(m->mosq, 0, 1);
		/* and goes on with one on a refused or reset socket for ever */
		int sock = mosquitto_socket(m->mosq);
		if (rc == MOSQ_ERR_SUCCESS && sock >= 0 && (revents & (POLLHUP | POLLERR))) {
			int err = 0;
			socklen_t len = sizeof err;
			if (getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || !err)
				err = ECONNRESET;	/* the error was taken by a write */
			note_down(m, MOSQ_ERR_ERRNO, err, now);
			return;
		}
	} else {
		if (revents & (POLLIN | POLLERR | POLLHUP)) {
			errno = 0;
			rc = mosquitto_loop_read(m->mosq, 1);
			/* ACK at once (Linux turns it off again by itself): a broker without
			 * set_tcp_nodelay otherwise holds its PUBACKs back (Nagle) until our
			 * delayed ACK, 40 ms, for each window of publishes */
			tcp_option(m, TCP_QUICKACK, "TCP_QUICKACK", 1);
		}
		if (rc == MOSQ_ERR_SUCCESS && (revents & POLLOUT))
			rc = mosquitto_loop_write(m->mosq, 1);
		if (rc == MOSQ_ERR_SUCCESS && now >= m->misc_at) {
			rc = mosquitto_loop_misc(m->mosq);
			m->misc_at = now + 1;
		}
	}
	int err = errno;
	if (mosquitto_socket(m->mosq) < 0)	/* libmosquitto closed it */
		note_down(m, rc ? rc : MOSQ_ERR_CONN_LOST, err, now);
}

/* ---- publishing ---- */

/* Emits a value as one topic level: no '/', '+', '#', and nothing libmosquitto would refuse
 * to publish (control characters, noncharacters, invalid UTF-8): each such byte or character
 * becomes '_', and an empty value '_'. */
static void emit_topic_level(struct buf *out, const char *value, size_t n, void *ctx)
{
	(void)ctx;
	const unsigned char *p = (const unsigned char *)value, *end = p + n;
	if (!n)
		buf_addc(out, '_');
	while (p < end) {
		size_t len = utf8_len(p, (size_t)(end - p));
		int bad = !len || *p == '/' || *p == '+' || *p == '#' ||
			  mosquitto_validate_utf8((const char *)p, (int)len) != MOSQ_ERR_SUCCESS;
		if (bad)
			buf_addc(out, '_');
		else
			buf_add(out, p, len);
		p += len ? len : 1;
	}
}

static void emit_raw(struct buf *out, const char *value, size_t n, void *ctx)
{
	(void)ctx;
	buf_add(out, value, n);
}

/* The payload: the line itself for tsv, else built in payload_buf. */
static struct slice make_payload(struct mqtt *m, const struct sink_item *it,
				 const struct event *ev)
{
	if (m->payload == PAYLOAD_TSV)
		return (struct slice){ it->line, it->len };
	buf_reset(&m->payload_buf);
	if (m->payload == PAYLOAD_JSON)
		json_event(&m->payload_buf, ev, &m->scratch);
	else
		tmpl_expand(payload_tmpl(m, it->event), ev, &m->payload_buf, &m->scratch, emit_raw, NULL);
	return (struct slice){ m->payload_buf.p, m->payload_buf.n };
}

/* The topic: a literal one (every default) as it is, else built in topic_buf. */
static const char *make_topic(struct mqtt *m, const struct tmpl *t, const struct event *ev)
{
	if (t->nparts == 1 && t->parts[0].field < 0)
		return t->text;
	buf_reset(&m->topic_buf);
	tmpl_expand(t, ev, &m->topic_buf, &m->scratch, emit_topic_level, NULL);
	return buf_str(&m->topic_buf);
}

/* Starts the publishes of one event (up to two topics). */
static void publish(struct mqtt *m, struct sink_item *it)
{
	struct event ev;
	sink_item_event(it, &ev);
	struct slice payload = make_payload(m, it, &ev);
	/* qix_perf only on its own topic: thousands a second would swamp topic.everything */
	static const struct tmpl off;
	const struct tmpl *topics[2] = {
		it->event == EV_QIX_PERF ? &off : &m->topic[TOPIC_ALL], &m->topic[it->event] };
	it->drv = 1;	/* held while starting, so an early failure cannot finish it */
	for (int i = 0; i < 2; i++) {
		if (!topics[i]->nparts)
			continue;	/* an empty topic is off */
		const char *topic = make_topic(m, topics[i], &ev);
		int mid = 0;
		m->early_mid = 0;
		int rc = mosquitto_publish_v5(m->mosq, &mid, topic, (int)payload.n, payload.p,
					      (int)m->qos, m->retain, m->props);
		if (rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO) {
			/* queued, but the socket failed: drive will see it closed (QoS 0 is then
			 * given back, QoS 1 and 2 resent by libmosquitto) */
			m->blocked = 1;
			rc = MOSQ_ERR_SUCCESS;
		}
		if (rc == MOSQ_ERR_SUCCESS) {
			m->published++;
			if (mid && mid == m->early_mid) {	/* QoS 0, written at once */
				m->acked++;
				continue;
			}
			struct sink_item *old = m->by_mid[mid & 0xffff];
			if (old)	/* a mid reused while still unacknowledged */
				on_ack(m, old, mid, 0);
			m->by_mid[mid & 0xffff] = it;
			it->drv++;
			m->inflight++;
		} else if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_NOMEM) {
			it->drv |= FAIL_RETRY;
			m->blocked = 1;
		} else {
			it->drv |= FAIL_PERM | (uintptr_t)rc << 24;
		}
	}
	if (!(--it->drv & PENDING_MASK))
		finish(m, it);
}

static void pump(void *ctx, const struct pollfd *pfd, int npfd, double now)
{
	struct mqtt *m = ctx;
	if (m->open)
		drive(m, npfd ? pfd[0].revents : 0, now);
	else if (now >= m->retry_at)
		connect_broker(m, now);
	report(m, now);
	if (m->link != LINK_UP || m->blocked)
		return;
	struct sink_item *it;
	if (m->inflight + 2 > m->max_inflight || !(it = sink_take(m->sink, 0)))
		return;
	/* libmosquitto sends each publish at once (TCP_NODELAY, for latency): corked, the batch
	 * leaves in full segments, which costs the broker (the busiest process here) a wake-up
	 * and a read per segment, not per message */
	tcp_option(m, TCP_CORK, "TCP_CORK", 1);
	do
		publish(m, it);
	while (m->inflight + 2 <= m->max_inflight && (it = sink_take(m->sink, 0)));
	tcp_option(m, TCP_CORK, "TCP_CORK", 0);
}

static int fds(void *ctx, struct pollfd *pfd, int max, double *wait)
{
	struct mqtt *m = ctx;
	(void)max;
	double bound = -1;
	int n = 0;
	if (m->open) {
		short want = POLLIN;
		if (mosquitto_want_write(m->mosq))
			want |= POLLOUT;
		pfd[n++] = (struct pollfd){ .fd = mosquitto_socket(m->mosq), .events = want };
		/* keepalive once a second; a TLS handshake waiting for the TCP connection or
		 * to write is not in want_write: look again soon */
		bound = m->link != LINK_UP && m->tls ? 0.01 : 1;
	} else {
		bound = m->retry_at - now_mono();
		if (bound < 0)
			bound = 0;
	}
	/* a first connection failure is reported after 5 s: come back then */
	if (m->reported == LINK_NONE && bound > 1)
		bound = 1;
	if (*wait < 0 || *wait > bound)
		*wait = bound;
	return n;
}

static void counters(void *ctx, struct buf *out)
{
	struct mqtt *m = ctx;
	buf_printf(out, " published=%llu acked=%llu unacked=%u connected=%s", m->published,
		   m->acked, m->inflight, m->link == LINK_UP ? "yes" : "no");
}

static void metrics(void *ctx, struct metrics *mx)
{
	struct mqtt *m = ctx;
	metrics_sample(mx, "connected", 0, "1 while connected to the broker, else 0.", NULL,
		       m->link == LINK_UP);
	metrics_sample(mx, "published", 1, "Publishes sent to the broker.", NULL,
		       (double)m->published);
	metrics_sample(mx, "unacked", 0, "Publishes sent and not yet acknowledged.", NULL,
		       (double)m->inflight);
}

static void stop(void *ctx)
{
	struct mqtt *m = ctx;
	if (m->reported == LINK_NONE && sink_inflight(m->sink) + sink_queued(m->sink)) {
		m->started = -1e9;	/* why they were not delivered: say it now */
		report(m, now_mono());
	}
	if (m->open)
		mosquitto_disconnect(m->mosq);
	mosquitto_destroy(m->mosq);
	m->mosq = NULL;
	memset(m->by_mid, 0, 65536 * sizeof *m->by_mid);
}

/* ---- setup ---- */

static void setup_mosquitto(struct mqtt *m)
{
	mosquitto_lib_init();
	m->mosq = mosquitto_new(m->client_id, true, m);
	if (!m->mosq)
		diesys(1, "mosquitto_new");
	mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, m->protocol);
	mosquitto_int_option(m->mosq, MOSQ_OPT_SEND_MAXIMUM, (int)m->max_inflight);
	/* off by default in libmosquitto 2.0: Nagle would hold a lone publish until the previous
	 * segment is acknowledged (up to the peer's delayed-ACK time) */
	mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_v5_callback_set(m->mosq, on_connect);
	mosquitto_publish_v5_callback_set(m->mosq, on_publish);
	if (m->tls)	/* only for its errors: a log callback costs a vsnprintf per packet */
		mosquitto_log_callback_set(m->mosq, on_log);
	if (m->username && mosquitto_username_pw_set(m->mosq, m->username,
						     m->have_password ? buf_str(&m->password) : NULL))
		die(2, "username: not accepted by libmosquitto");
	if (m->tls) {
		const char *capath = m->cafile || m->capath ? m->capath : "/etc/ssl/certs";
		int rc = mosquitto_tls_set(m->mosq, m->cafile, capath, m->certfile, m->keyfile, NULL);
		if (rc)
			die(2, "TLS setup (cafile %s, capath %s, certfile %s, keyfile %s): %s",
			    m->cafile ? m->cafile : "-", capath ? capath : "-",
			    m->certfile ? m->certfile : "-", m->keyfile ? m->keyfile : "-",
			    mosquitto_strerror(rc));
	}
	if (m->message_expiry &&
	    mosquitto_property_add_int32(&m->props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL,
					 (uint32_t)m->message_expiry))
		die(1, "message_expiry property: out of memory");
}

static void check_config(struct mqtt *m)
{
	if (m->message_expiry && m->protocol != MQTT_PROTOCOL_V5)
		die(2, "message_expiry needs protocol = 5");
	if ((m->cafile || m->capath || m->certfile || m->keyfile) && !m->tls)
		die(2, "cafile, capath, certfile and keyfile need tls = yes");
	if (!m->certfile != !m->keyfile)
		die(2, "certfile and keyfile go together");
	if (m->have_password && !m->username)
		die(2, "a password needs a username");
	if (!m->port)
		m->port = m->tls ? 8883 : 1883;
	if (!m->client_id) {
		/* Unique per process: a broker drops the older of two connections with one id, so
		 * a second qsmqtt on the host (a second `make run`) would take the first's over. */
		char host[256] = "localhost";
		if (gethostname(host, sizeof host - 1) < 0)
			warnsys("gethostname");
		struct buf id = { 0 };
		buf_printf(&id, "qsmqtt-%s-%ld", host, (long)getpid());
		m->client_id = xstrdup(buf_str(&id));
		buf_free(&id);
	}
}

int main(int argc, char **argv)
{
	static const struct sink_driver driver = {
		.name = "qsmqtt", .default_events = SINK_DEFAULT_EVENTS, .conf_key = conf_key,
		.fds = fds, .pump = pump, .stop = stop, .counters = counters, .metrics = metrics,
	};
	struct mqtt m = { .keepalive = 60, .qos = 1, .max_inflight = 100,
			  .protocol = MQTT_PROTOCOL_V311, .delay = 1 };
	const char *flag_host = NULL, *flag_port = NULL, *flag_qos = NULL, *flag_id = NULL,
		   *flag_user = NULL;
	diag_init("qsmqtt");
	diag_std_flags(argc, argv, usage);
	m.sink = sink_new(&driver, &m);
	for (int i = 0; i <= TSV_NEVENTS; i++)	/* the defaults (valid), which the config may replace */
		(void)set_topic(&m, &m.topic[i], default_topics[i]);
	int c;
	while ((c = getopt(argc, argv, SINK_FLAGS "h:p:q:i:u:")) != -1) {
		if (sink_flag(m.sink, c, optarg))
			continue;
		switch (c) {
		case 'h': flag_host = optarg; break;
		case 'p': flag_port = optarg; break;
		case 'q': flag_qos = optarg; break;
		case 'i': flag_id = optarg; break;
		case 'u': flag_user = optarg; break;
		default: diag_usage(usage);
		}
	}
	sink_configure(m.sink);
	if (flag_host)
		set_str(&m.host, flag_host);
	if (flag_port && conf_ulong(flag_port, 1, 65535, &m.port))
		die(2, "-p %s: not a port number", flag_port);
	if (flag_qos && conf_ulong(flag_qos, 0, 2, &m.qos))
		die(2, "-q %s: not 0, 1 or 2", flag_qos);
	if (flag_id)
		set_str(&m.client_id, flag_id);
	if (flag_user)
		set_str(&m.username, flag_user);
	if (!m.have_password) {
		const char *env = getenv("QSMQTT_PASSWORD");
		if (env) {
			buf_adds(&m.password, env);
			m.have_password = 1;
		}
	}
	if (!m.host)
		m.host = xstrdup("localhost");
	check_config(&m);
	check_templates(&m, sink_events(m.sink));
	if ((sink_events(m.sink) & (1u << EV_QIX_PERF)) && !m.topic[EV_QIX_PERF].nparts)
		die(2, "events names qix_perf, but topic.qix_perf is not set (qix_perf goes to no "
		    "other topic)");
	setup_mosquitto(&m);
	m.by_mid = calloc(65536, sizeof *m.by_mid);
	if (!m.by_mid)
		die(1, "out of memory");
	m.started = now_mono();
	connect_broker(&m, m.started);
	int status = sink_run(m.sink, argc - optind, argv + optind);

	mosquitto_property_free_all(&m.props);
	mosquitto_lib_cleanup();
	for (int i = 0; i <= TSV_NEVENTS; i++) {
		tmpl_free(&m.topic[i]);
		tmpl_free(&m.tmpl[i]);
	}
	free(m.by_mid);
	buf_free(&m.password);
	buf_free(&m.topic_buf);
	buf_free(&m.payload_buf);
	buf_free(&m.scratch);
	free(m.host), free(m.client_id), free(m.username), free(m.cafile), free(m.capath);
	free(m.certfile), free(m.keyfile);
	return status;
}
