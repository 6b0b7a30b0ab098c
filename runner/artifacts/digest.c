/* digest.c - see digest.h.  SHA-256 through nettle: already loaded as a
 * dependency of libarchive, whereas libcrypto alone added about 1 ms of
 * dynamic loading to every `pgo-sandbox` start (bench/startup.py). */
#define _GNU_SOURCE
#include "artifacts/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nettle/sha2.h>

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
	unsigned char md[SHA256_DIGEST_SIZE];
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, len, buf);
	sha256_digest(&ctx, sizeof(md), md);
	format_digest(md, sizeof(md), out);
}

int digest_file_sha256(const char *path, char out[DIGEST_STR_MAX], struct error *err)
{
	unsigned char md[SHA256_DIGEST_SIZE];
	unsigned char *chunk;
	struct sha256_ctx ctx;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return error_set(err, EXIT_RUNNER_ERROR, errno, "opening %s", path);
	chunk = xcalloc(1, DIGEST_READ_CHUNK);
	sha256_init(&ctx);
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
		sha256_update(&ctx, (size_t)n, chunk);
	}
	free(chunk);
	close(fd);
	if (rc == 0) {
		sha256_digest(&ctx, sizeof(md), md);
		format_digest(md, sizeof(md), out);
	}
	return rc;
}
