/* toolchain_rustc.c - rustc through cargo: IR-level raw profiles merged by
 * the llvm-profdata that reads rustc's raw version (profdata.h), fat LTO by
 * flag for those who do not set it in Cargo.toml, and cargo offline with
 * its home and target directory under /build.
 *
 * rustup installs outside /usr and puts proxies on PATH: the stage gets
 * the real toolchain (`rustc --print sysroot`, run with the caller's PATH)
 * bound read-only at /opt/rust, never the proxies; Debian's rustc lives
 * under /usr, which the host image already has. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/digest.h"
#include "pipeline/profile_objects.h"
#include "image/tool_cache.h"
#include "pipeline/toolchain.h"

#define RUST_MOUNT "/opt/rust"
#define RUST_TARGET "x86_64-unknown-linux-gnu"

static const struct diag_pattern rustc_diagnostics[] = {
    {"passed to `-C profile-use` does not exist", "rustc: the -Cprofile-use file does not exist",
     false},
    {"invalid instrumentation profile data", "rustc: the profile is not an LLVM profile", false},
    {"Not an IR level instrumentation profile", "rustc: the profile is not IR-level", false},
    {"unsupported instrumentation profile format version",
     "rustc: the profile's format is newer than rustc's LLVM reads", false},
    {"Could not read profile", "rustc: could not read the profile", false},
    {"hash mismatch", "rustc IR PGO: function control flow changed (hash mismatch)", true},
};

static void rustc_stage_env(enum stage_role role, const char *profile,
                            const struct pgo_recipe *recipe, struct strv *env)
{
	(void)recipe; /* rustc_check_recipe refuses every technique */
	strv_push(env, "PGO_CC=rustc");
	strv_push(env, "PGO_LTO_FLAGS=-Clto=fat -Ccodegen-units=1");
	strv_push(env, "PGO_CFLAGS=");
	/* what a binary BOLT is to rewrite must be linked with */
	strv_push(env, "PGO_BOLT_LDFLAGS=-Clink-args=-Wl,--emit-relocs");
	/* cargo without network, writing only below /build */
	strv_push(env, "CARGO_HOME=" PGO_BUILD_DIR "/.cargo");
	strv_push(env, "CARGO_TARGET_DIR=" PGO_BUILD_DIR "/target");
	strv_push(env, "CARGO_NET_OFFLINE=true");
	strv_push(env, "CARGO_INCREMENTAL=0");
	strv_push(env, "CARGO_TERM_COLOR=never");
	if (role == ROLE_INSTRUMENT)
		/* the directory is a default: training's LLVM_PROFILE_FILE wins */
		strv_push(env,
		          "PGO_GENERATE_FLAGS=-Cprofile-generate=" PGO_BUILD_DIR "/.pgo/profraw");
	if (role == ROLE_BUILD && profile)
		strv_pushf(env,
		           "PGO_USE_FLAGS=-Cprofile-use=%s -Cllvm-args=-pgo-warn-missing-function",
		           profile);
}

/* Standard output of argv run with the caller's environment (rustup's
 * proxies need its PATH, HOME and RUSTUP_* variables), or NULL. */
static char *caller_output(char *const argv[])
{
	extern char **environ;

	return pgo_command_output(argv, environ);
}

