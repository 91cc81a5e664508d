/* qsmail: events in, mail out over SMTP (qspipe-events(5)). The sink runtime (sink.h) reads,
 * queues, spools and signals; mail.h builds the messages; libcurl's SMTP, on the xfer runtime
 * (xfer.h), sends them over one kept-alive connection, one message at a time.
 *
 * The driver takes every event as it comes and holds it in a batch: one per recipient set (the
 * addresses an event goes to: to, to.EVENT, routes, the app's owner, a task property), open
 * for digest_seconds from its first event, then sent as one mail (a digest when it holds
 * several), when that set's rate allows. Held events stay in the runtime's spool until their
 * mail is done. Each recipient's fate is read from the SMTP dialogue (libcurl's debug
 * callback): accepted, refused for now (4xx: that recipient is tried again with the same
 * message), or refused for good (5xx: that recipient's copy is dead-lettered). */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "diag.h"
#include "glob.h"
#include "mail.h"
#include "sink.h"
#include "xfer.h"

static const char usage[] =
	"qsmail [-t] [-n] [-c FILE] [-S DIR] [-e EVENTS] [-M FILE] [FILE...]\n"
	"  -t         pass every input line through to stdout at once\n"
	"  -n         dry run: print each event's mail (mbox) instead of sending\n"
	"  -c FILE    the configuration file ([qsmail] section)\n"
	"  -S DIR     spool directory: what waits survives restarts\n"
	"  -e EVENTS  the events to mail (comma-separated; default task_failed,task_aborted)\n"
	"  -M FILE    write the counters to FILE in Prometheus' text format (metrics =)\n"
	"  -V         print the version\n"
	"See qsmail(1).";

#if LIBCURL_VERSION_NUM >= 0x080200
#define RCPT_ALLOWFAILS CURLOPT_MAIL_RCPT_ALLOWFAILS
#else
#define RCPT_ALLOWFAILS CURLOPT_MAIL_RCPT_ALLLOWFAILS	/* its name until curl 8.2 */
#endif

#define DEFAULT_TO TSV_NEVENTS	/* to's slot after the to.EVENT ones */
#define RCPT_MAX 100		/* recipients of one mail (RFC 5321's minimum a server takes) */
#define TEMPLATE_MAX (64 * 1024)
#define REPLY_MAX 160		/* of a server's reply, what is kept (escaped) */
#define RATE_WINDOW 60.0	/* rate is mails per this many seconds */

struct addrs {
	char **v;
	size_t n;
};

/* route = task=GLOB ADDR...: a column, its pattern and the addresses it adds. */
struct route {
	int field;
	struct glob g;
	struct addrs to;
};

struct config {
	char *smtp, *username, *from, *from_name, *ca, *cert, *key, *server_name;
	char *qmc_url, *hub_url, *to_property, *skip_name, *skip_value;
	struct buf password;
	int tls_none, tls_set, to_owner;
	struct addrs to[TSV_NEVENTS + 1];
	unsigned char to_set[TSV_NEVENTS + 1];
	struct route *routes;
	size_t nroutes;
	double digest_seconds, timeout;
	unsigned long rate;
	struct tmpl tmpl[MAIL_NPARTS][TSV_NEVENTS + 1];
	unsigned char tmpl_set[MAIL_NPARTS][TSV_NEVENTS + 1];
	char why[320];
};

/* A recipient set: its addresses (sorted, unique regardless of case), when its last mails went
 * (for the rate) and the batch still taking events for it. */
struct rset {
	struct rset *next;
	char *key;			/* the addresses, lower case, space-separated */
	char **addr;
	size_t naddr;
	double *sent;			/* a ring of the last `rate` sending times */
	size_t nsent, cap, head;
	struct batch *open;
};

enum rcpt_state { RCPT_PENDING, RCPT_DONE, RCPT_REFUSED };

/* The events of one mail, and the mail once built (kept for retries: the same message, to
 * the recipients still pending). */
struct batch {
	struct batch *next;
	struct rset *set;
	struct sink_item *items[MAIL_DIGEST_MAX];
	size_t n;
	double due;
	unsigned attempts;
	int built;
	unsigned char *state;		/* per address of the set */
	char **reply;			/* per address: the refusal, for the dead letter */
	struct buf msg;
};

/* What the SMTP dialogue of one transfer said, from libcurl's debug callback. */
enum cmd { CMD_NONE, CMD_MAIL, CMD_RCPT, CMD_DATA, CMD_BODY, CMD_OTHER };
struct dialogue {
	enum cmd cmd;
	int rcpt;			/* the address index of the RCPT in progress, -1 unknown */
	int mail, data, body;		/* reply codes, 0 none */
	int *rcpt_code;			/* per address of the set */
	char last[REPLY_MAX], body_reply[REPLY_MAX];
	struct buf line;
};

struct qsmail {
	struct sink *sink;
	struct config conf;
	struct mail_style style;
	struct mail_work work;
	int dry_run;
	char *url;			/* what libcurl connects to (server_name's host) */
	char label[128];		/* smtp://host:port, for messages */
	struct curl_slist *connect_to, *rcpt;
	struct xfer *xfer;
	struct xfer_job job;
	struct batch *batches, *sending;
	struct rset *sets;
	size_t upload_off;
	struct dialogue dlg;
	struct buf addrbuf, preview;
	unsigned long mails, digests, failures, refused_rcpt, refused_msg, skipped, unaddressed,
		bad_addr, msg_seq;
	struct ratelimit rl_fail, rl_refused, rl_addr;
};

/* ---- configuration ---- */

static const char *add_address(void *ctx, const char *word, size_t n)
{
	struct addrs *a = ctx;
	if (!mail_address_ok(word, n))
		return "not an address (local@domain, no quotes or blanks)";
	char **v = realloc(a->v, (a->n + 1) * sizeof *v);
	if (!v)
		die(1, "loading the config: out of memory");
	a->v = v;
	a->v[a->n] = strndup(word, n);
	if (!a->v[a->n])
		die(1, "loading the config: out of memory");
	a->n++;
	return NULL;
}

static void addrs_free(struct addrs *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	*a = (struct addrs){ 0 };
}

