/* profile_objects.c - see profile_objects.h */
#define _GNU_SOURCE
#include "pipeline/profile_objects.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RAW_VERSION_SYMBOL "__llvm_profile_raw_version"
#define RAW_VERSION_MASK 0x00ffffffffffffffULL /* the high byte holds flags */
#define OBJECT_MAX_BYTES (512ULL << 20)
#define AR_MAGIC "!<arch>\n"
#define AR_HEADER 60

static bool within(size_t len, uint64_t off, uint64_t size)
{
	return off <= len && size <= len - off;
}

uint64_t profile_object_version(const unsigned char *d, size_t len)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)d;
	const Elf64_Shdr *sh;

	if (len < sizeof(*eh) || memcmp(d, ELFMAG, SELFMAG) != 0 || d[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    !within(len, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)))
		return 0;
	sh = (const Elf64_Shdr *)(d + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *strs;

		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum ||
		    !within(len, sh[i].sh_offset, sh[i].sh_size))
			continue;
		strs = &sh[sh[i].sh_link];
		if (!within(len, strs->sh_offset, strs->sh_size))
			continue;
		for (uint64_t k = 0; k < sh[i].sh_size / sizeof(Elf64_Sym); k++) {
			const Elf64_Sym *s = (const Elf64_Sym *)(d + sh[i].sh_offset) + k;
			const Elf64_Shdr *sec;
			uint64_t v;

			if (s->st_name >= strs->sh_size ||
			    strncmp((const char *)d + strs->sh_offset + s->st_name,
			            RAW_VERSION_SYMBOL, strs->sh_size - s->st_name) != 0 ||
			    s->st_shndx == SHN_UNDEF || s->st_shndx >= eh->e_shnum)
				continue;
			sec = &sh[s->st_shndx];
			if (sec->sh_type == SHT_NOBITS ||
			    !within(len, sec->sh_offset + s->st_value, sizeof(v)))
				continue;
			memcpy(&v, d + sec->sh_offset + s->st_value, sizeof(v));
			return v & RAW_VERSION_MASK;
		}
	}
	return 0;
}

static void add(struct object_version **out, size_t *n, char *path, uint64_t version)
{
	*out = xrealloc(*out, (*n + 1) * sizeof(**out));
	(*out)[*n].path = path;
	(*out)[*n].version = version;
	(*n)++;
}

/* A member's name: "name/" (GNU), or "/N" into the "//" long-name table. */
static char *member_name(const char *hdr, const char *longnames, size_t longlen)
{
	size_t len = strcspn(hdr, "/ ");

	if (hdr[0] == '/' && hdr[1] >= '0' && hdr[1] <= '9' && longnames) {
		size_t off = strtoul(hdr + 1, NULL, 10);

		if (off < longlen)
			return xasprintf("%.*s", (int)strcspn(longnames + off, "/\n"),
			                 longnames + off);
	}
	return xasprintf("%.*s", (int)(len < 16 ? len : 16), hdr);
}

static void scan_archive(const unsigned char *d, size_t len, const char *rel,
                         struct object_version **out, size_t *n)
{
	const char *longnames = NULL;
	size_t longlen = 0, pos = strlen(AR_MAGIC);

	while (pos + AR_HEADER <= len) {
		char hdr[AR_HEADER + 1];
		size_t size;

		memcpy(hdr, d + pos, AR_HEADER);
		hdr[AR_HEADER] = '\0';
		size = strtoul(hdr + 48, NULL, 10);
		pos += AR_HEADER;
		if (size > len - pos)
			return;
		if (strncmp(hdr, "// ", 3) == 0) {
			longnames = (const char *)d + pos;
			longlen = size;
		} else if (hdr[0] != '/') {
			uint64_t v = profile_object_version(d + pos, size);

			if (v) {
				char *name = member_name(hdr, longnames, longlen);

				add(out, n, xasprintf("%s(%s)", rel, name), v);
				free(name);
			}
		}
		pos += size + (size & 1);
	}
}

static void scan_file(const char *path, const char *rel, const struct stat *st,
                      struct object_version **out, size_t *n)
{
	char *data = NULL;
	size_t len = 0;
	struct error ignore = {0};
	uint64_t v;

	if ((uint64_t)st->st_size > OBJECT_MAX_BYTES || read_file(path, &data, &len, &ignore) < 0)
		return;
	if (len >= strlen(AR_MAGIC) && memcmp(data, AR_MAGIC, strlen(AR_MAGIC)) == 0)
		scan_archive((const unsigned char *)data, len, rel, out, n);
	else if ((v = profile_object_version((const unsigned char *)data, len)) != 0)
		add(out, n, xstrdup(rel), v);
	free(data);
}

static bool object_name(const char *name)
{
	size_t l = strlen(name);

	return (l > 2 && strcmp(name + l - 2, ".o") == 0) ||
	       (l > 2 && strcmp(name + l - 2, ".a") == 0);
}

static int walk(const char *dir, const char *rel, struct object_version **out, size_t *n,
                struct error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return errno == ENOENT ? 0 : error_set(err, EXIT_RUNNER_ERROR, errno, "%s", dir);
	while ((e = readdir(d)) != NULL) {
		char *path, *sub;
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		path = xasprintf("%s/%s", dir, e->d_name);
		sub = rel[0] ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			walk(path, sub, out, n, err);
		else if (S_ISREG(st.st_mode) && object_name(e->d_name))
			scan_file(path, sub, &st, out, n);
		free(path);
		free(sub);
	}
	closedir(d);
	return 0;
}

int profile_objects_scan(const char *dir, struct object_version **out, size_t *n, struct error *err)
{
	*out = NULL;
	*n = 0;
	return walk(dir, "", out, n, err);
}

void profile_objects_free(struct object_version *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}
