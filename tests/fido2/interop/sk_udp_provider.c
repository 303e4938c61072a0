/*
 * An OpenSSH security-key provider (sk-api version 10: sk_api_version, sk_enroll, sk_sign,
 * sk_load_resident_keys) that reaches `tokensim fido2 serve` over UDP through libfido2 and
 * fido_dev_set_io_functions.  OpenSSH loads it with `ssh-keygen -w ./provider.so` or
 * SSH_SK_PROVIDER=./provider.so, so `ssh-keygen -t ecdsa-sk -O resident`, `ssh-keygen -K` and
 * `ssh-keygen -Y sign` run unchanged against the simulator.  TOKENSIM_FIDO2_UDP=host:port names it.
 * Written from the public sk-api definitions; only what these commands need.
 */
#include <fido.h>
#include <fido/credman.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udp_transport.h"

#define SSH_SK_VERSION_MAJOR 0x000a0000
#define SSH_SK_USER_PRESENCE_REQD 0x01
#define SSH_SK_USER_VERIFICATION_REQD 0x04
#define SSH_SK_RESIDENT_KEY 0x20
#define SSH_SK_ECDSA 0x00
#define SSH_SK_ED25519 0x01
#define SSH_SK_ERR_GENERAL -1
#define SSH_SK_ERR_UNSUPPORTED -2
#define SSH_SK_ERR_PIN_REQUIRED -3
#define SSH_SK_ERR_DEVICE_NOT_FOUND -4

struct sk_enroll_response {
	uint8_t flags;
	uint8_t *public_key; size_t public_key_len;
	uint8_t *key_handle; size_t key_handle_len;
	uint8_t *signature; size_t signature_len;
	uint8_t *attestation_cert; size_t attestation_cert_len;
	uint8_t *authdata; size_t authdata_len;
};
struct sk_sign_response {
	uint8_t flags;
	uint32_t counter;
	uint8_t *sig_r; size_t sig_r_len;
	uint8_t *sig_s; size_t sig_s_len;
};
struct sk_resident_key {
	uint32_t alg;
	size_t slot;
	char *application;
	struct sk_enroll_response key;
	uint8_t flags;
	uint8_t *user_id; size_t user_id_len;
};
struct sk_option { char *name; char *value; uint8_t required; };

/* -- UDP transport for libfido2 ------------------------------------------------------------------ */
static void *udp_open(const char *path) {
	(void)path;
	const char *target = getenv("TOKENSIM_FIDO2_UDP");
	char host[64] = "127.0.0.1";
	int port = 8111;
	if (target != NULL) {
		const char *colon = strrchr(target, ':');
		if (colon != NULL && (size_t)(colon - target) < sizeof(host)) {
			memcpy(host, target, (size_t)(colon - target));
			host[colon - target] = '\0';
			port = atoi(colon + 1);
		}
	}
	return udp_connect(host, port);
}

static fido_dev_t *open_dev(void) {
	fido_dev_io_t io = { udp_open, udp_close, udp_read, udp_write };
	fido_init(0);
	fido_dev_t *dev = fido_dev_new();
	if (dev == NULL) return NULL;
	if (fido_dev_set_io_functions(dev, &io) != FIDO_OK || fido_dev_open(dev, "tokensim-udp") != FIDO_OK) {
		fido_dev_free(&dev);
		return NULL;
	}
	return dev;
}
static void close_dev(fido_dev_t *dev) { fido_dev_close(dev); fido_dev_free(&dev); }

static uint8_t *copy(const unsigned char *p, size_t n) {
	uint8_t *out = n ? malloc(n) : NULL;
	if (out != NULL) memcpy(out, p, n);
	return out;
}
static int map_err(int r) { return r == FIDO_ERR_PIN_REQUIRED ? SSH_SK_ERR_PIN_REQUIRED : SSH_SK_ERR_GENERAL; }

/* the public key as OpenSSH wants it: 0x04||X||Y for ECDSA P-256, the 32 bytes for Ed25519 */
static int public_key(uint32_t alg, const fido_cred_t *c, uint8_t **out, size_t *len) {
	const unsigned char *p = fido_cred_pubkey_ptr(c);
	size_t n = fido_cred_pubkey_len(c);
	if (alg == SSH_SK_ECDSA) {
		if (n != 64 || (*out = malloc(65)) == NULL) return -1;
		(*out)[0] = 0x04;
		memcpy(*out + 1, p, 64);
		*len = 65;
	} else {
		if (n != 32 || (*out = copy(p, n)) == NULL) return -1;
		*len = n;
	}
	return 0;
}