/* to, to.EVENT: a repeated key adds. */
static const char *to_key(struct qsmail *q, const char *rest, const char *value)
{
	int slot = DEFAULT_TO;
	if (*rest == '.')
		slot = tsv_event_index(rest + 1, strlen(rest + 1));
	else if (*rest)
		return conf_unknown_key;
	if (slot < 0)
		return "unknown event name";
	q->conf.to_set[slot] = 1;
	return conf_words(value, add_address, &q->conf.to[slot]);
}

/* route = task=GLOB ADDR... (or app=, host=) */
static const char *route_key(struct qsmail *q, const char *value)
{
	static const struct { const char *name; int field; } cols[] = {
		{ "task=", F_TASK_NAME }, { "app=", F_APP_NAME }, { "host=", F_HOST },
	};
	size_t c = 0;
	while (c < 3 && strncmp(value, cols[c].name, strlen(cols[c].name)))
		c++;
	if (c == 3)
		return "not task=GLOB, app=GLOB or host=GLOB followed by addresses";
	const char *pat = value + strlen(cols[c].name);
	size_t n = strcspn(pat, " \t");
	struct route r = { .field = cols[c].field };
	if (glob_compile(&r.g, pat, n, q->conf.why, sizeof q->conf.why) < 0)
		return q->conf.why;
	const char *why = conf_words(pat + n, add_address, &r.to);
	if (!why && !r.to.n)
		why = "no address after the pattern";
	if (why) {
		glob_free(&r.g);
		addrs_free(&r.to);
		return why;
	}
	struct route *v = realloc(q->conf.routes, (q->conf.nroutes + 1) * sizeof *v);
	if (!v)
		die(1, "loading the config: out of memory");
	q->conf.routes = v;
	v[q->conf.nroutes++] = r;
	return NULL;
}

/* subject_file, text_file, html_file, each optionally .EVENT */
static const char *template_key(struct qsmail *q, int part, const char *rest, const char *path)
{
	int slot = DEFAULT_TO;
	if (*rest == '.')
		slot = tsv_event_index(rest + 1, strlen(rest + 1));
	else if (*rest)
		return conf_unknown_key;
	if (slot < 0)
		return "unknown event name";
	if (q->conf.tmpl_set[part][slot])
		return "given twice";
	struct config *c = &q->conf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct buf text = { 0 };
	ssize_t got = 1;
	if (fd >= 0) {
		buf_reserve(&text, TEMPLATE_MAX + 1);
		while (got > 0 && text.n <= TEMPLATE_MAX) {
			got = read(fd, text.p + text.n, TEMPLATE_MAX + 1 - text.n);
			if (got > 0)
				text.n += (size_t)got;
		}
		close(fd);
	}
	if (fd < 0 || got < 0) {
		snprintf(c->why, sizeof c->why, "cannot read %s: %s", path, strerror(errno));
		buf_free(&text);
		return c->why;
	}
	if (text.n > TEMPLATE_MAX || memchr(text.p, 0, text.n)) {
		buf_free(&text);
		snprintf(c->why, sizeof c->why, "%s: larger than %d bytes or holds a NUL byte", path, TEMPLATE_MAX);
		return c->why;
	}
	while (part == MAIL_SUBJECT && text.n && (text.p[text.n - 1] == '\n' || text.p[text.n - 1] == '\r'))
		text.n--;
	char why[200];
	int bad = tmpl_compile(&c->tmpl[part][slot], buf_str(&text), why, sizeof why);
	buf_free(&text);
	if (bad) {
		snprintf(c->why, sizeof c->why, "%s: %s", path, why);
		return c->why;
	}
	c->tmpl_set[part][slot] = 1;
	return NULL;
}

static const char *string_key(char **dst, const char *value)
{
	if (*dst)
		return "given twice";
	*dst = xstrdup(value);
	return NULL;
}

/* A link base: http(s), no blank, quote or angle bracket (it goes into href="..."). */
static const char *link_key(char **dst, const char *value)
{
	const char *why = string_key(dst, value);
	if (why)
		return why;
	if (!xfer_is_http_url(*dst))
		return "not an http:// or https:// URL";
	for (const char *p = *dst; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || strchr("\"'<>", *p))
			return "URL holds a blank, a quote or an angle bracket";
	size_t n = strlen(*dst);
	while (n > 8 && (*dst)[n - 1] == '/')
		(*dst)[--n] = 0;
	return NULL;
}

static const char *skip_key(struct config *c, const char *value)
{
	const char *eq = strchr(value, '=');
	if (!eq || eq == value)
		return "not NAME=VALUE";
	if (c->skip_name)
		return "given twice";
	c->skip_name = strndup(value, (size_t)(eq - value));
	c->skip_value = xstrdup(eq + 1);
	if (!c->skip_name)
		die(1, "loading the config: out of memory");
	return NULL;
}

