/* pseudo: HMAC-SHA256 through EVP_MAC; the keyed context is made once and copied per value. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>

#include "pseudo.h"

struct pseudo {
	EVP_MAC *mac;
	EVP_MAC_CTX *keyed;
};

void pseudo_free(struct pseudo *p)
{
	if (!p)
		return;
	EVP_MAC_CTX_free(p->keyed);
	EVP_MAC_free(p->mac);
	free(p);
}

struct pseudo *pseudo_new(const void *key, size_t keylen, char *why, size_t whylen)
{
	if (!keylen) {
		snprintf(why, whylen, "the key is empty");
		return NULL;
	}
	struct pseudo *p = calloc(1, sizeof *p);
	if (!p) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	p->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (p->mac)
		p->keyed = EVP_MAC_CTX_new(p->mac);
	if (!p->keyed || !EVP_MAC_init(p->keyed, key, keylen, params)) {
		snprintf(why, whylen, "libcrypto has no HMAC-SHA256");
		pseudo_free(p);
		return NULL;
	}
	return p;
}

int pseudo_make(struct pseudo *p, const char *s, size_t n, char out[PSEUDO_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0;
	EVP_MAC_CTX *c = EVP_MAC_CTX_dup(p->keyed);
	int ok = c && EVP_MAC_update(c, (const unsigned char *)s, n) &&
		 EVP_MAC_final(c, md, &mdlen, sizeof md) && mdlen >= PSEUDO_LEN / 2;
	EVP_MAC_CTX_free(c);
	if (!ok)
		return -1;
	for (size_t i = 0; i < PSEUDO_LEN / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[PSEUDO_LEN] = 0;
	return 0;
}
