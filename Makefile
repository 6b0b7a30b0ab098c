# pgo-sandbox - see README.md.  `make` builds build/pgo-sandbox.
VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
CC ?= gcc
SAN ?=

# Everything below that asks the machine (pkg-config, git) is read when
# make parses this file, before any prerequisite runs: on a machine where
# `deps` has yet to install the -dev packages, pkg-config prints nothing.
# So the targets that install packages (demo, check, ...) build through a
# second make, which reads the machine again once `deps` has run.
PKGS := libseccomp libcap libarchive jansson inih nettle
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) sqlite3 libpq 2>/dev/null)
# libarchive is loaded on first use (runner/libarchive_lazy.h), not linked:
# it costs ~2 ms of dynamic loading that `run` never needs.
PKG_LIBS := $(shell pkg-config --libs $(filter-out libarchive,$(PKGS)) 2>/dev/null)
# The runner links these small libraries statically (their .a files come
# with the -dev packages): each shared object costs ~50 us of loading and
# relocation on every `run`, 0.27 ms for the five (README, "Start-up").
# STATIC_DEPS=0 links them dynamically, for packagers who want security
# updates of them to reach the binary without a rebuild.
STATIC_DEPS ?= 1
ifeq ($(STATIC_DEPS),1)
RUNNER_LIBS := -Wl,-Bstatic $(PKG_LIBS) -Wl,-Bdynamic
else
RUNNER_LIBS := $(PKG_LIBS)
endif
LIBARCHIVE_LIBS := $(shell pkg-config --libs libarchive 2>/dev/null)
# The results history (runner/history/) links neither libsqlite3 nor libpq:
# history/sqlite_lazy.c and history/libpq_lazy.c dlopen them when a store
# is opened, as artifacts/libarchive_lazy.c does for libarchive.  Linked
# statically, SQLite cost +0.2 ms on every start (1800 relocations of a
# 1.7 MB archive, docs/history.md); libpq would bring a dozen shared
# objects (libssl, libcrypto, Kerberos, LDAP) into every `run`.  The unit
# tests link both directly.
PQ_LIBS := $(shell pkg-config --libs libpq 2>/dev/null)

GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-missing-field-initializers
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 $(WARN) $(CFLAGS) $(SAN) $(PKG_CFLAGS) \
	-fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE \
	-ffile-prefix-map=$(CURDIR)=. \
	-DPGO_VERSION='"$(VERSION)"' -DPGO_COMMIT='"$(GIT_COMMIT)"' \
	-DPGO_SOURCE_DATE_EPOCH='"$(SOURCE_DATE_EPOCH)"' -MMD -MP
ALL_LDFLAGS := $(SAN) -pie -Wl,-z,relro,-z,now $(LDFLAGS)

