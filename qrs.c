#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "qrs.h"
#include "tsv.h"

const char *const qrs_attr_names[QA_NATTRS] = {
	"exec_status", "exec_node", "exec_start", "exec_stop", "exec_duration_ms", "exec_details",
	"script_log_rows", "script_log_head", "script_log_tail",
	"app_description", "app_owner", "app_owner_name", "app_owner_email", "app_stream",
	"task_tags", "app_tags", "task_props", "app_props",
};

int qrs_is_guid(const char *s, size_t n)
{
	if (n != QRS_GUID_LEN)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		char c = s[i];
		if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
					(c >= 'A' && c <= 'F')))
			return 0;
	}
	return 1;
}

int qrs_is_nil_guid(const char *s)
{
	return !strcmp(s, "00000000-0000-0000-0000-000000000000");
}

void qrs_facts_free(struct qrs_facts *f)
{
	for (int i = 0; i < QA_NATTRS; i++)
		buf_free(&f->v[i]);
}

void qrs_facts_clear(struct qrs_facts *f, unsigned mask)
{
	for (int i = 0; i < QA_NATTRS; i++)
		if (mask >> i & 1)
			buf_reset(&f->v[i]);
}

void qrs_facts_copy(struct qrs_facts *dst, const struct qrs_facts *src, unsigned mask)
{
	for (int i = 0; i < QA_NATTRS; i++) {
		if (!(mask >> i & 1))
			continue;
		buf_reset(&dst->v[i]);
		buf_add(&dst->v[i], src->v[i].p, src->v[i].n);
	}
}

static const char *const status_names[] = {
	"NeverStarted", "Triggered", "Started", "Queued", "AbortInitiated", "Aborting", "Aborted",
	"FinishedSuccess", "FinishedFail", "Skipped", "Retry", "Error", "Reset",
};

const char *qrs_status_name(long long status)
{
	return status >= 0 && status < (long long)(sizeof status_names / sizeof *status_names)
		       ? status_names[status] : NULL;
}

int qrs_status_final(long long status)
{
	return status == 6 || status == 7 || status == 8 || status == 9 || status == 11 ||
	       status == 12;
}