static const char *on_key(void *tool, const char *key, const char *value)
{
	struct qsmail *q = tool;
	struct config *c = &q->conf;
	unsigned long ul;
	if (!strncmp(key, "to", 2) && (!key[2] || key[2] == '.'))
		return to_key(q, key + 2, value);
	if (!strcmp(key, "route"))
		return route_key(q, value);
	if (!strncmp(key, "subject_file", 12))
		return template_key(q, MAIL_SUBJECT, key + 12, value);
	if (!strncmp(key, "text_file", 9))
		return template_key(q, MAIL_TEXT, key + 9, value);
	if (!strncmp(key, "html_file", 9))
		return template_key(q, MAIL_HTML, key + 9, value);
	if (!strcmp(key, "smtp"))
		return string_key(&c->smtp, value);
	if (!strcmp(key, "tls")) {
		c->tls_set = 1;
		if (!strcmp(value, "starttls"))
			c->tls_none = 0;
		else if (!strcmp(value, "none"))
			c->tls_none = 1;
		else
			return "not starttls or none (smtps:// URLs are TLS from the start)";
		return NULL;
	}
	if (!strcmp(key, "ca"))
		return string_key(&c->ca, value);
	if (!strcmp(key, "cert"))
		return string_key(&c->cert, value);
	if (!strcmp(key, "key"))
		return string_key(&c->key, value);
	if (!strcmp(key, "server_name"))
		return string_key(&c->server_name, value);
	if (!strcmp(key, "username"))
		return string_key(&c->username, value);
	if (!strcmp(key, "password") || !strcmp(key, "password_file"))
		return conf_secret(&c->password, value, key[8] == '_', c->why, sizeof c->why);
	if (!strcmp(key, "from")) {
		const char *why = string_key(&c->from, value);
		return why ? why : mail_address_ok(value, strlen(value)) ? NULL
			: "not an address (local@domain; the display name goes in from_name)";
	}
	if (!strcmp(key, "from_name"))
		return string_key(&c->from_name, value);
	if (!strcmp(key, "qmc_url"))
		return link_key(&c->qmc_url, value);
	if (!strcmp(key, "hub_url"))
		return link_key(&c->hub_url, value);
	if (!strcmp(key, "to_owner"))
		return conf_bool(value, &c->to_owner) ? "not yes or no" : NULL;
	if (!strcmp(key, "to_property"))
		return string_key(&c->to_property, value);
	if (!strcmp(key, "skip_property"))
		return skip_key(c, value);
	if (!strcmp(key, "digest_seconds"))
		return conf_seconds(value, 86400, &c->digest_seconds) ? "not seconds up to 86400" : NULL;
	if (!strcmp(key, "rate")) {
		if (conf_ulong(value, 1, 10000, &ul))
			return "not a number of mails a minute from 1 to 10000";
		c->rate = ul;
		return NULL;
	}
	if (!strcmp(key, "timeout"))
		return conf_seconds(value, 3600, &c->timeout) || c->timeout <= 0 ?
			"not a number of seconds above 0 (at most 3600)" : NULL;
	return conf_unknown_key;
}

/* The style's templates: per event where given, else the section-wide one, else built in. */
static void setup_style(struct qsmail *q)
{
	struct config *c = &q->conf;
	if (!c->from)
		die(2, "no from address: set from in [qsmail]");
	for (int p = 0; p < MAIL_NPARTS; p++)
		for (int ev = 0; ev < TSV_NEVENTS; ev++)
			q->style.tmpl[p][ev] = c->tmpl_set[p][ev] ? &c->tmpl[p][ev]
					     : c->tmpl_set[p][DEFAULT_TO] ? &c->tmpl[p][DEFAULT_TO] : NULL;
	q->style.from = c->from;
	q->style.from_name = c->from_name;
	q->style.qmc_url = c->qmc_url;
	q->style.hub_url = c->hub_url;
	/* Every selected event needs somewhere to go. */
	unsigned selected = sink_events(q->sink);
	for (int ev = 0; ev < TSV_NEVENTS; ev++)
		if (selected & 1u << ev && !c->to[ev].n && !c->to[DEFAULT_TO].n && !c->nroutes &&
		    !c->to_owner && !c->to_property)
			die(2, "no recipients for %s events: set to, to.%s, route, to_owner or to_property "
			    "in [qsmail]", tsv_event_names[ev].p, tsv_event_names[ev].p);
}

static int is_loopback_host(const char *h)
{
	return !strcasecmp(h, "localhost") || !strcmp(h, "::1") || !strcmp(h, "[::1]") ||
	       (!strncmp(h, "127.", 4) && h[strspn(h, "0123456789.")] == 0);
}

/* The URL libcurl is given, and with server_name the connection redirected to the URL's host
 * so that the certificate is checked against server_name. */
