/* mail.c: whatever an event holds, the message parses as the one mail.c meant: 7-bit, CRLF
 * line ends only, lines under 998 bytes (78 here), only the headers mail.c writes (no Bcc or
 * second Subject from a value), the boundary exactly where the parts start and end. */
#include <stdlib.h>
#include <string.h>

#include "../mail.h"

static struct tmpl subject, text, html;
static struct mail_style plain_style, tmpl_style;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	char why[128];
	if (tmpl_compile(&subject, "[{host}] {task_name}: {message}", why, sizeof why) ||
	    tmpl_compile(&text, "Task {task_name}\n{message}\n", why, sizeof why) ||
	    tmpl_compile(&html, "<p>{message}</p><b>{user}</b>", why, sizeof why))
		abort();
	plain_style = (struct mail_style){ .from = "qspipe@example.com", .from_name = "Qlik \xc3\xa9 alerts",
					   .qmc_url = "https://sense/qmc", .hub_url = "https://sense/hub" };
	tmpl_style = plain_style;
	tmpl_style.from_name = "Alerts";
	for (int k = 0; k < TSV_NEVENTS; k++) {
		tmpl_style.tmpl[MAIL_SUBJECT][k] = &subject;
		tmpl_style.tmpl[MAIL_TEXT][k] = &text;
		if (k & 1)
			tmpl_style.tmpl[MAIL_HTML][k] = &html;
	}
	return 0;
}

static const char *const headers[] = {
	"From:", "To:", "Subject:", "Date:", "Message-ID:", "In-Reply-To:", "References:",
	"X-Qspipe-Exec-Id:", "X-Qspipe-Event:", "Auto-Submitted:", "MIME-Version:", "Content-Type:",
};

static void check(const struct buf *m, size_t nexec)
{
	size_t line = 0, start = 0, bounds = 0, exec = 0, subjects = 0;
	int in_headers = 1;
	for (size_t i = 0; i < m->n; i++) {
		unsigned char c = (unsigned char)m->p[i];
		if (c >= 0x80 || !c)
			abort();
		if (c == '\r' && (i + 1 == m->n || m->p[i + 1] != '\n'))
			abort();
		if (c == '\n' && (i == 0 || m->p[i - 1] != '\r'))
			abort();
		if (c != '\n')
			continue;
		const char *l = m->p + start;
		size_t len = i - 1 - start;
		if (len > 78)
			abort();
		if (in_headers && !len) {
			in_headers = 0;
		} else if (in_headers && *l != ' ') {
			size_t k = 0;
			while (k < sizeof headers / sizeof *headers && strncmp(l, headers[k], strlen(headers[k])))
				k++;
			if (k == sizeof headers / sizeof *headers)
				abort();
			exec += k == 7;
			subjects += k == 2;
		} else if (!in_headers && len >= 11 && !memcmp(l, "--=_qspipe_", 11)) {
			bounds++;
		}
		if (!in_headers && memmem(l, len, "=_qspipe", 8) && !(len >= 11 && !memcmp(l, "--=_qspipe_", 11)))
			abort();
		start = i + 1;
		line++;
	}
	if (start != m->n || in_headers || bounds != 3 || subjects != 1 || exec != nexec)
		abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	static struct buf line, attrs, msg;
	static struct mail_work work;
	static const char *to[] = { "a@example.com", "b.c@mail.example.org" };
	buf_reset(&line);
	tsv_escape(&line, (const char *)data, n);
	buf_reset(&attrs);
	buf_adds(&attrs, "exec_duration_ms=");
	buf_add(&attrs, line.p, line.n < 12 ? line.n : 12);
	buf_adds(&attrs, "\tscript_log_tail=");
	buf_add(&attrs, line.p, line.n);
	buf_adds(&attrs, "\tapp_owner_email=");
	buf_add(&attrs, line.p, line.n);
	buf_adds(&attrs, "\tcustom=");
	buf_add(&attrs, line.p, line.n);
	struct mail_event e[TSV_NEVENTS];
	for (int kind = 0; kind < TSV_NEVENTS; kind++) {
		e[kind].kind = kind;
		for (int i = 0; i < NFIELDS; i++)
			e[kind].ev.f[i] = (struct slice){ line.p ? line.p : "", line.n };
		e[kind].ev.f[F_EVENT] = tsv_event_names[kind];
		e[kind].ev.attrs = (struct slice){ attrs.p, attrs.n };
	}
	struct mail_head h = { to, 2, 1764585600, "1764585600.42.7" };
	size_t nexec = line.n ? 1 : 0;
	for (int s = 0; s < 2; s++) {
		const struct mail_style *st = s ? &tmpl_style : &plain_style;
		for (int kind = 0; kind < TSV_NEVENTS; kind++) {
			buf_reset(&msg);
			mail_build(&msg, st, &h, &e[kind], 1, &work);
			check(&msg, nexec);
		}
		buf_reset(&msg);
		mail_build(&msg, st, &h, e, TSV_NEVENTS, &work);
		check(&msg, nexec * TSV_NEVENTS);
	}
	return 0;
}
