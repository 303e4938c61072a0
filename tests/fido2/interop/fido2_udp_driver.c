/*
 * A small libfido2 client that reaches `tokensim fido2 serve` over UDP: fido_dev_set_io_functions()
 * carries libfido2's 64-byte CTAPHID reports as datagrams.  It sets a PIN, makes a discoverable
 * credential, gets an assertion and runs credential management (metadata, list RPs, list credentials,
 * delete) exactly as fido2-token -L / -D would, printing one line per step.
 *
 * usage: fido2_udp_driver HOST PORT PIN
 */
#include <fido.h>
#include <fido/credman.h>
#include <fido/es256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udp_transport.h"

static const char *host;
static int port;

static void *udp_open(const char *path) {
	(void)path;
	return udp_connect(host, port);
}

#define CHECK(what, call) do { int r_ = (call); if (r_ != FIDO_OK) { \
	fprintf(stderr, "%s: %s\n", what, fido_strerr(r_)); exit(1); } } while (0)

int main(int argc, char **argv) {
	if (argc != 4) { fprintf(stderr, "usage: %s HOST PORT PIN\n", argv[0]); return 2; }
	host = argv[1]; port = atoi(argv[2]);
	const char *pin = argv[3];
	unsigned char cdh[32] = {1}, uid[16] = {2};
	fido_dev_io_t io = { udp_open, udp_close, udp_read, udp_write };

	fido_init(0);
	fido_dev_t *dev = fido_dev_new();
	CHECK("set_io_functions", fido_dev_set_io_functions(dev, &io));
	CHECK("open", fido_dev_open(dev, "udp"));
	printf("open fido2=%d\n", fido_dev_is_fido2(dev));
	CHECK("set_pin", fido_dev_set_pin(dev, pin, NULL));
	printf("set_pin ok\n");

	fido_cred_t *cred = fido_cred_new();
	CHECK("cred type", fido_cred_set_type(cred, COSE_ES256));
	CHECK("cred cdh", fido_cred_set_clientdata_hash(cred, cdh, sizeof(cdh)));
	CHECK("cred rp", fido_cred_set_rp(cred, "example.com", "Example"));
	CHECK("cred user", fido_cred_set_user(cred, uid, sizeof(uid), "alice", "Alice", NULL));
	CHECK("cred rk", fido_cred_set_rk(cred, FIDO_OPT_TRUE));
	CHECK("makecred", fido_dev_make_cred(dev, cred, pin));
	CHECK("cred verify", fido_cred_verify_self(cred)); /* packed self attestation */
	printf("makecred ok fmt=%s\n", fido_cred_fmt(cred));

	fido_assert_t *as = fido_assert_new();
	CHECK("assert cdh", fido_assert_set_clientdata_hash(as, cdh, sizeof(cdh)));
	CHECK("assert rp", fido_assert_set_rp(as, "example.com"));
	CHECK("getassert", fido_dev_get_assert(dev, as, pin));
	es256_pk_t *pk = es256_pk_new();
	CHECK("public key", es256_pk_from_ptr(pk, fido_cred_pubkey_ptr(cred), fido_cred_pubkey_len(cred)));
	CHECK("assert verify", fido_assert_verify(as, 0, COSE_ES256, pk));
	es256_pk_free(&pk);
	printf("getassert ok count=%zu user=%s\n", fido_assert_count(as), fido_assert_user_name(as, 0));

	fido_credman_metadata_t *meta = fido_credman_metadata_new();
	CHECK("credman metadata", fido_credman_get_dev_metadata(dev, meta, pin));
	printf("credman metadata existing=%llu remaining=%llu\n",
	       (unsigned long long)fido_credman_rk_existing(meta), (unsigned long long)fido_credman_rk_remaining(meta));
	fido_credman_rp_t *rps = fido_credman_rp_new();
	CHECK("credman rps", fido_credman_get_dev_rp(dev, rps, pin));
	for (size_t i = 0; i < fido_credman_rp_count(rps); i++)
		printf("credman rp %s\n", fido_credman_rp_id(rps, i));
	fido_credman_rk_t *rks = fido_credman_rk_new();
	CHECK("credman rks", fido_credman_get_dev_rk(dev, "example.com", rks, pin));
	size_t n = fido_credman_rk_count(rks);
	printf("credman creds %zu\n", n);
	for (size_t i = 0; i < n; i++) {
		const fido_cred_t *c = fido_credman_rk(rks, i);
		printf("credman cred user=%s\n", fido_cred_user_name(c));
		CHECK("credman delete", fido_credman_del_dev_rk(dev, fido_cred_id_ptr(c), fido_cred_id_len(c), pin));
	}
	fido_credman_metadata_free(&meta);
	meta = fido_credman_metadata_new();
	CHECK("credman metadata", fido_credman_get_dev_metadata(dev, meta, pin));
	printf("credman after-delete existing=%llu\n", (unsigned long long)fido_credman_rk_existing(meta));

	fido_credman_rk_free(&rks);
	fido_credman_rp_free(&rps);
	fido_credman_metadata_free(&meta);
	fido_assert_free(&as);
	fido_cred_free(&cred);
	fido_dev_close(dev);
	fido_dev_free(&dev);
	return 0;
}
