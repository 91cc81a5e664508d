/* uaconf: runs uap-core's own test suites (tests/test_ua.yaml, tests/test_os.yaml) through ua.c.
 * usage: uaconf REGEXES ua|os TESTS.yaml [-v]
 * Prints "cases N family_ok N major_ok N both_ok N" and, with -v, every miss. Exit 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "../diag.h"
#include "../ua.h"

static int is(yaml_node_t *n, const char *s)
{
	return n && n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(s) &&
	       !memcmp(n->data.scalar.value, s, n->data.scalar.length);
}

/* A scalar's text, "" for a null (an empty value in the test file). */
static const char *text(yaml_node_t *n, char *buf, size_t cap)
{
	buf[0] = 0;
	if (n && n->type == YAML_SCALAR_NODE && n->data.scalar.length < cap) {
		memcpy(buf, n->data.scalar.value, n->data.scalar.length);
		buf[n->data.scalar.length] = 0;
		if (!strcmp(buf, "~") || !strcmp(buf, "null"))
			buf[0] = 0;
	}
	return buf;
}

int main(int argc, char **argv)
{
	diag_init("uaconf");
	if (argc < 4)
		die(2, "usage: uaconf REGEXES ua|os TESTS.yaml [-v]");
	int os = !strcmp(argv[2], "os"), verbose = argc > 4;
	char why[512];
	struct ua_db *db = ua_open(argv[1], why, sizeof why);
	if (!db)
		die(1, "%s", why);
	FILE *f = fopen(argv[3], "rb");
	if (!f)
		diesys(1, "%s", argv[3]);
	yaml_parser_t p;
	yaml_document_t doc;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, f);
	if (!yaml_parser_load(&p, &doc))
		die(1, "%s: not YAML", argv[3]);
	yaml_node_t *root = yaml_document_get_root_node(&doc), *cases = NULL;
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
	     pr < root->data.mapping.pairs.top; pr++)
		if (is(yaml_document_get_node(&doc, pr->key), "test_cases"))
			cases = yaml_document_get_node(&doc, pr->value);
	if (!cases || cases->type != YAML_SEQUENCE_NODE)
		die(1, "%s: no test_cases", argv[3]);
	unsigned long n = 0, fam = 0, maj = 0, both = 0;
	for (yaml_node_item_t *it = cases->data.sequence.items.start;
	     it < cases->data.sequence.items.top; it++) {
		yaml_node_t *m = yaml_document_get_node(&doc, *it);
		char ua[8192] = "", efam[256] = "", emaj[64] = "";
		for (yaml_node_pair_t *pr = m->data.mapping.pairs.start;
		     pr < m->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = yaml_document_get_node(&doc, pr->key);
			yaml_node_t *v = yaml_document_get_node(&doc, pr->value);
			if (is(k, "user_agent_string"))
				text(v, ua, sizeof ua);
			else if (is(k, "family"))
				text(v, efam, sizeof efam);
			else if (is(k, "major"))
				text(v, emaj, sizeof emaj);
		}
		const struct ua_result *r = ua_classify(db, ua, strlen(ua));
		const char *gfam = os ? r->os : r->browser, *gmaj = os ? r->os_major : r->browser_major;
		if (!*gfam)
			gfam = "Other";
		/* "Other" has no version, whatever a regex's groups held */
		if (!strcmp(gfam, "Other"))
			gmaj = "";
		int okf = !strcmp(gfam, efam), okm = !strcmp(gmaj, emaj);
		n++;
		fam += okf;
		maj += okm;
		both += okf && okm;
		if (verbose && !(okf && okm))
			printf("miss: %s\n  want %s / %s, got %s / %s\n", ua, efam, emaj, gfam, gmaj);
	}
	printf("cases %lu family_ok %lu major_ok %lu both_ok %lu bad_regexes %zu\n", n, fam, maj, both,
	       ua_bad_regexes(db));
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	fclose(f);
	ua_close(db);
	return 0;
}