uint32_t sk_api_version(void) { return SSH_SK_VERSION_MAJOR; }

int sk_enroll(uint32_t alg, const uint8_t *challenge, size_t challenge_len, const char *application,
    uint8_t flags, const char *pin, struct sk_option **options, struct sk_enroll_response **response) {
	(void)options;
	unsigned char user_id[32] = {0};
	int cose = alg == SSH_SK_ECDSA ? COSE_ES256 : alg == SSH_SK_ED25519 ? COSE_EDDSA : 0;
	if (cose == 0) return SSH_SK_ERR_UNSUPPORTED;
	fido_dev_t *dev = open_dev();
	if (dev == NULL) return SSH_SK_ERR_DEVICE_NOT_FOUND;
	fido_cred_t *c = fido_cred_new();
	int r = fido_cred_set_type(c, cose);
	if (r == FIDO_OK) r = fido_cred_set_clientdata(c, challenge, challenge_len);
	if (r == FIDO_OK) r = fido_cred_set_rp(c, application, NULL);
	if (r == FIDO_OK) r = fido_cred_set_user(c, user_id, sizeof(user_id), "openssh", "openssh", NULL);
	if (r == FIDO_OK && (flags & SSH_SK_RESIDENT_KEY)) r = fido_cred_set_rk(c, FIDO_OPT_TRUE);
	if (r == FIDO_OK && (flags & SSH_SK_USER_VERIFICATION_REQD)) r = fido_cred_set_uv(c, FIDO_OPT_TRUE);
	if (r == FIDO_OK) r = fido_dev_make_cred(dev, c, pin);
	struct sk_enroll_response *out = NULL;
	if (r == FIDO_OK && (out = calloc(1, sizeof(*out))) != NULL &&
	    public_key(alg, c, &out->public_key, &out->public_key_len) == 0) {
		out->flags = fido_cred_flags(c);
		out->key_handle = copy(fido_cred_id_ptr(c), out->key_handle_len = fido_cred_id_len(c));
		out->signature = copy(fido_cred_sig_ptr(c), out->signature_len = fido_cred_sig_len(c));
		out->attestation_cert = copy(fido_cred_x5c_ptr(c), out->attestation_cert_len = fido_cred_x5c_len(c));
		out->authdata = copy(fido_cred_authdata_ptr(c), out->authdata_len = fido_cred_authdata_len(c));
		*response = out;
	} else {
		if (r == FIDO_OK) r = FIDO_ERR_INTERNAL;
		free(out);
	}
	fido_cred_free(&c);
	close_dev(dev);
	return r == FIDO_OK ? 0 : map_err(r);
}