static void setup_url(struct qsmail *q)
{
	struct config *c = &q->conf;
	if (!c->smtp)
		die(2, "no server: set smtp = smtp://HOST:587 (or smtps://HOST:465) in [qsmail]");
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *path = NULL;
	if (!u)
		die(1, "libcurl: out of memory");
	if (curl_url_set(u, CURLUPART_URL, c->smtp, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		die(2, "smtp = %s: not a URL", c->smtp);
	if (strcmp(scheme, "smtp") && strcmp(scheme, "smtps"))
		die(2, "smtp = %s: not an smtp:// or smtps:// URL", c->smtp);
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
		die(2, "smtp: user info in the URL: set username and password (or password_file) instead");
	for (const char *p = c->smtp; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			die(2, "smtp: the URL holds a blank or control byte");
	int smtps = !strcmp(scheme, "smtps");
	if (smtps && c->tls_none)
		die(2, "tls = none with an smtps:// URL: smtps is TLS from the start");
	snprintf(q->label, sizeof q->label, "%s://%s:%s", scheme, host, port);
	if (c->server_name) {
		size_t n = strlen(c->server_name);
		if (!n || strspn(c->server_name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != n)
			die(2, "server_name = %s: not a host name", c->server_name);
		struct buf ct = { 0 };
		buf_printf(&ct, "%s:%s:%s:%s", c->server_name, port, host, port);
		q->connect_to = curl_slist_append(NULL, buf_str(&ct));
		buf_free(&ct);
		if (!q->connect_to || curl_url_set(u, CURLUPART_HOST, c->server_name, 0) != CURLUE_OK)
			die(1, "libcurl: out of memory");
	}
	if (curl_url_get(u, CURLUPART_URL, &q->url, 0) != CURLUE_OK)
		die(1, "libcurl: out of memory");
	if (!smtps && c->tls_none && !is_loopback_host(host))
		warnx("tls = none: mail to %s travels unencrypted%s", q->label,
		      c->password.n ? ", and so does the password" : "");
	if (!c->password.n && c->username)
		warnx("username without a password (password, password_file or QSMAIL_PASSWORD)");
	curl_free(scheme), curl_free(host), curl_free(port), curl_free(path);
	curl_url_cleanup(u);
}

/* ---- recipients ---- */

/* Adds an address to q->addrbuf (NUL-separated) when it is one; counts and says it when not. */
static void collect(struct qsmail *q, const char *s, size_t n, const char *whence)
{
	if (!n)
		return;
	if (!mail_address_ok(s, n)) {
		q->bad_addr++;
		if (ratelimit_allow(&q->rl_addr, 5, "bad address diagnostics")) {
			struct buf b = { 0 };
			tsv_escape(&b, s, n < 80 ? n : 80);
			warnx("%s: not an address, skipped: %s", whence, buf_str(&b));
			buf_free(&b);
		}
		return;
	}
	buf_add(&q->addrbuf, s, n);
	buf_addc(&q->addrbuf, 0);
}

static void collect_list(struct qsmail *q, const struct addrs *a)
{
	for (size_t i = 0; i < a->n; i++)
		collect(q, a->v[i], strlen(a->v[i]), "config");
}

/* Addresses in a decoded text, separated by blanks, commas or semicolons. */
static void collect_words(struct qsmail *q, const char *s, size_t n, const char *whence)
{
	size_t i = 0;
	while (i < n) {
		while (i < n && strchr(" \t,;", s[i]))
			i++;
		size_t k = i;
		while (k < n && !strchr(" \t,;", s[k]))
			k++;
		collect(q, s + i, k - i, whence);
		i = k;
	}
}

/* Each NAME=VALUE line of a task_props attribute (decoded) whose NAME is name (any case):
 * fn(q, value). Returns how many matched. */
static int each_prop(struct qsmail *q, const struct event *ev, const char *name,
		     int (*fn)(struct qsmail *q, const char *v, size_t n))
{
	struct slice props;
	if (!tsv_attr_find(ev, "task_props", 10, &props))
		return 0;
	struct buf *d = &q->work.tmp;
	buf_reset(d);
	if (tsv_unescape(d, props.p, props.n, NULL) < 0)
		return 0;
	size_t len = strlen(name);
	int hits = 0;
	for (size_t i = 0; i < d->n;) {
		const char *line = d->p + i, *lf = memchr(line, '\n', d->n - i);
		size_t n = lf ? (size_t)(lf - line) : d->n - i;
		i += n + 1;
		if (n && line[n - 1] == '\r')
			n--;
		if (n > len && line[len] == '=' && !strncasecmp(line, name, len))
			hits += fn(q, line + len + 1, n - len - 1);
	}
	return hits;
}

static int prop_addresses(struct qsmail *q, const char *v, size_t n)
{
	collect_words(q, v, n, "to_property");
	return 1;
}

static int prop_skips(struct qsmail *q, const char *v, size_t n)
{
	return strlen(q->conf.skip_value) == n && !strncasecmp(v, q->conf.skip_value, n);
}

static int cmp_addr(const void *a, const void *b)
{
	return strcasecmp(*(char *const *)a, *(char *const *)b);
}

/* The recipient set of an event (NULL: none), found or made. */
static struct rset *recipients(struct qsmail *q, const struct mail_event *e)
{
	struct config *c = &q->conf;
	buf_reset(&q->addrbuf);
	collect_list(q, c->to_set[e->kind] ? &c->to[e->kind] : &c->to[DEFAULT_TO]);
	struct glob_subject subj[NFIELDS];
	int made[NFIELDS] = { 0 };
	struct buf dec = { 0 };
	for (size_t i = 0; i < c->nroutes; i++) {
		int f = c->routes[i].field;
		if (!made[f]) {
			/* Patterns match decoded names, as qsroute's do; keep the bytes for this call. */
			buf_reset(&dec);
			tsv_unescape(&dec, e->ev.f[f].p, e->ev.f[f].n, NULL);
			char *copy = dec.n ? strndup(dec.p, dec.n) : xstrdup("");
			if (!copy)
				die(1, "out of memory");
			glob_subject(&subj[f], copy, dec.n);
			made[f] = 1;
		}
		if (glob_match(&c->routes[i].g, &subj[f]))
			collect_list(q, &c->routes[i].to);
	}
	for (int f = 0; f < NFIELDS; f++)
		if (made[f])
			free((char *)subj[f].p);
	buf_free(&dec);
	struct slice v;
	if (c->to_owner && tsv_attr_find(&e->ev, "app_owner_email", 15, &v)) {
		buf_reset(&q->work.tmp);
		tsv_unescape(&q->work.tmp, v.p, v.n, NULL);
		collect(q, q->work.tmp.p, q->work.tmp.n, "app_owner_email");	/* one address, whole */
	}
	if (c->to_property) {
		/* collect() appends to addrbuf while each_prop reads work.tmp: no overlap. */
		each_prop(q, &e->ev, c->to_property, prop_addresses);
	}
	/* Sorted and unique, regardless of case. */
	char *list[RCPT_MAX];
	size_t n = 0;
	for (size_t i = 0; i < q->addrbuf.n && n < RCPT_MAX; i += strlen(q->addrbuf.p + i) + 1)
		list[n++] = q->addrbuf.p + i;
	if (!n)
		return NULL;
	qsort(list, n, sizeof *list, cmp_addr);
	size_t u = 1;
	for (size_t i = 1; i < n; i++)
		if (strcasecmp(list[i], list[u - 1]))
			list[u++] = list[i];
	n = u;
	struct buf key = { 0 };
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addc(&key, ' ');
		for (const char *p = list[i]; *p; p++)
			buf_addc(&key, (char)tolower((unsigned char)*p));
	}
	struct rset *set = q->sets;
	while (set && strcmp(set->key, buf_str(&key)))
		set = set->next;
	if (set) {
		buf_free(&key);
		return set;
	}
	set = calloc(1, sizeof *set);
	if (!set || !(set->addr = calloc(n, sizeof *set->addr)))
		die(1, "out of memory");
	set->key = xstrdup(buf_str(&key));
	buf_free(&key);
	for (size_t i = 0; i < n; i++)
		set->addr[i] = xstrdup(list[i]);
	set->naddr = n;
	set->next = q->sets;
	q->sets = set;
	return set;
}

/* When the set may be mailed next: rate mails in any RATE_WINDOW seconds. */
static double rate_allows(const struct qsmail *q, const struct rset *set)
{
	if (set->nsent < q->conf.rate)
		return 0;
	return set->sent[set->head] + RATE_WINDOW;	/* the oldest of the last `rate` */
}

/* The ring grows as mails go, up to rate entries: most sets never need many (a ring of
 * rate = 10000 zeroed for every set cost 80 KB and most of the CPU per mail). */
static void rate_note(struct qsmail *q, struct rset *set, double now)
{
	if (set->nsent == q->conf.rate) {	/* full: the oldest makes room */
		set->sent[set->head] = now;
		set->head = (set->head + 1) % q->conf.rate;
		return;
	}
	if (set->nsent == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 4;
		if (cap > q->conf.rate)
			cap = q->conf.rate;
		double *v = realloc(set->sent, cap * sizeof *v);
		if (!v)
			die(1, "out of memory");
		set->sent = v;
		set->cap = cap;
	}
	set->sent[set->nsent++] = now;	/* head stays 0: the oldest once full */
}

/* ---- batches ---- */

static void item_event(const struct sink_item *it, struct mail_event *e)
{
	e->kind = it->event;
	sink_item_event(it, &e->ev);
}

static void batch_free(struct qsmail *q, struct batch *b)
{
	struct batch **pp = &q->batches;
	while (*pp && *pp != b)
		pp = &(*pp)->next;
	if (*pp)
		*pp = b->next;
	if (b->set->open == b)
		b->set->open = NULL;
	if (b->reply)
		for (size_t i = 0; i < b->set->naddr; i++)
			free(b->reply[i]);
	free(b->reply);
	free(b->state);
	buf_free(&b->msg);
	free(b);
}

/* An event taken from the runtime: skipped, refused for want of recipients, or added to its
 * set's open batch. */
static void route_item(struct qsmail *q, struct sink_item *it, double now)
{
	struct mail_event e;
	item_event(it, &e);
	if (q->conf.skip_name && each_prop(q, &e.ev, q->conf.skip_name, prop_skips)) {
		q->skipped++;
		sink_done(q->sink, it, SINK_OK, 0, NULL);
		return;
	}
	struct rset *set = recipients(q, &e);
	if (!set) {
		q->unaddressed++;
		sink_done(q->sink, it, SINK_PERMANENT, 0, "no recipient (no owner address or property)");
		return;
	}
	struct batch *b = set->open;
	if (!b) {
		b = calloc(1, sizeof *b);
		if (!b)
			die(1, "out of memory");
		b->set = set;
		b->due = now + q->conf.digest_seconds;
		struct batch **pp = &q->batches;
		while (*pp)
			pp = &(*pp)->next;
		*pp = b;
		set->open = b;
	}
	b->items[b->n++] = it;
	if (b->n == MAIL_DIGEST_MAX) {
		set->open = NULL;	/* full: goes as soon as the rate lets it */
		b->due = now;
	}
}

/* When b may go: its digest window (not once the input ended) or backoff, and its set's rate
 * for a first sending. */
static double batch_when(const struct qsmail *q, const struct batch *b)
{
	double when = b->built || !sink_ending(q->sink) ? b->due : 0;
	if (!b->built) {
		double r = rate_allows(q, b->set);
		if (r > when)
			when = r;
	}
	return when;
}

static void build(struct qsmail *q, struct batch *b, double now)
{
	struct mail_event e[MAIL_DIGEST_MAX];
	for (size_t i = 0; i < b->n; i++)
		item_event(b->items[i], &e[i]);
	char id[96];
	snprintf(id, sizeof id, "qsmail.%lld.%ld.%lu", (long long)time(NULL), (long)getpid(), ++q->msg_seq);
	struct mail_head h = { (const char *const *)b->set->addr, b->set->naddr, time(NULL), id };
	mail_build(&b->msg, &q->style, &h, e, b->n, &q->work);
	b->state = calloc(b->set->naddr, 1);
	b->reply = calloc(b->set->naddr, sizeof *b->reply);
	if (!b->state || !b->reply)
		die(1, "out of memory");
	b->built = 1;
	if (b->set->open == b)
		b->set->open = NULL;
	rate_note(q, b->set, now);
	q->mails++;
	q->digests += b->n > 1;
}

/* ---- sending ---- */

static size_t on_read(char *p, size_t size, size_t n, void *ctx)
{
	struct qsmail *q = ctx;
	const struct buf *m = &q->sending->msg;
	size_t len = m->n - q->upload_off, room = size * n;
	if (len > room)
		len = room;
	memcpy(p, m->p + q->upload_off, len);
	q->upload_off += len;
	return len;
}

static int rcpt_index(const struct batch *b, const char *s, size_t n)
{
	for (size_t i = 0; i < b->set->naddr; i++)
		if (strlen(b->set->addr[i]) == n && !strncasecmp(b->set->addr[i], s, n))
			return (int)i;
	return -1;
}

/* A command libcurl sent: what the next reply answers. */
static void dialogue_command(struct qsmail *q, const char *s, size_t n)
{
	struct dialogue *d = &q->dlg;
	d->rcpt = -1;
	if (n >= 10 && !strncasecmp(s, "MAIL FROM:", 10)) {
		d->cmd = CMD_MAIL;
	} else if (n >= 8 && !strncasecmp(s, "RCPT TO:", 8)) {
		d->cmd = CMD_RCPT;
		const char *lt = memchr(s, '<', n), *gt = lt ? memchr(lt, '>', n - (size_t)(lt - s)) : NULL;
		if (lt && gt)
			d->rcpt = rcpt_index(q->sending, lt + 1, (size_t)(gt - lt - 1));
	} else if (n >= 4 && !strncasecmp(s, "DATA", 4)) {
		d->cmd = CMD_DATA;
	} else {
		d->cmd = CMD_OTHER;
	}
}

/* A reply's final line (NNN text): to the command it answers. */
static void dialogue_reply(struct qsmail *q, const char *s, size_t n)
{
	struct dialogue *d = &q->dlg;
	if (n < 3 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    !isdigit((unsigned char)s[2]) || (n > 3 && s[3] == '-'))
		return;
	int code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	struct buf esc = { 0 };
	tsv_escape(&esc, s, n < REPLY_MAX / 2 ? n : REPLY_MAX / 2);
	snprintf(d->last, sizeof d->last, "%s", buf_str(&esc));
	buf_free(&esc);
	switch (d->cmd) {
	case CMD_MAIL: d->mail = code; break;
	case CMD_RCPT:
		if (d->rcpt >= 0) {
			d->rcpt_code[d->rcpt] = code;
			if (code >= 500 && !q->sending->reply[d->rcpt])
				q->sending->reply[d->rcpt] = xstrdup(d->last);
		}
		break;
	case CMD_DATA:
		d->data = code;
		if (code == 354)
			d->cmd = CMD_BODY;
		return;
	case CMD_BODY:
		d->body = code;
		snprintf(d->body_reply, sizeof d->body_reply, "%s", d->last);
		break;
	default: break;
	}
	d->cmd = CMD_NONE;
}

/* libcurl's debug callback: the SMTP dialogue, line by line (nothing of it is printed: it
 * holds the AUTH exchange). */
static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *ctx)
{
	(void)h;
	struct qsmail *q = ctx;
	if (!q->sending || (type != CURLINFO_HEADER_IN && type != CURLINFO_HEADER_OUT))
		return 0;
	struct buf *line = &q->dlg.line;
	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\n') {
			size_t n = line->n && line->p[line->n - 1] == '\r' ? line->n - 1 : line->n;
			if (type == CURLINFO_HEADER_OUT)
				dialogue_command(q, line->p ? line->p : "", n);
			else
				dialogue_reply(q, line->p ? line->p : "", n);
			buf_reset(line);
		} else if (line->n < 1024) {
			buf_addc(line, data[i]);
		}
	}
	return 0;
}

