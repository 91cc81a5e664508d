/* qrs.h: whatever JSON the QRS answers, reading it as a ReloadTask, an execution list, an
 * execution, an App, a User or a script-log reference never crashes; what it reads is
 * well-formed: status names from the QRS's list, GUIDs where GUIDs go, a reference that is a
 * safe path segment, numbers where numbers go. */
#include <stdlib.h>
#include <string.h>

#include "../qrs.h"

static void check_guid(const char *s)
{
	if (*s && !qrs_is_guid(s, strlen(s)))
		abort();
}

static void check_facts(const struct qrs_facts *f)
{
	const struct buf *st = &f->v[QA_EXEC_STATUS], *ms = &f->v[QA_EXEC_DURATION_MS];
	if (st->n) {
		int known = 0;
		for (long long i = 0; qrs_status_name(i); i++)
			known |= strlen(qrs_status_name(i)) == st->n && !memcmp(qrs_status_name(i), st->p, st->n);
		if (!known)
			abort();
	}
	for (size_t i = 0; i < ms->n; i++)
		if (ms->p[i] < '0' || ms->p[i] > '9')
			abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
	static struct jsonr j;
	static struct qrs_facts f;
	static struct buf ref;
	char id[QRS_GUID_LEN + 1];
	int node;
	struct qrs_exec ex;
	if (jsonr_parse(&j, (const char *)data, n) < 0)
		return 0;
	qrs_facts_clear(&f, ~0u);
	if (!qrs_task(&j, &f, id, &node)) {
		check_guid(id);
		if (node >= 0) {
			if (qrs_exec_read(&j, node, &ex) < 0)
				abort();
			check_guid(ex.id);
			check_guid(ex.file_ref);
			qrs_exec_facts(&j, node, &f);
		}
	}
	if (!qrs_exec_list(&j, &node) && node >= 0)
		qrs_exec_facts(&j, node, &f);
	if (!qrs_app(&j, &f, id))
		check_guid(id);
	qrs_user(&j, &f);
	if (!qrs_value(&j, &ref)) {
		if (!ref.n || ref.n != strlen(ref.p) || strspn(ref.p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			"abcdefghijklmnopqrstuvwxyz0123456789-_.") != ref.n || !strcmp(ref.p, ".."))
			abort();
	}
	check_facts(&f);
	return 0;
}