int sk_sign(uint32_t alg, const uint8_t *data, size_t data_len, const char *application,
    const uint8_t *key_handle, size_t key_handle_len, uint8_t flags, const char *pin,
    struct sk_option **options, struct sk_sign_response **response) {
	(void)options;
	fido_dev_t *dev = open_dev();
	if (dev == NULL) return SSH_SK_ERR_DEVICE_NOT_FOUND;
	fido_assert_t *a = fido_assert_new();
	int r = fido_assert_set_clientdata(a, data, data_len);
	if (r == FIDO_OK) r = fido_assert_set_rp(a, application);
	if (r == FIDO_OK) r = fido_assert_allow_cred(a, key_handle, key_handle_len);
	if (r == FIDO_OK) r = fido_assert_set_up(a, (flags & SSH_SK_USER_PRESENCE_REQD) ? FIDO_OPT_TRUE : FIDO_OPT_FALSE);
	if (r == FIDO_OK && (flags & SSH_SK_USER_VERIFICATION_REQD)) r = fido_assert_set_uv(a, FIDO_OPT_TRUE);
	if (r == FIDO_OK) r = fido_dev_get_assert(dev, a, pin);
	struct sk_sign_response *out = NULL;
	if (r == FIDO_OK && fido_assert_count(a) == 1 && (out = calloc(1, sizeof(*out))) != NULL) {
		out->flags = fido_assert_flags(a, 0);
		out->counter = fido_assert_sigcount(a, 0);
		const unsigned char *sig = fido_assert_sig_ptr(a, 0);
		size_t sig_len = fido_assert_sig_len(a, 0);
		if (alg == SSH_SK_ED25519) {
			out->sig_r = copy(sig, out->sig_r_len = sig_len);
		} else {
			ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &sig, (long)sig_len);
			const BIGNUM *br = NULL, *bs = NULL;
			if (es == NULL) { r = FIDO_ERR_INVALID_SIG; }
			else {
				ECDSA_SIG_get0(es, &br, &bs);
				out->sig_r_len = (size_t)BN_num_bytes(br);
				out->sig_s_len = (size_t)BN_num_bytes(bs);
				out->sig_r = malloc(out->sig_r_len ? out->sig_r_len : 1);
				out->sig_s = malloc(out->sig_s_len ? out->sig_s_len : 1);
				BN_bn2bin(br, out->sig_r);
				BN_bn2bin(bs, out->sig_s);
				ECDSA_SIG_free(es);
			}
		}
	} else if (r == FIDO_OK) {
		r = FIDO_ERR_INTERNAL;
	}
	if (r == FIDO_OK) *response = out;
	else if (out != NULL) { free(out->sig_r); free(out->sig_s); free(out); }
	fido_assert_free(&a);
	close_dev(dev);
	return r == FIDO_OK ? 0 : map_err(r);
}

int sk_load_resident_keys(const char *pin, struct sk_option **options, struct sk_resident_key ***rks,
    size_t *nrks) {
	(void)options;
	*rks = NULL;
	*nrks = 0;
	fido_dev_t *dev = open_dev();
	if (dev == NULL) return SSH_SK_ERR_DEVICE_NOT_FOUND;
	fido_credman_rp_t *rps = fido_credman_rp_new();
	int r = fido_credman_get_dev_rp(dev, rps, pin);
	for (size_t i = 0; r == FIDO_OK && i < fido_credman_rp_count(rps); i++) {
		const char *rp_id = fido_credman_rp_id(rps, i);
		if (rp_id == NULL || strncmp(rp_id, "ssh:", 4) != 0) continue;
		fido_credman_rk_t *creds = fido_credman_rk_new();
		r = fido_credman_get_dev_rk(dev, rp_id, creds, pin);
		for (size_t j = 0; r == FIDO_OK && j < fido_credman_rk_count(creds); j++) {
			const fido_cred_t *c = fido_credman_rk(creds, j);
			uint32_t alg = fido_cred_type(c) == COSE_ES256 ? SSH_SK_ECDSA :
			    fido_cred_type(c) == COSE_EDDSA ? SSH_SK_ED25519 : 0xff;
			if (alg == 0xff) continue;
			struct sk_resident_key *k = calloc(1, sizeof(*k));
			struct sk_resident_key **grown = realloc(*rks, (*nrks + 1) * sizeof(**rks));
			if (k == NULL || grown == NULL) { free(k); r = FIDO_ERR_INTERNAL; break; }
			*rks = grown;
			k->alg = alg;
			k->slot = j;
			k->application = strdup(rp_id);
			k->flags = SSH_SK_USER_PRESENCE_REQD;
			if (fido_cred_prot(c) == FIDO_CRED_PROT_UV_REQUIRED) k->flags |= SSH_SK_USER_VERIFICATION_REQD;
			public_key(alg, c, &k->key.public_key, &k->key.public_key_len);
			k->key.key_handle = copy(fido_cred_id_ptr(c), k->key.key_handle_len = fido_cred_id_len(c));
			k->user_id = copy(fido_cred_user_id_ptr(c), k->user_id_len = fido_cred_user_id_len(c));
			(*rks)[(*nrks)++] = k;
		}
		fido_credman_rk_free(&creds);
	}
	fido_credman_rp_free(&rps);
	close_dev(dev);
	if (r == FIDO_ERR_NO_CREDENTIALS) r = FIDO_OK;
	return r == FIDO_OK ? 0 : map_err(r);
}
