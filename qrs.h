/* qrs: what qsenrich asks the Qlik Sense Repository Service (QRS API) and what it makes of the
 * answers: the Xrfkey and X-Qlik-User headers, GUID checks, the status names, and the facts of
 * the enrichment attributes (qspipe-events(5)) read from ReloadTask, ExecutionResult, App and
 * User answers parsed by jsonr. No transport here: qsenrich asks, on xfer.h. */
#ifndef QRS_H
#define QRS_H
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "jsonr.h"

#define QRS_GUID_LEN 36
/* Whether s is a GUID, 8-4-4-4-12 hex digits: what may go into a request path. */
int qrs_is_guid(const char *s, size_t n);
/* Whether s is the all-zero GUID Sense writes for "none". */
int qrs_is_nil_guid(const char *s);

/* The attributes, in qspipe-events(5)'s order, in groups learned from one answer each. */
enum qrs_attr {
	QA_EXEC_STATUS, QA_EXEC_NODE, QA_EXEC_START, QA_EXEC_STOP, QA_EXEC_DURATION_MS,
	QA_EXEC_DETAILS,			/* the execution */
	QA_SCRIPT_LOG_ROWS, QA_SCRIPT_LOG_HEAD, QA_SCRIPT_LOG_TAIL,	/* the script log */
	QA_APP_DESCRIPTION, QA_APP_OWNER, QA_APP_OWNER_NAME, QA_APP_OWNER_EMAIL, QA_APP_STREAM,
	QA_TASK_TAGS, QA_APP_TAGS, QA_TASK_PROPS, QA_APP_PROPS,
	QA_NATTRS
};
#define QA_EXEC_GROUP (0x3fu)
#define QA_LOG_GROUP (0x7u << QA_SCRIPT_LOG_ROWS)
#define QA_APP_GROUP ((0x1fu << QA_APP_DESCRIPTION) | 1u << QA_APP_TAGS | 1u << QA_APP_PROPS)
#define QA_OWNER_EMAIL_GROUP (1u << QA_APP_OWNER_EMAIL)
#define QA_TASK_GROUP (1u << QA_TASK_TAGS | 1u << QA_TASK_PROPS)
extern const char *const qrs_attr_names[QA_NATTRS];

/* Values decoded (raw bytes, not yet escaped); empty: not known. */
struct qrs_facts {
	struct buf v[QA_NATTRS];
};
void qrs_facts_free(struct qrs_facts *f);
/* Empties the attributes of the mask (bit 1u << enum qrs_attr). */
void qrs_facts_clear(struct qrs_facts *f, unsigned mask);
/* Copies the attributes of the mask from src over dst's. */
void qrs_facts_copy(struct qrs_facts *dst, const struct qrs_facts *src, unsigned mask);

/* The QRS's TaskExecutionStatus names: 0 NeverStarted ... 8 FinishedFail ... 12 Reset; NULL
 * for another number. */
const char *qrs_status_name(long long status);
/* Whether the status is an end (Aborted, FinishedSuccess, FinishedFail, Skipped, Error, Reset). */
int qrs_status_final(long long status);

/* 16 random letters and digits (NUL-terminated), for the xrfkey parameter and the
 * X-Qlik-Xrfkey header. 0 ok; -1 when the system has no randomness to give (errno set). */
int qrs_xrfkey(char key[17]);
/* "X-Qlik-User: UserDirectory=DIR; UserId=ID" for a DIR\ID user; NULL when user is not of that
 * form (or holds a control byte or ';'). */
const char *qrs_user_header(const char *user, struct buf *out);

/* An execution result as read, to match it to an event. */
struct qrs_exec {
	char id[QRS_GUID_LEN + 1];		/* "" when absent or not a GUID */
	char file_ref[QRS_GUID_LEN + 1];	/* "" when absent, nil or not a GUID */
	long long status;			/* -1 when absent */
	int has_stop;
	struct timespec stop;
};
/* Reads the execution (ExecutionResult or its condensed form) at node; -1 when not an object. */
int qrs_exec_read(const struct jsonr *j, int node, struct qrs_exec *ex);
/* Its facts: status, node, start, stop (not Sense's 1753 "never"), duration, details (one
 * "TIME message" line each, oldest first). */
void qrs_exec_facts(const struct jsonr *j, int node, struct qrs_facts *f);

/* A ReloadTask: task tags and custom properties into f, the app's id (GUID or ""), and the
 * node of operational.lastExecutionResult (-1 when none). NULL, or why it is not one. */
const char *qrs_task(const struct jsonr *j, struct qrs_facts *f, char app_id[QRS_GUID_LEN + 1],
		     int *last);
/* The execution of an executionresult/full answer (an array): its node, or -1 when empty. NULL,
 * or why it is not one. */
const char *qrs_exec_list(const struct jsonr *j, int *node);
/* An App: description, owner (DIR\id and name), stream, tags, custom properties; the owner's
 * user id (GUID or ""). NULL, or why it is not one. */
const char *qrs_app(const struct jsonr *j, struct qrs_facts *f, char owner_id[QRS_GUID_LEN + 1]);
/* A User: the first attribute of type email (any case) as the owner's email. */
const char *qrs_user(const struct jsonr *j, struct qrs_facts *f);
/* The {"value": "..."} of the script-log endpoints, when it is safe as a path segment (letters,
 * digits, '-', '_', '.'); else why not. */
const char *qrs_value(const struct jsonr *j, struct buf *out);

#endif