static void on_done(void *ctx, struct xfer_job *job, const struct xfer_result *r);

static void setup_curl(struct qsmail *q)
{
	struct config *c = &q->conf;
	q->xfer = xfer_new();
	if (xfer_job_init(q->xfer, &q->job, c->timeout, NULL, on_done, q) < 0)
		die(1, "libcurl: setting up the transfer failed");
	CURL *e = q->job.easy;
	struct buf from = { 0 };
	buf_printf(&from, "<%s>", c->from);
	int ok = curl_easy_setopt(e, CURLOPT_URL, q->url) == CURLE_OK &&
		 curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps") == CURLE_OK &&
		 curl_easy_setopt(e, CURLOPT_USE_SSL, c->tls_none ? (long)CURLUSESSL_NONE
								 : (long)CURLUSESSL_ALL) == CURLE_OK &&
		 (!c->ca || curl_easy_setopt(e, CURLOPT_CAINFO, c->ca) == CURLE_OK) &&
		 (!c->cert || curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert) == CURLE_OK) &&
		 (!c->key || curl_easy_setopt(e, CURLOPT_SSLKEY, c->key) == CURLE_OK) &&
		 (!q->connect_to || curl_easy_setopt(e, CURLOPT_CONNECT_TO, q->connect_to) == CURLE_OK) &&
		 (!c->username || curl_easy_setopt(e, CURLOPT_USERNAME, c->username) == CURLE_OK) &&
		 (!c->password.n || curl_easy_setopt(e, CURLOPT_PASSWORD, buf_str(&c->password)) == CURLE_OK) &&
		 curl_easy_setopt(e, CURLOPT_MAIL_FROM, buf_str(&from)) == CURLE_OK &&
		 curl_easy_setopt(e, RCPT_ALLOWFAILS, 1L) == CURLE_OK &&
		 curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) == CURLE_OK &&
		 curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read) == CURLE_OK &&
		 curl_easy_setopt(e, CURLOPT_READDATA, q) == CURLE_OK &&
		 curl_easy_setopt(e, CURLOPT_VERBOSE, 1L) == CURLE_OK &&
		 curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, on_debug) == CURLE_OK &&
		 curl_easy_setopt(e, CURLOPT_DEBUGDATA, q) == CURLE_OK &&
		 /* an idle connection is not trusted past a minute: the server may have dropped it */
		 curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, 60L) == CURLE_OK;
	buf_free(&from);	/* libcurl copies string options */
	if (!ok)
		die(1, "libcurl: setting up the transfer failed (needs libcurl with SMTP and TLS)");
}

