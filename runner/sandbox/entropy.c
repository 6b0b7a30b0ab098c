/* entropy.c - see entropy.h */
#define _GNU_SOURCE
#include "sandbox/entropy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/chacha.h>
#include <nettle/sha2.h>

/* Domain separation: the key is never SHA-256 of the bare seed (the seed
 * is a stage's definition digest, itself a SHA-256 the provenance shows). */
static const char key_label[] = "pgo-sandbox entropy v1";

static void stream_init(struct chacha_ctx *ctx, const char *seed, uint64_t offset)
{
	struct sha256_ctx h;
	uint8_t key[SHA256_DIGEST_SIZE];
	uint8_t nonce[CHACHA_NONCE_SIZE] = {0};
	uint8_t counter[8];

	sha256_init(&h);
	sha256_update(&h, sizeof(key_label), (const uint8_t *)key_label);
	sha256_update(&h, strlen(seed), (const uint8_t *)seed);
	sha256_digest(&h, sizeof(key), key);
	chacha_set_key(ctx, key);
	chacha_set_nonce(ctx, nonce);
	/* Seek: the block counter, little-endian, counts 64-byte blocks. */
	for (int i = 0; i < 8; i++)
		counter[i] = (uint8_t)((offset / CHACHA_BLOCK_SIZE) >> (8 * i));
	chacha_set_counter(ctx, counter);
}

void entropy_stream(const char *seed, uint64_t offset, uint8_t *buf, size_t len)
{
	struct chacha_ctx ctx;

	stream_init(&ctx, seed, offset);
	memset(buf, 0, len);
	chacha_crypt(&ctx, len, buf, buf); /* the keystream is zeros encrypted */
}

static int write_stream(int fd, const char *seed, struct error *err)
{
	enum { CHUNK = 64 * 1024 };
	uint8_t *buf = xcalloc(1, CHUNK);
	struct chacha_ctx ctx;

	stream_init(&ctx, seed, 0);
	for (size_t done = 0; done < ENTROPY_STREAM_BYTES; done += CHUNK) {
		memset(buf, 0, CHUNK);
		chacha_crypt(&ctx, CHUNK, buf, buf);
		if (write_all(fd, buf, CHUNK) < 0) {
			free(buf);
			return error_set(err, EXIT_RUNNER_ERROR, errno,
			                 "writing the entropy stream /dev/urandom");
		}
	}
	free(buf);
	return 0;
}

int entropy_install(int dir_fd, const char *seed, struct error *err)
{
	int fd = openat(dir_fd, "urandom", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	int rc;

	if (fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno,
		                 "creating /dev/urandom (entropy stream)");
	rc = write_stream(fd, seed, err);
	/* whatever the umask: readable by the command's user, never writable */
	if (rc == 0 && fchmod(fd, 0444) < 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, errno, "chmod /dev/urandom");
	if (close(fd) < 0 && rc == 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, errno, "closing /dev/urandom");
	if (rc == 0 && linkat(dir_fd, "urandom", dir_fd, "random", 0) < 0)
		rc =
		    error_set(err, EXIT_RUNNER_ERROR, errno, "linking /dev/random to /dev/urandom");
	return rc;
}
