/* ua: uap-core's regexes.yaml read with libyaml, matched with PCRE2 (JIT where the machine has
 * it), as uap-core's specification describes: the first regex of a list that matches wins; a
 * *_replacement overrides its group and may name groups as $1..$9; results are trimmed. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "diag.h"
#include "tsv.h"
#include "ua.h"

/* Longer user agents are matched on their first UA_MAX bytes: real ones are a few hundred. */
#define UA_MAX 1024
/* A hostile string cannot make one regex backtrack for long. */
#define UA_MATCH_LIMIT 200000
/* Direct-mapped cache of recent user agents. */
#define UA_CACHE 512

enum { R_FAMILY, R_V1, R_V2, R_V3, R_V4, NREPL };

struct rule {
	char *regex;
	char *repl[NREPL];
	int caseless;
	int state;		/* 0 not compiled yet, 1 compiled, -1 PCRE2 refused it */
	pcre2_code *re;
};

struct rules {
	struct rule *r;
	size_t n;
};

struct cache_ent {
	uint64_t hash;
	size_t n;
	char *ua;		/* NULL: empty slot */
	struct ua_result res;
};

struct ua_db {
	struct rules ua, os;
	pcre2_match_data *md;
	pcre2_match_context *mc;
	size_t bad;
	struct cache_ent cache[UA_CACHE];
	struct ua_result spare;	/* the answer when the cache cannot take it */
};

static const char *const ua_keys[NREPL] = {
	"family_replacement", "v1_replacement", "v2_replacement", "v3_replacement", NULL };
static const char *const os_keys[NREPL] = {
	"os_replacement", "os_v1_replacement", "os_v2_replacement", "os_v3_replacement",
	"os_v4_replacement" };

static char *node_str(yaml_document_t *doc, yaml_node_t *n)
{
	(void)doc;
	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	char *s = malloc(n->data.scalar.length + 1);
	if (!s)
		die(1, "out of memory");
	memcpy(s, n->data.scalar.value, n->data.scalar.length);
	s[n->data.scalar.length] = 0;
	return s;
}

static int scalar_is(yaml_node_t *n, const char *s)
{
	return n && n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(s) &&
	       !memcmp(n->data.scalar.value, s, n->data.scalar.length);
}

/* One `- regex: ...` mapping of a parser list. */
static void load_rule(yaml_document_t *doc, yaml_node_t *map, const char *const keys[NREPL],
		      struct rule *r)
{
	memset(r, 0, sizeof *r);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		if (scalar_is(k, "regex")) {
			free(r->regex);
			r->regex = node_str(doc, v);
		} else if (scalar_is(k, "regex_flag")) {
			r->caseless = scalar_is(v, "i");
		} else {
			for (int i = 0; i < NREPL; i++)
				if (keys[i] && scalar_is(k, keys[i])) {
					free(r->repl[i]);
					r->repl[i] = node_str(doc, v);
				}
		}
	}
}

static void load_rules(yaml_document_t *doc, yaml_node_t *seq, const char *const keys[NREPL],
		       struct rules *out)
{
	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return;
	size_t max = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	out->r = calloc(max ? max : 1, sizeof *out->r);
	if (!out->r)
		die(1, "out of memory");
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *m = yaml_document_get_node(doc, *it);
		if (!m || m->type != YAML_MAPPING_NODE)
			continue;
		struct rule *r = &out->r[out->n];
		load_rule(doc, m, keys, r);
		if (r->regex)
			out->n++;
		else
			for (int i = 0; i < NREPL; i++)
				free(r->repl[i]);
	}
}

static void free_rules(struct rules *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->r[i].regex);
		for (int j = 0; j < NREPL; j++)
			free(rs->r[i].repl[j]);
		pcre2_code_free(rs->r[i].re);
	}
	free(rs->r);
}

/* Reads the file into a document; 0 ok, -1 with why. */
static int load_doc(const char *path, yaml_document_t *doc, char *why, size_t whylen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		die(1, "out of memory");
	yaml_parser_set_input_file(&p, f);
	int ok = yaml_parser_load(&p, doc);
	if (!ok)
		snprintf(why, whylen, "%s: line %zu: not YAML: %s", path, p.problem_mark.line + 1,
			 p.problem ? p.problem : "parse error");
	yaml_parser_delete(&p);
	fclose(f);
	return ok ? 0 : -1;
}

