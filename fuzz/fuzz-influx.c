/* influx.c: whatever an event holds (columns, attributes, static tags, measurement names), every
 * point is one well-formed line that a line-protocol parser written for the test reads back,
 * and no field ever changes its type. The input's first byte picks the event kind and the api,
 * the rest is cut at NUL bytes into the values: columns, then attributes (every name the schema
 * knows, and two it does not), then a static tag and a measurement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../influx.h"
#include "lpcheck.h"

static const char *const attr_names[] = {
	"service", "service_user", "command", "result", "proxy_session_id", "session_id",
	"exe_version", "method", "handle", "object_id", "object_type", "process_ms", "work_ms",
	"lock_ms", "validate_ms", "traverse_ms", "net_ram", "peak_ram", "ua_browser",
	"ua_browser_major", "ua_os", "ua_os_version", "exec_status", "exec_node",
	"exec_duration_ms", "script_log_rows", "exec_details", "log_time", "other_thing",
};
#define NATTR (sizeof attr_names / sizeof *attr_names)

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	static struct buf line, out, esc;
	if (!n)
		return 0;
	int kind = data[0] % TSV_NEVENTS, v3 = data[0] / TSV_NEVENTS & 1;
	const char *p = (const char *)data + 1, *end = (const char *)data + n;
	struct slice piece[NFIELDS + NATTR + 2];
	size_t np = 0;
	while (np < sizeof piece / sizeof *piece) {
		const char *z = memchr(p, 0, (size_t)(end - p));
		piece[np++] = (struct slice){ p, (size_t)((z ? z : end) - p) };
		if (!z)
			break;
		p = z + 1;
	}
	/* the event line: the time fixed, the rest escaped as the sink runtime requires */
	buf_reset(&line);
	buf_adds(&line, "2026-11-20T23:52:15.123456Z\t");
	buf_adds(&line, tsv_event_names[kind].p);
	for (size_t i = 2; i < NFIELDS; i++) {
		buf_addc(&line, '\t');
		if (i < np)
			tsv_escape(&line, piece[i].p, piece[i].n);
	}
	for (size_t i = 0; i < NATTR && NFIELDS + i < np; i++)
		tsv_attr_append(&line, attr_names[i], piece[NFIELDS + i].p, piece[NFIELDS + i].n);
	struct event ev;
	if (tsv_parse_event(line.p, line.n, &ev, NULL) < 0 || tsv_check_attrs(ev.attrs.p, ev.attrs.n))
		abort();
	struct influx ix;
	influx_init(&ix);
	ix.v3 = v3;
	if (NFIELDS + NATTR < np) {	/* a static tag, when the builder takes it */
		buf_reset(&esc);
		buf_add(&esc, piece[NFIELDS + NATTR].p, piece[NFIELDS + NATTR].n);
		(void)influx_static_tag(&ix, buf_str(&esc));
		(void)influx_static_tag(&ix, "env=PROD");
	}
	if (NFIELDS + NATTR + 1 < np) {
		buf_reset(&esc);
		buf_add(&esc, piece[NFIELDS + NATTR + 1].p, piece[NFIELDS + NATTR + 1].n);
		(void)influx_measurement(&ix, kind, buf_str(&esc));
	}
	buf_reset(&out);
	const char *why = influx_point(&ix, &ev, kind, &out);
	if (why)
		abort();	/* the time is fixed and valid */
	why = lpcheck_point(out.p, out.n);
	if (why) {
		fprintf(stderr, "%s: %.*s", why, (int)out.n, out.p);
		abort();
	}
	influx_free(&ix);
	return 0;
}