static void start_send(struct qsmail *q, struct batch *b, double now)
{
	if (!b->built)
		build(q, b, now);
	curl_slist_free_all(q->rcpt);
	q->rcpt = NULL;
	for (size_t i = 0; i < b->set->naddr; i++) {
		if (b->state[i] != RCPT_PENDING)
			continue;
		struct curl_slist *l = curl_slist_append(q->rcpt, b->set->addr[i]);
		if (!l)
			die(1, "libcurl: out of memory");
		q->rcpt = l;
	}
	free(q->dlg.rcpt_code);
	q->dlg = (struct dialogue){ .line = q->dlg.line, .rcpt = -1,
				    .rcpt_code = calloc(b->set->naddr, sizeof (int)) };
	if (!q->dlg.rcpt_code)
		die(1, "out of memory");
	buf_reset(&q->dlg.line);
	q->sending = b;
	q->upload_off = 0;
	if (curl_easy_setopt(q->job.easy, CURLOPT_MAIL_RCPT, q->rcpt) != CURLE_OK ||
	    curl_easy_setopt(q->job.easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)b->msg.n) != CURLE_OK ||
	    xfer_start(&q->job) < 0)
		die(1, "libcurl: starting a mail to %s failed", q->label);
}

/* Stopping: what cannot go now (its rate, a backoff) goes back to the runtime, which keeps it
 * in the spool (or counts it lost) and so need not wait for it. */
static void give_back(struct qsmail *q, double now)
{
	for (struct batch *b = q->batches, *next; b; b = next) {
		next = b->next;
		if (b == q->sending || batch_when(q, b) <= now)
			continue;
		for (size_t k = 0; k < b->n; k++)
			sink_done(q->sink, b->items[k], SINK_RETRY, 0, NULL);
		batch_free(q, b);
	}
}

static void pick_and_send(struct qsmail *q, double now)
{
	if (sink_ending(q->sink) == 2)
		give_back(q, now);
	if (q->job.busy)
		return;
	struct batch *best = NULL;
	double best_when = 0;
	for (struct batch *b = q->batches; b; b = b->next) {
		double when = batch_when(q, b);
		if (when <= now && (!best || when < best_when))
			best = b, best_when = when;
	}
	if (best)
		start_send(q, best, now);
}