struct ua_db *ua_open(const char *path, char *why, size_t whylen)
{
	yaml_document_t doc;
	if (load_doc(path, &doc, why, whylen) < 0)
		return NULL;
	struct ua_db *db = calloc(1, sizeof *db);
	if (!db)
		die(1, "out of memory");
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root && root->type == YAML_MAPPING_NODE)
		for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
		     p < root->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(&doc, p->key);
			yaml_node_t *v = yaml_document_get_node(&doc, p->value);
			if (scalar_is(k, "user_agent_parsers"))
				load_rules(&doc, v, ua_keys, &db->ua);
			else if (scalar_is(k, "os_parsers"))
				load_rules(&doc, v, os_keys, &db->os);
		}
	yaml_document_delete(&doc);
	if (!db->ua.n && !db->os.n) {
		snprintf(why, whylen, "%s: no user_agent_parsers or os_parsers in it", path);
		ua_close(db);
		return NULL;
	}
	db->md = pcre2_match_data_create(10, NULL);
	db->mc = pcre2_match_context_create(NULL);
	if (!db->md || !db->mc)
		die(1, "out of memory");
	pcre2_set_match_limit(db->mc, UA_MATCH_LIMIT);
	pcre2_set_depth_limit(db->mc, UA_MATCH_LIMIT / 10);
	return db;
}

void ua_close(struct ua_db *db)
{
	if (!db)
		return;
	free_rules(&db->ua);
	free_rules(&db->os);
	pcre2_match_data_free(db->md);
	pcre2_match_context_free(db->mc);
	for (size_t i = 0; i < UA_CACHE; i++)
		free(db->cache[i].ua);
	free(db);
}

size_t ua_bad_regexes(const struct ua_db *db) { return db->bad; }

/* Compiled on first use: most user agents match one of the first hundred regexes. */
static int rule_ready(struct ua_db *db, struct rule *r)
{
	if (r->state)
		return r->state > 0;
	int err;
	PCRE2_SIZE off;
	r->re = pcre2_compile((PCRE2_SPTR)r->regex, PCRE2_ZERO_TERMINATED,
			      r->caseless ? PCRE2_CASELESS : 0, &err, &off, NULL);
	if (!r->re) {
		r->state = -1;
		db->bad++;
		return 0;
	}
	pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE);	/* without JIT it is only slower */
	r->state = 1;
	return 1;
}

/* Copies at most cap - 1 bytes, not cutting a UTF-8 sequence, trimmed of blanks. */
static void put(char *dst, size_t cap, const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= cap) {
		n = cap - 1;
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	dst[n] = 0;
}

/* The text of group g of the last match ("" when it did not take part). */
static void group(const struct ua_db *db, int ngroups, const char *s, int g, const char **p,
		  size_t *n)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(db->md);
	*p = "";
	*n = 0;
	if (g < ngroups && ov[2 * g] != PCRE2_UNSET) {
		*p = s + ov[2 * g];
		*n = ov[2 * g + 1] - ov[2 * g];
	}
}

/* Slot k of a match: its replacement with $1..$9 filled in, else group k + 1. */
static void slot(const struct ua_db *db, int ngroups, const char *s, const struct rule *r, int k,
		 char *dst, size_t cap)
{
	const char *p;
	size_t n;
	if (!r->repl[k]) {
		group(db, ngroups, s, k + 1, &p, &n);
		put(dst, cap, p, n);
		return;
	}
	char tmp[256];
	size_t t = 0;
	for (const char *q = r->repl[k]; *q && t < sizeof tmp; q++) {
		if (q[0] == '$' && q[1] >= '1' && q[1] <= '9') {
			group(db, ngroups, s, q[1] - '0', &p, &n);
			if (n > sizeof tmp - t)
				n = sizeof tmp - t;
			memcpy(tmp + t, p, n);
			t += n;
			q++;
		} else {
			tmp[t++] = *q;
		}
	}
	put(dst, cap, tmp, t);
}

/* The first rule that matches, and how many groups it set; NULL when none. */
static const struct rule *first_match(struct ua_db *db, struct rules *rs, const char *s, size_t n,
				      int *ngroups)
{
	for (size_t i = 0; i < rs->n; i++) {
		struct rule *r = &rs->r[i];
		if (!rule_ready(db, r))
			continue;
		int rc = pcre2_match(r->re, (PCRE2_SPTR)s, n, 0, 0, db->md, db->mc);
		if (rc > 0) {
			*ngroups = rc;
			return r;
		}
		if (rc == 0) {	/* more groups than the match data holds: the first ten count */
			*ngroups = 10;
			return r;
		}
	}
	return NULL;
}

