/* pseudo: pseudonyms for user names, so counts per user survive without names: the first 16
 * hex digits of HMAC-SHA256 under a site's key (OpenSSL's libcrypto). The same value always
 * gives the same pseudonym under one key; without the key it cannot be reversed or checked
 * against a guess; another key gives other pseudonyms for every value. */
#ifndef PSEUDO_H
#define PSEUDO_H
#include <stddef.h>

#define PSEUDO_LEN 16

struct pseudo;
/* NULL with the reason in why (an empty key, libcrypto without HMAC-SHA256). */
struct pseudo *pseudo_new(const void *key, size_t keylen, char *why, size_t whylen);
void pseudo_free(struct pseudo *p);
/* Writes the pseudonym of the n bytes at s, NUL-terminated; 0 ok, -1 when libcrypto fails
 * (out of memory), which the caller must not paper over with the clear value. */
int pseudo_make(struct pseudo *p, const char *s, size_t n, char out[PSEUDO_LEN + 1]);

#endif