static char *chomp(char *s)
{
	size_t n = s ? strlen(s) : 0;

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* sha256 of a toolchain file, remembered by stat identity */
static json_t *file_fact(struct tool_cache *cache, const char *path, struct error *err)
{
	char digest[DIGEST_STR_MAX];
	json_t *t = tool_cache_lookup(cache, "rust-toolchain-file", path);

	if (t)
		return t;
	if (digest_file_sha256(path, digest, err) < 0)
		return NULL;
	t = json_pack("{s:s}", "sha256", digest);
	tool_cache_store(cache, "rust-toolchain-file", path, t);
	return t;
}

/* The files that make the toolchain what it is: the compiler driver,
 * cargo, rustc's LLVM (librustc_driver) and the target's std. */
static int toolchain_files(const char *sysroot, json_t *files, struct error *err)
{
	static const char *const dirs[] = {"/bin", "/lib", "/lib/rustlib/" RUST_TARGET "/lib"};
	struct tool_cache *cache = tool_cache_open();
	int rc = 0;

	for (size_t d = 0; rc == 0 && d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		char *dir = xasprintf("%s%s", sysroot, dirs[d]);
		DIR *dh = opendir(dir);
		struct dirent *e;

		while (rc == 0 && dh && (e = readdir(dh)) != NULL) {
			const char *n = e->d_name;
			bool wanted =
			    (d == 0 && (strcmp(n, "rustc") == 0 || strcmp(n, "cargo") == 0)) ||
			    (d == 1 && strncmp(n, "librustc_driver-", 16) == 0) ||
			    (d == 2 && strncmp(n, "libstd-", 7) == 0);
			char *path;
			json_t *f;

			if (!wanted)
				continue;
			path = xasprintf("%s/%s", dir, n);
			f = file_fact(cache, path, err);
			if (f == NULL)
				rc = -1;
			else
				json_object_set_new(files, path + strlen(sysroot), f);
			free(path);
		}
		if (dh)
			closedir(dh);
		free(dir);
	}
	tool_cache_close(cache, rc == 0);
	return rc;
}

static bool has_profiler_runtime(const char *sysroot)
{
	char *dir = xasprintf("%s/lib/rustlib/" RUST_TARGET "/lib", sysroot);
	DIR *dh = opendir(dir);
	struct dirent *e;
	bool found = false;

	while (!found && dh && (e = readdir(dh)) != NULL)
		found = strncmp(e->d_name, "libprofiler_builtins-", 21) == 0;
	if (dh)
		closedir(dh);
	free(dir);
	return found;
}

static int rustc_locate(struct toolchain_site *site, struct error *err)
{
	char *const sysroot_argv[] = {"rustc", "--print", "sysroot", NULL};
	char *sysroot = chomp(caller_output(sysroot_argv));
	char *rustc, *cargo, *vv, *cv;
	const char *llvm;
	json_t *files;

	memset(site, 0, sizeof(*site));
	if (sysroot == NULL || *sysroot != '/') {
		free(sysroot);
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "compiler = rustc: `rustc --print sysroot` failed with this PATH; "
		                 "install Debian's rustc and cargo, or a rustup toolchain");
	}
	rustc = xasprintf("%s/bin/rustc", sysroot);
	cargo = xasprintf("%s/bin/cargo", sysroot);
	{
		char *const a[] = {rustc, "-vV", NULL};
		char *const b[] = {cargo, "-V", NULL};
		vv = caller_output(a);
		cv = chomp(caller_output(b));
	}
	free(rustc);
	free(cargo);
	if (vv == NULL) {
		error_set(err, EXIT_RUNNER_ERROR, 0, "compiler = rustc: %s/bin/rustc -vV failed",
		          sysroot);
		free(cv);
		free(sysroot);
		return -1;
	}
	llvm = strstr(vv, "LLVM version: ");
	site->llvm_major = llvm ? (unsigned)strtoul(llvm + strlen("LLVM version: "), NULL, 10) : 0;
	files = json_object();
	if (toolchain_files(sysroot, files, err) < 0) {
		json_decref(files);
		free(vv);
		free(cv);
		free(sysroot);
		return error_prefix(err, "compiler = rustc: hashing the toolchain");
	}
	if (!has_profiler_runtime(sysroot)) {
		error_set(err, EXIT_RUNNER_ERROR, 0,
		          "compiler = rustc: %.*s (sysroot %s) has no profiler runtime "
		          "(lib/rustlib/" RUST_TARGET "/lib/libprofiler_builtins-*.rlib), so "
		          "-Cprofile-generate cannot link (E0463); Debian's rustc is built without "
		          "it: install a rustup toolchain (it ships the runtime) and put its "
		          "rustc first on PATH",
		          (int)strcspn(vv, "\n"), vv, sysroot);
		json_decref(files);
		free(vv);
		free(cv);
		free(sysroot);
		return -1;
	}
	site->facts =
	    json_pack("{s:s, s:s, s:s?, s:i, s:o}", "sysroot", sysroot, "rustc_vV", chomp(vv),
	              "cargo_V", cv, "llvm_major", (int)site->llvm_major, "files", files);
	site->host_sysroot = sysroot;
	if (strcmp(sysroot, "/usr") != 0) {
		site->mount_src = xstrdup(sysroot);
		site->mount_dst = RUST_MOUNT;
		site->path_prefix = xstrdup(RUST_MOUNT "/bin");
	}
	free(vv);
	free(cv);
	return 0;
}

