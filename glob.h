/* glob: shell-style patterns for names (users, hosts, apps, tasks), matched case-insensitively.
 * `*` any run of characters, `?` one character, `[...]` one of a set (`a-z` ranges, `!` or `^`
 * first negates, `]` first and `-` first or last are literal). There is no escape character: a
 * backslash is a literal backslash, as in LAB\alice. Characters are UTF-8; case folding covers
 * ASCII, Latin-1 Supplement, Latin Extended-A, Greek and Cyrillic (Unicode simple case folding);
 * bytes that are not well-formed UTF-8 match only themselves. */
#ifndef GLOB_H
#define GLOB_H
#include <stddef.h>
#include <stdint.h>

struct glob_set;
struct glob_tok;

/* A compiled pattern: tokens over case-folded code points. */
struct glob {
	struct glob_tok *tok;
	size_t ntok;
	struct glob_set *sets;
	uint32_t *ranges;	/* lo, hi pairs the sets point into */
	size_t min_len;		/* bytes a subject needs at least (each token takes one or more) */
	size_t suffix;		/* trailing literal tokens after the last `*` (all ASCII) */
	int has_star;
};

/* What is matched: a name, and whether it holds only ASCII (the fast path), found out once for
 * all the patterns it is matched against. */
struct glob_subject {
	const char *p;
	size_t n;
	int ascii;
};

/* 0 ok; -1 with the reason in why ("unclosed [", "reversed range z-a"). */
int glob_compile(struct glob *g, const char *pat, size_t n, char *why, size_t whylen);
void glob_free(struct glob *g);
void glob_subject(struct glob_subject *s, const char *p, size_t n);
int glob_match(const struct glob *g, const struct glob_subject *s);

/* A list of patterns, matched in order. */
struct glob_list {
	struct glob *v;
	size_t n, cap;
};

/* 0 ok; -1 with the reason in why, which names the pattern. */
int glob_list_add(struct glob_list *l, const char *pat, size_t n, char *why, size_t whylen);
void glob_list_free(struct glob_list *l);
/* Whether any pattern of the list matches. */
int glob_list_match(const struct glob_list *l, const struct glob_subject *s);

#endif
