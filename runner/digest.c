/* digest.c - see digest.h.  SHA-256 through OpenSSL's EVP interface. */
#define _GNU_SOURCE
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#define DIGEST_READ_CHUNK (256 * 1024)

static void format_digest(const unsigned char *md, unsigned len, char out[DIGEST_STR_MAX])
{
	static const char hex[] = "0123456789abcdef";
	char *p = out;

	memcpy(p, "sha256:", 7);
	p += 7;
	for (unsigned i = 0; i < len && i < 32; i++) {
		*p++ = hex[md[i] >> 4];
		*p++ = hex[md[i] & 0xf];
	}
	*p = '\0';
}

void digest_buffer_sha256(const void *buf, size_t len, char out[DIGEST_STR_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;

	/* EVP_Digest only fails when libcrypto cannot allocate or has no
	 * SHA-256 at all; there is no sensible digest to return then. */
	if (EVP_Digest(buf, len, md, &md_len, EVP_sha256(), NULL) != 1)
		abort();
	format_digest(md, md_len, out);
}

static int hash_fd(int fd, EVP_MD_CTX *ctx, const char *path, struct error *err)
{
	unsigned char *chunk = xcalloc(1, DIGEST_READ_CHUNK);
	int rc = 0;

	for (;;) {
		ssize_t n = read(fd, chunk, DIGEST_READ_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = error_set(err, EXIT_RUNNER_ERROR, errno, "reading %s", path);
			break;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, chunk, (size_t)n) != 1) {
			rc = error_set(err, EXIT_RUNNER_ERROR, 0, "hashing %s: libcrypto failed",
			               path);
			break;
		}
	}
	free(chunk);
	return rc;
}

int digest_file_sha256(const char *path, char out[DIGEST_STR_MAX], struct error *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	EVP_MD_CTX *ctx;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening %s", path);
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL) {
		close(fd);
		return error_set(err, EXIT_RUNNER_ERROR, ENOMEM, "hashing %s", path);
	}
	rc = -1;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		error_set(err, EXIT_RUNNER_ERROR, 0, "hashing %s: no SHA-256 in libcrypto", path);
	else if (hash_fd(fd, ctx, path, err) == 0) {
		if (EVP_DigestFinal_ex(ctx, md, &md_len) != 1)
			error_set(err, EXIT_RUNNER_ERROR, 0, "hashing %s: libcrypto failed", path);
		else
			rc = 0;
	}
	EVP_MD_CTX_free(ctx);
	close(fd);
	if (rc == 0)
		format_digest(md, md_len, out);
	return rc;
}