# runner/ is split into one folder per layer (runner/README.md); includes
# name the folder ("sandbox/mounts.h") relative to runner/.
RUNNER_SRCS := $(sort $(wildcard runner/*.c runner/*/*.c))
RUNNER_HDRS := $(sort $(wildcard runner/*.h runner/*/*.h))
RUNNER_INCLUDES := -iquote runner
RUNNER_OBJS := $(RUNNER_SRCS:runner/%.c=$(BUILD)/obj/%.o)
LIB_OBJS := $(filter-out %/main.o,$(RUNNER_OBJS))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
PROBE_SRCS := $(sort $(wildcard tests/probes/*.c))
PROBE_BINS := $(PROBE_SRCS:tests/probes/%.c=$(BUILD)/probes/%)

.PHONY: all deps deps-demo check unit integration asan rootless vm demo demo-rust demo-self bench format \
	lint fuzz \
	install clean release
all: $(BUILD)/pgo-sandbox $(PROBE_BINS)

# A missing .pc file would otherwise show up as a missing header in
# whichever file comes first; say which package is missing instead.
PKG_CHECK := $(shell pkg-config --exists $(PKGS) sqlite3 libpq 2>/dev/null && echo ok)
.PHONY: pkg-check
pkg-check:
ifneq ($(PKG_CHECK),ok)
	@pkg-config --print-errors --exists $(PKGS) sqlite3 libpq 2>&1 | sed 's/^/pgo-sandbox: /' >&2; \
	echo "pgo-sandbox: build dependencies are missing: run 'make deps' (as root) first" >&2; \
	exit 1
endif

$(BUILD)/obj/%.o: runner/%.c | pkg-check
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(RUNNER_INCLUDES) -c $< -o $@

$(BUILD)/pgo-sandbox: $(RUNNER_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(RUNNER_LIBS) -lm

# The fixture helpers every unit test links (tests/unit/unit_fixture.h);
# not named test_*.c, so it is no test of its own.  Built outside
# $(BUILD)/tests, where the pattern rule below would claim it.
UNIT_FIXTURE_OBJ := $(BUILD)/unit/unit_fixture.o
$(UNIT_FIXTURE_OBJ): tests/unit/unit_fixture.c tests/unit/unit_fixture.h | pkg-check
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(RUNNER_INCLUDES) -c $< -o $@

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit_fixture.h $(UNIT_FIXTURE_OBJ) $(LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes $(RUNNER_INCLUDES) $< $(UNIT_FIXTURE_OBJ) \
		$(LIB_OBJS) -o $@ \
		$(ALL_LDFLAGS) $(PKG_LIBS) $(LIBARCHIVE_LIBS) -lsqlite3 $(PQ_LIBS) -ldl -lcmocka -lm
-include $(UNIT_FIXTURE_OBJ:.o=.d)

# Probes run inside the sandbox under seccomp, where LeakSanitizer cannot
# work (it needs ptrace): they are never built with sanitizers.
$(BUILD)/probes/%: tests/probes/%.c
	@mkdir -p $(@D)
	$(CC) $(filter-out $(SAN),$(ALL_CFLAGS)) -Wno-missing-prototypes $< -o $@ \
		$(filter-out $(SAN),$(ALL_LDFLAGS)) $(PKG_LIBS) -lm

deps:
	@sh ci/install-deps.sh

# what `make demo` needs: the build and the demo's pipelines, not the
# test tiers' packages (qemu, PostgreSQL, the Rust toolchain, ...)
deps-demo:
	@sh ci/install-deps.sh demo

unit: $(UNIT_BINS) $(PROBE_BINS)
	@sh tests/run-unit.sh $(BUILD) $(UNIT_BINS)

integration: all
	@sh tests/run-integration.sh $(BUILD)

vm: all $(BUILD)/tests/test_cgroup
	@sh tests/vm/run.sh $(BUILD)/pgo-sandbox $(BUILD)/probes

fuzz:
	@bash tests/fuzz/run.sh $(or $(FUZZ_SECONDS),600)

# run-all.sh builds through its own make, after deps (see PKGS above)
check: deps
	@bash tests/run-all.sh

demo: deps-demo
	@$(MAKE) --no-print-directory all
	@bash fixtures/demo.sh

# The Rust CLI's x64-linux release: PGO + fat LTO against fat LTO, gated
# (fixtures/monocheck/pipeline-rust.ini); rustup's rustc when installed.
demo-rust: deps
	@$(MAKE) --no-print-directory all
	@PATH="$${CARGO_HOME:-$$HOME/.cargo}/bin:$$PATH" \
		PIPELINE=fixtures/monocheck/pipeline-rust.ini \
		ARTIFACTS=fixtures/monocheck/artifacts/rustc BOLT_PIPELINE= \
		TITLE="PGO + fat LTO against fat LTO only" bash fixtures/demo.sh

# The second demo: pgo-sandbox built by its own pipeline (pgo-pipeline.ini).
demo-self: deps
	@$(MAKE) --no-print-directory all
	@$(BUILD)/pgo-sandbox pipeline --pipeline pgo-pipeline.ini

bench: deps
	@$(MAKE) --no-print-directory all
	@bash bench/startup.sh

format:
	clang-format -i $(RUNNER_SRCS) $(RUNNER_HDRS) tests/unit/*.c tests/probes/*.c

lint:
	@sh ci/lint.sh

install: $(BUILD)/pgo-sandbox
	install -D -m 0755 $(BUILD)/pgo-sandbox $(DESTDIR)$(PREFIX)/bin/pgo-sandbox
	install -D -m 0644 man/pgo-sandbox.1 $(DESTDIR)$(PREFIX)/share/man/man1/pgo-sandbox.1
	install -d $(DESTDIR)$(PREFIX)/share/pgo-sandbox/profiles
	install -m 0644 profiles/*.ini $(DESTDIR)$(PREFIX)/share/pgo-sandbox/profiles/
	install -D -m 0644 completions/pgo-sandbox.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/pgo-sandbox

release:
	@sh ci/release.sh $(VERSION)

clean:
	rm -rf build build-asan build-release

-include $(RUNNER_OBJS:.o=.d)