static bool is_elf(const char *path)
{
	unsigned char magic[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	bool elf = fd >= 0 && read(fd, magic, 4) == 4 && memcmp(magic, "\177ELF", 4) == 0;

	if (fd >= 0)
		close(fd);
	return elf;
}

/* cargo-pgo issues 49 and 56: a project's RUSTFLAGS or .cargo/config.toml
 * [build] rustflags silently replace the generate flags. */
/* The cc crate compiling C with clang -fprofile-generate while rustc
 * instruments: objects of another LLVM's raw version (profile_objects.h). */
static int check_object_versions(const struct toolchain_site *site, const char *work_dir,
                                 struct error *err)
{
	uint64_t want = pgo_raw_version_for_llvm(site->llvm_major);
	struct object_version *v = NULL;
	size_t n = 0;
	char *bad = NULL;
	int rc;

	if (want == 0)
		return 0;
	rc = profile_objects_scan(work_dir, &v, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char *more;

		if (v[i].version == want)
			continue;
		more = xasprintf("%s%s%s (version %llu)", bad ? bad : "", bad ? ", " : "",
		                 v[i].path, (unsigned long long)v[i].version);
		free(bad);
		bad = more;
	}
	profile_objects_free(v, n);
	if (rc < 0 || bad == NULL)
		return rc;
	error_set(err, EXIT_RUNNER_ERROR, 0,
	          "objects instrumented for another raw profile version than rustc's (LLVM %u "
	          "writes version %llu): %s. A build script compiles C with another LLVM's "
	          "-fprofile-generate (the cc crate with clang): the binary links two profile "
	          "runtimes whose profiles no single llvm-profdata reads. Compile that C "
	          "without profile flags, or with a clang of rustc's LLVM",
	          site->llvm_major, (unsigned long long)want, bad);
	free(bad);
	return -1;
}

static int rustc_check_instrumented(const struct toolchain_site *site, const char *work_dir,
                                    const char *out_dir, char *const *outputs, size_t n,
                                    struct error *err)
{
	if (check_object_versions(site, work_dir, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", out_dir, outputs[i]);
		bool bad = is_elf(path) && !toolchain_has_llvm_profile_runtime(path);

		free(path);
		if (bad)
			return error_set(
			    err, EXIT_RUNNER_ERROR, 0,
			    "%s/%s carries no LLVM profile runtime: the generate flags did not "
			    "reach "
			    "rustc. A RUSTFLAGS set by the project or a [build] rustflags in "
			    ".cargo/config.toml replaces RUSTFLAGS=\"$PGO_GENERATE_FLAGS\" "
			    "(cargo-pgo issues 49 and 56); build with --target " RUST_TARGET
			    " so build scripts and proc-macros stay uninstrumented",
			    PGO_OUT_DIR, outputs[i]);
	}
	return 0;
}

/* rustc has no flag for context-sensitive PGO (rust issue 118562; its
 * own release pipeline tried it and saw no gain on top of BOLT, rust PR
 * 111806), and neither temporal instrumentation nor machine-function
 * splitting on stable. */
static int rustc_check_recipe(const struct pgo_recipe *r, bool cs_stages, unsigned llvm_major,
                              struct error *err)
{
	(void)llvm_major;
	if (cs_stages)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "rustc has no flag for context-sensitive PGO "
		                 "(-fcs-profile-generate; rust issue 118562): drop the cs-* "
		                 "stages");
	if (r->function_order || r->split_functions)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "%s is not available with rustc here (stable rustc has no flag "
		                 "for it): drop the key",
		                 r->function_order ? "function-order" : "split-machine-functions");
	if (r->cc)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "cc = %s: rustc's compiler is the one `rustc --print sysroot` "
		                 "finds; drop the key",
		                 r->cc);
	return 0;
}

const struct toolchain toolchain_rustc = {
    .name = "rustc",
    .format = PROFILE_LLVM_RAW,
    .stage_env = rustc_stage_env,
    .atomic_counter_flags = "-Cllvm-args=-instrprof-atomic-counter-update-all",
    .check_recipe = rustc_check_recipe,
    .diagnostics = rustc_diagnostics,
    .n_diagnostics = sizeof(rustc_diagnostics) / sizeof(rustc_diagnostics[0]),
    .counts_missing_functions = true,
    .locate = rustc_locate,
    .check_instrumented = rustc_check_instrumented,
};