/* The batch is done with: each item delivered (to at least one recipient: the others' copies
 * are dead-lettered each) or dead-lettered once (no recipient took it). */
static void finish(struct qsmail *q, struct batch *b)
{
	size_t done = 0;
	struct buf why = { 0 };
	for (size_t i = 0; i < b->set->naddr; i++) {
		if (b->state[i] == RCPT_DONE) {
			done++;
		} else if (b->reply[i] && why.n < 600) {
			buf_printf(&why, "%sto %s: %s", why.n ? "; " : "", b->set->addr[i], b->reply[i]);
		}
	}
	for (size_t k = 0; k < b->n; k++) {
		if (!done) {
			sink_done(q->sink, b->items[k], SINK_PERMANENT, 0, buf_str(&why));
			continue;
		}
		for (size_t i = 0; i < b->set->naddr; i++)
			if (b->state[i] == RCPT_REFUSED) {
				buf_reset(&why);
				buf_printf(&why, "to %s: %s", b->set->addr[i], b->reply[i] ? b->reply[i] : "refused");
				sink_dead_letter(q->sink, b->items[k], buf_str(&why));
			}
		sink_done(q->sink, b->items[k], SINK_OK, 0, NULL);
	}
	buf_free(&why);
	batch_free(q, b);
}

/* The whole message refused for good: each event dead-lettered once with the reply. */
static void refuse_all(struct qsmail *q, struct batch *b, const char *why)
{
	q->refused_msg++;
	if (ratelimit_allow(&q->rl_refused, 5, "refusal diagnostics"))
		warnx("%s refused a mail of %zu event%s for good: %s: dead-lettered", q->label, b->n,
		      b->n > 1 ? "s" : "", why);
	for (size_t k = 0; k < b->n; k++)
		sink_done(q->sink, b->items[k], SINK_PERMANENT, 0, why);
	batch_free(q, b);
}

/* What a failure to send is most likely about, for the administrator. */
static const char *hint(CURLcode code)
{
	switch (code) {
	case CURLE_LOGIN_DENIED: return " (check username and password)";
	case CURLE_PEER_FAILED_VERIFICATION:
		return " (the certificate is not trusted or not for the server's name: check ca and server_name)";
	case CURLE_SSL_CACERT_BADFILE:
		/* also what a machine without the system's CA bundle says when ca is not set */
		return " (the CA certificates could not be read: check ca, or install the system's, ca-certificates)";
	case CURLE_SSL_CERTPROBLEM: case CURLE_SSL_CIPHER: return " (check cert and key)";
	case CURLE_USE_SSL_FAILED: return " (the server offers no STARTTLS: set tls = none only if you mean it)";
	default: return "";
	}
}

static void on_done(void *ctx, struct xfer_job *job, const struct xfer_result *r)
{
	(void)job;
	struct qsmail *q = ctx;
	struct batch *b = q->sending;
	struct dialogue *d = &q->dlg;
	q->sending = NULL;
	double now = now_mono();
	/* A 5xx refuses the message for good, but 530 (authentication required) to MAIL FROM is
	 * the config's fault: retried, like a refused login, until it is fixed. */
	if (d->body >= 500 || d->data >= 500 || (d->mail >= 500 && d->mail != 530)) {
		refuse_all(q, b, d->body ? d->body_reply : d->last);
		return;
	}
	/* libcurl said it went but the dialogue told nothing (it always does with the debug
	 * callback): taken as delivered to every recipient not refused, never sent again. */
	if (r->code == CURLE_OK && !d->body) {
		d->body = 250;
		for (size_t i = 0; i < b->set->naddr; i++)
			if (!d->rcpt_code[i])
				d->rcpt_code[i] = 250;
	}
	/* Each recipient's answer counts once the message went (body 2xx), or when no DATA came
	 * because every recipient was refused. */
	int answered = d->body >= 200 && d->body < 300;
	if (!answered && !d->data) {
		answered = 1;
		for (size_t i = 0; i < b->set->naddr; i++)
			if (b->state[i] == RCPT_PENDING && (!d->rcpt_code[i] || d->rcpt_code[i] < 400))
				answered = 0;
	}
	size_t refused = 0;
	for (size_t i = 0; answered && i < b->set->naddr; i++) {
		if (b->state[i] != RCPT_PENDING)
			continue;
		int code = d->rcpt_code[i];
		if (code >= 200 && code < 300) {
			b->state[i] = RCPT_DONE;
		} else if (code >= 500) {
			b->state[i] = RCPT_REFUSED;
			refused++;
			q->refused_rcpt++;
			if (ratelimit_allow(&q->rl_refused, 5, "refusal diagnostics"))
				warnx("%s refused recipient %s for good: %s: its copy of %zu event%s dead-lettered",
				      q->label, b->set->addr[i], b->reply[i] ? b->reply[i] : "", b->n,
				      b->n > 1 ? "s" : "");
		}
	}
	int pending = 0;
	for (size_t i = 0; i < b->set->naddr; i++)
		pending |= b->state[i] == RCPT_PENDING;
	if (!pending) {
		finish(q, b);
		return;
	}
	/* Try again later, the same message to those still pending. */
	q->failures++;
	double delay = sink_backoff(q->sink, b->attempts++);
	b->due = now + delay;
	if (ratelimit_allow(&q->rl_fail, 2, "send failure diagnostics")) {
		const char *what = r->code != CURLE_OK ? curl_easy_strerror(r->code) : "a recipient deferred";
		warnx("%s: %s%s%s%s: retrying in %.0f s", q->label, what, hint(r->code),
		      d->last[0] ? ": last reply: " : "", d->last, delay);
	}
}

/* ---- the sink driver ---- */

static int fds(void *ctx, struct pollfd *pfd, int max, double *wait)
{
	struct qsmail *q = ctx;
	int n = xfer_fds(q->xfer, pfd, max, wait);
	if (q->job.busy)
		return n;
	double now = now_mono();
	for (struct batch *b = q->batches; b; b = b->next) {
		double left = batch_when(q, b) - now;
		if (left < 0)
			left = 0;
		if (*wait < 0 || left < *wait)
			*wait = left;
	}
	return n;
}