/* Each value at most 95 bytes (versions 33), 4 bytes escaped: the four fit res->attrs. */
static void format_attrs(struct ua_result *res)
{
	const char *names[4] = { "ua_browser", "ua_browser_major", "ua_os", "ua_os_version" };
	const char *values[4] = { res->browser, res->browser[0] ? res->browser_major : "", res->os,
				  res->os_version };
	char *d = res->attrs;
	for (int i = 0; i < 4; i++) {
		if (!values[i][0])
			continue;
		*d++ = '\t';
		memcpy(d, names[i], strlen(names[i]));
		d += strlen(names[i]);
		*d++ = '=';
		d = tsv_escape_to(d, values[i], strlen(values[i]));
	}
	res->attrs_len = (size_t)(d - res->attrs);
}

static void classify(struct ua_db *db, const char *s, size_t n, struct ua_result *res)
{
	memset(res, 0, sizeof *res);
	int ng;
	const struct rule *r = first_match(db, &db->ua, s, n, &ng);
	if (r) {
		slot(db, ng, s, r, R_FAMILY, res->browser, sizeof res->browser);
		slot(db, ng, s, r, R_V1, res->browser_major, sizeof res->browser_major);
		slot(db, ng, s, r, R_V2, res->browser_minor, sizeof res->browser_minor);
		slot(db, ng, s, r, R_V3, res->browser_patch, sizeof res->browser_patch);
		if (!strcmp(res->browser, "Other"))
			res->browser[0] = 0;
	}
	r = first_match(db, &db->os, s, n, &ng);
	if (r) {
		slot(db, ng, s, r, R_FAMILY, res->os, sizeof res->os);
		slot(db, ng, s, r, R_V1, res->os_major, sizeof res->os_major);
		slot(db, ng, s, r, R_V2, res->os_minor, sizeof res->os_minor);
		slot(db, ng, s, r, R_V3, res->os_patch, sizeof res->os_patch);
		if (!strcmp(res->os, "Other"))
			res->os[0] = 0;
	}
	if (res->os[0] && res->os_major[0])
		snprintf(res->os_version, sizeof res->os_version, "%s%s%s", res->os_major,
			 res->os_minor[0] ? "." : "", res->os_minor);
	res->len[0] = (unsigned char)strlen(res->browser);
	res->len[1] = (unsigned char)strlen(res->browser_major);
	res->len[2] = (unsigned char)strlen(res->os);
	res->len[3] = (unsigned char)strlen(res->os_version);
	format_attrs(res);
}

/* Sixteen bytes a step: this runs for every user event, and user agents are ~150 bytes. A
 * weak hash costs only a recomputation on a collision: the cache compares the whole agent. */
static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, a, b;
	for (; n >= 16; s += 16, n -= 16) {
		memcpy(&a, s, 8);
		memcpy(&b, s + 8, 8);
		h = (h ^ a) * 0xff51afd7ed558ccdULL + b;
		h ^= h >> 29;
	}
	a = b = 0;
	memcpy(&a, s, n > 8 ? 8 : n);
	if (n > 8)
		memcpy(&b, s + 8, n - 8);
	h = (h ^ a) * 0xc4ceb9fe1a85ec53ULL + b;
	return h ^ (h >> 31);
}

const struct ua_result *ua_classify(struct ua_db *db, const char *s, size_t n)
{
	if (n > UA_MAX)
		n = UA_MAX;
	uint64_t h = hash(s, n);
	struct cache_ent *e = &db->cache[h % UA_CACHE];
	if (e->ua && e->hash == h && e->n == n && !memcmp(e->ua, s, n))
		return &e->res;
	char *copy = malloc(n ? n : 1);
	if (!copy) {	/* not cached: only slower next time */
		classify(db, s, n, &db->spare);
		return &db->spare;
	}
	memcpy(copy, s, n);
	free(e->ua);
	e->ua = copy;
	e->hash = h;
	e->n = n;
	classify(db, s, n, &e->res);
	return &e->res;
}