int qrs_xrfkey(char key[17])
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char r[16];
	size_t got = 0;
	while (got < sizeof r) {
		ssize_t n = getrandom(r + got, sizeof r - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	/* 248 = 4 * 62: values past it are folded unevenly, but a key need not be uniform, only
	 * unguessable enough to be a CSRF token, as the QRS uses it. */
	for (int i = 0; i < 16; i++)
		key[i] = alphabet[r[i] % 62];
	key[16] = '\0';
	return 0;
}

const char *qrs_user_header(const char *user, struct buf *out)
{
	const char *bs = strchr(user, '\\');
	if (!bs || bs == user || !bs[1] || strchr(bs + 1, '\\'))
		return NULL;
	for (const char *p = user; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ';')
			return NULL;
	buf_reset(out);
	buf_printf(out, "X-Qlik-User: UserDirectory=%.*s; UserId=%s", (int)(bs - user), user, bs + 1);
	return buf_str(out);
}

/* The string at node i as a GUID into out ("" when it is not one). */
static void guid_of(const struct jsonr *j, int i, char out[QRS_GUID_LEN + 1])
{
	size_t n;
	const char *s = jsonr_str(j, i, &n);
	out[0] = '\0';
	if (s && qrs_is_guid(s, n))
		memcpy(out, s, QRS_GUID_LEN + 1);
}

/* Sense writes "never" as 1753-01-01T00:00:00.000Z (SQL Server's smallest date). */
static const char *real_time(const struct jsonr *j, int i, size_t *n)
{
	const char *s = jsonr_str(j, i, n);
	return s && *n >= 4 && memcmp(s, "1753", 4) ? s : NULL;
}

int qrs_exec_read(const struct jsonr *j, int node, struct qrs_exec *ex)
{
	*ex = (struct qrs_exec){ .status = -1 };
	if (jsonr_type(j, node) != JSONR_OBJECT)
		return -1;
	guid_of(j, jsonr_get(j, node, "id"), ex->id);
	guid_of(j, jsonr_get(j, node, "fileReferenceID"), ex->file_ref);
	if (qrs_is_nil_guid(ex->file_ref))
		ex->file_ref[0] = '\0';
	if (jsonr_int(j, jsonr_get(j, node, "status"), &ex->status) < 0)
		ex->status = -1;
	size_t n;
	const char *stop = real_time(j, jsonr_get(j, node, "stopTime"), &n);
	ex->has_stop = stop && tsv_parse_time(stop, n, &ex->stop) == 0;
	return 0;
}

static void set_str(struct buf *b, const struct jsonr *j, int i)
{
	size_t n;
	const char *s = jsonr_str(j, i, &n);
	buf_reset(b);
	if (s)
		buf_add(b, s, n);
}

/* Details sorted oldest first by their time (RFC 3339 as the QRS writes it sorts as text). */
struct detail {
	const char *time, *msg;
	size_t tn, mn;
};

static int by_time(const void *a, const void *b)
{
	const struct detail *x = a, *y = b;
	size_t n = x->tn < y->tn ? x->tn : y->tn;
	int c = memcmp(x->time, y->time, n);
	return c ? c : (x->tn > y->tn) - (x->tn < y->tn);
}

#define DETAILS_MAX 200

static void details(const struct jsonr *j, int arr, struct buf *out)
{
	struct detail d[DETAILS_MAX];
	size_t nd = 0;
	buf_reset(out);
	for (int i = jsonr_first(j, arr); i >= 0 && nd < DETAILS_MAX; i = jsonr_next(j, i)) {
		struct detail *e = &d[nd];
		e->time = jsonr_str(j, jsonr_get(j, i, "detailCreatedDate"), &e->tn);
		e->msg = jsonr_str(j, jsonr_get(j, i, "message"), &e->mn);
		if (!e->msg)
			continue;
		if (!e->time)
			e->time = "", e->tn = 0;
		nd++;
	}
	/* qsort is not stable; the index would be needed for equal times: rare, harmless */
	qsort(d, nd, sizeof *d, by_time);
	for (size_t i = 0; i < nd; i++) {
		if (i)
			buf_addc(out, '\n');
		buf_add(out, d[i].time, d[i].tn);
		if (d[i].tn)
			buf_addc(out, ' ');
		buf_add(out, d[i].msg, d[i].mn);
	}
}

void qrs_exec_facts(const struct jsonr *j, int node, struct qrs_facts *f)
{
	long long v;
	size_t n;
	const char *s;
	qrs_facts_clear(f, QA_EXEC_GROUP);
	if (jsonr_int(j, jsonr_get(j, node, "status"), &v) == 0 && qrs_status_name(v))
		buf_adds(&f->v[QA_EXEC_STATUS], qrs_status_name(v));
	set_str(&f->v[QA_EXEC_NODE], j, jsonr_get(j, node, "executingNodeName"));
	if ((s = real_time(j, jsonr_get(j, node, "startTime"), &n)))
		buf_add(&f->v[QA_EXEC_START], s, n);
	if ((s = real_time(j, jsonr_get(j, node, "stopTime"), &n)))
		buf_add(&f->v[QA_EXEC_STOP], s, n);
	if (jsonr_int(j, jsonr_get(j, node, "duration"), &v) == 0 && v >= 0 &&
	    (f->v[QA_EXEC_STOP].n || v > 0))
		buf_printf(&f->v[QA_EXEC_DURATION_MS], "%lld", v);
	details(j, jsonr_get(j, node, "details"), &f->v[QA_EXEC_DETAILS]);
}

/* Names of [{name: ...}], one a line. */
static void names(const struct jsonr *j, int arr, struct buf *out)
{
	buf_reset(out);
	for (int i = jsonr_first(j, arr); i >= 0; i = jsonr_next(j, i)) {
		size_t n;
		const char *s = jsonr_str(j, jsonr_get(j, i, "name"), &n);
		if (!s || !n)
			continue;
		if (out->n)
			buf_addc(out, '\n');
		buf_add(out, s, n);
	}
}

/* customProperties: NAME=VALUE, one a line (a property with several values has several). */
static void props(const struct jsonr *j, int arr, struct buf *out)
{
	buf_reset(out);
	for (int i = jsonr_first(j, arr); i >= 0; i = jsonr_next(j, i)) {
		size_t nn, vn;
		const char *name = jsonr_str(j, jsonr_path(j, i, "definition.name"), &nn);
		const char *value = jsonr_str(j, jsonr_get(j, i, "value"), &vn);
		if (!name || !nn || !value)
			continue;
		if (out->n)
			buf_addc(out, '\n');
		buf_add(out, name, nn);
		buf_addc(out, '=');
		buf_add(out, value, vn);
	}
}

const char *qrs_task(const struct jsonr *j, struct qrs_facts *f, char app_id[QRS_GUID_LEN + 1],
		     int *last)
{
	if (jsonr_type(j, 0) != JSONR_OBJECT || jsonr_get(j, 0, "id") < 0)
		return "not a ReloadTask";
	names(j, jsonr_get(j, 0, "tags"), &f->v[QA_TASK_TAGS]);
	props(j, jsonr_get(j, 0, "customProperties"), &f->v[QA_TASK_PROPS]);
	guid_of(j, jsonr_path(j, 0, "app.id"), app_id);
	*last = jsonr_path(j, 0, "operational.lastExecutionResult");
	if (jsonr_type(j, *last) != JSONR_OBJECT)
		*last = -1;
	return NULL;
}

const char *qrs_exec_list(const struct jsonr *j, int *node)
{
	if (jsonr_type(j, 0) != JSONR_ARRAY)
		return "not a list of execution results";
	*node = jsonr_first(j, 0);
	if (*node >= 0 && jsonr_type(j, *node) != JSONR_OBJECT)
		return "not a list of execution results";
	return NULL;
}

const char *qrs_app(const struct jsonr *j, struct qrs_facts *f, char owner_id[QRS_GUID_LEN + 1])
{
	if (jsonr_type(j, 0) != JSONR_OBJECT || jsonr_get(j, 0, "id") < 0)
		return "not an App";
	qrs_facts_clear(f, QA_APP_GROUP);
	set_str(&f->v[QA_APP_DESCRIPTION], j, jsonr_get(j, 0, "description"));
	int owner = jsonr_get(j, 0, "owner");
	size_t dn, un;
	const char *dir = jsonr_str(j, jsonr_get(j, owner, "userDirectory"), &dn);
	const char *uid = jsonr_str(j, jsonr_get(j, owner, "userId"), &un);
	if (uid && un) {
		if (dir && dn) {
			buf_add(&f->v[QA_APP_OWNER], dir, dn);
			buf_addc(&f->v[QA_APP_OWNER], '\\');
		}
		buf_add(&f->v[QA_APP_OWNER], uid, un);
	}
	set_str(&f->v[QA_APP_OWNER_NAME], j, jsonr_get(j, owner, "name"));
	guid_of(j, jsonr_get(j, owner, "id"), owner_id);
	set_str(&f->v[QA_APP_STREAM], j, jsonr_path(j, 0, "stream.name"));
	names(j, jsonr_get(j, 0, "tags"), &f->v[QA_APP_TAGS]);
	props(j, jsonr_get(j, 0, "customProperties"), &f->v[QA_APP_PROPS]);
	return NULL;
}

const char *qrs_user(const struct jsonr *j, struct qrs_facts *f)
{
	if (jsonr_type(j, 0) != JSONR_OBJECT || jsonr_get(j, 0, "id") < 0)
		return "not a User";
	buf_reset(&f->v[QA_APP_OWNER_EMAIL]);
	int attrs = jsonr_get(j, 0, "attributes");
	for (int i = jsonr_first(j, attrs); i >= 0; i = jsonr_next(j, i)) {
		const char *type = jsonr_str(j, jsonr_get(j, i, "attributeType"), NULL);
		size_t n;
		const char *value = jsonr_str(j, jsonr_get(j, i, "attributeValue"), &n);
		if (type && value && n && !strcasecmp(type, "email")) {
			buf_add(&f->v[QA_APP_OWNER_EMAIL], value, n);
			break;
		}
	}
	return NULL;
}

const char *qrs_value(const struct jsonr *j, struct buf *out)
{
	size_t n;
	const char *s = jsonr_str(j, jsonr_get(j, 0, "value"), &n);
	if (!s)
		return "no value in the answer";
	if (!n || n > 200 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				    "0123456789-_.") != n || !strcmp(s, ".") || !strcmp(s, ".."))
		return "a value that is not a file reference";
	buf_reset(out);
	buf_add(out, s, n);
	buf_str(out);
	return NULL;
}