static void pump(void *ctx, const struct pollfd *pfd, int npfd, double now)
{
	struct qsmail *q = ctx;
	xfer_pump(q->xfer, pfd, npfd, now);
	struct sink_item *it;
	while ((it = sink_take(q->sink, 0)))
		route_item(q, it, now);
	pick_and_send(q, now);
}

static void stop(void *ctx)
{
	struct qsmail *q = ctx;
	if (q->xfer) {
		xfer_job_free(&q->job);
		xfer_free(q->xfer);
		q->xfer = NULL;
	}
	q->sending = NULL;
	while (q->batches)
		batch_free(q, q->batches);	/* their items stay the runtime's: spooled or counted */
	ratelimit_flush(&q->rl_fail, "send failure diagnostics");
	ratelimit_flush(&q->rl_refused, "refusal diagnostics");
	ratelimit_flush(&q->rl_addr, "bad address diagnostics");
}

static void counters(void *ctx, struct buf *out)
{
	struct qsmail *q = ctx;
	size_t held = 0;
	for (struct batch *b = q->batches; b; b = b->next)
		held += b->n;
	buf_printf(out, " mails=%lu digests=%lu held=%zu send_failures=%lu refused_recipients=%lu "
		   "refused_mails=%lu skipped=%lu no_recipient=%lu bad_addresses=%lu", q->mails,
		   q->digests, held, q->failures, q->refused_rcpt, q->refused_msg, q->skipped,
		   q->unaddressed, q->bad_addr);
}

/* The dry run's pump: each event's mail, as it would go, to stdout in mbox form. */
static void print_mail(void *ctx, const struct pollfd *pfd, int npfd, double now)
{
	(void)pfd, (void)npfd, (void)now;
	struct qsmail *q = ctx;
	struct sink_item *it;
	while ((it = sink_take(q->sink, 0))) {
		struct mail_event e;
		item_event(it, &e);
		if (q->conf.skip_name && each_prop(q, &e.ev, q->conf.skip_name, prop_skips)) {
			q->skipped++;
			sink_done(q->sink, it, SINK_OK, 0, NULL);
			continue;
		}
		struct rset *set = recipients(q, &e);
		if (!set) {
			q->unaddressed++;
			sink_done(q->sink, it, SINK_PERMANENT, 0, "no recipient (no owner address or property)");
			continue;
		}
		char id[64];
		snprintf(id, sizeof id, "qsmail.dry-run.%lu", ++q->msg_seq);
		struct mail_head h = { (const char *const *)set->addr, set->naddr, time(NULL), id };
		buf_adds(&q->preview, "From qsmail Thu Jan  1 00:00:00 1970\n");
		mail_build(&q->preview, &q->style, &h, &e, 1, &q->work);
		buf_addc(&q->preview, '\n');
		sink_done(q->sink, it, SINK_OK, 0, NULL);
	}
	if (buf_write_fd(&q->preview, 1) < 0)
		diesys(1, "write stdout");
}

/* Frees what main set up, so that a leak checker sees only real leaks. */
static int release(struct qsmail *q, int status)
{
	struct config *c = &q->conf;
	char **strings[] = { &c->smtp, &c->username, &c->from, &c->from_name, &c->ca, &c->cert,
			     &c->key, &c->server_name, &c->qmc_url, &c->hub_url, &c->to_property,
			     &c->skip_name, &c->skip_value };
	for (size_t i = 0; i < sizeof strings / sizeof *strings; i++)
		free(*strings[i]);
	buf_free(&c->password);
	for (int i = 0; i <= TSV_NEVENTS; i++)
		addrs_free(&c->to[i]);
	for (size_t i = 0; i < c->nroutes; i++) {
		glob_free(&c->routes[i].g);
		addrs_free(&c->routes[i].to);
	}
	free(c->routes);
	for (int p = 0; p < MAIL_NPARTS; p++)
		for (int i = 0; i <= TSV_NEVENTS; i++)
			tmpl_free(&c->tmpl[p][i]);
	while (q->sets) {
		struct rset *s = q->sets;
		q->sets = s->next;
		for (size_t i = 0; i < s->naddr; i++)
			free(s->addr[i]);
		free(s->addr);
		free(s->sent);
		free(s->key);
		free(s);
	}
	curl_free(q->url);
	curl_slist_free_all(q->connect_to);
	curl_slist_free_all(q->rcpt);
	free(q->dlg.rcpt_code);
	buf_free(&q->dlg.line);
	buf_free(&q->addrbuf);
	buf_free(&q->preview);
	mail_work_free(&q->work);
	return status;
}

int main(int argc, char **argv)
{
	diag_init("qsmail");
	diag_std_flags(argc, argv, usage);
	struct qsmail q = { .conf = { .digest_seconds = 60, .rate = 10, .timeout = 30 } };
	struct sink_driver driver = {
		.name = "qsmail", .default_events = 1u << EV_TASK_FAILED | 1u << EV_TASK_ABORTED,
		.conf_key = on_key, .fds = fds, .pump = pump, .stop = stop, .counters = counters,
	};
	q.sink = sink_new(&driver, &q);
	int c, tee = 0;
	while ((c = getopt(argc, argv, SINK_FLAGS "n")) != -1) {
		tee |= c == 't';
		if (sink_flag(q.sink, c, optarg))
			continue;
		if (c == 'n')
			q.dry_run = 1;
		else
			diag_usage(usage);
	}
	if (q.dry_run && tee)
		die(2, "-n and -t both write stdout: give one");
	sink_configure(q.sink);
	conf_secret_env(&q.conf.password, "QSMAIL_PASSWORD");
	setup_style(&q);
	if (q.dry_run) {
		sink_transient(q.sink);
		driver = (struct sink_driver){ .name = driver.name, .default_events = driver.default_events,
					       .conf_key = on_key, .pump = print_mail,
					       .counters = counters };
		return release(&q, sink_run(q.sink, argc - optind, argv + optind));
	}
	setup_url(&q);
	setup_curl(&q);
	int status = sink_run(q.sink, argc - optind, argv + optind);
	return release(&q, status);
}
