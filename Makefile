# qoslet build. `make` builds the programs, `make test` runs the unit tests,
# `make check` runs every suite (see hack/test).

CC ?= gcc
BUILD ?= build
PKGS := yaml-0.1 jansson libcurl libsystemd libcrypto libseccomp libcap libarchive \
	libmicrohttpd
TEST_PKGS := criterion

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(PKGS)) -lm
TEST_CFLAGS := $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror \
	-Werror=implicit-function-declaration -Werror=missing-prototypes \
	-Werror=strict-prototypes -Werror=shadow -Werror=format=2 -Werror=return-type \
	-Werror=undef -Werror=vla -Wno-unused-parameter
OPT ?= -O2 -g
SAN ?=
CFLAGS_ALL := -std=gnu11 $(WARN) $(OPT) $(SAN) -fno-common -fstack-protector-strong \
	-D_GNU_SOURCE -Ipkg $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL := $(SAN) $(LDFLAGS)

LIB_SRCS := $(sort $(wildcard pkg/*/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libqoslet.a

# Data files compiled into the library (hack/embed-file): the RuntimeDefault seccomp profile.
GEN_SRCS := $(BUILD)/gen/seccomp-default.c
GEN_OBJS := $(GEN_SRCS:%.c=%.o)

PROGRAMS := $(patsubst cmd/%/,$(BUILD)/%,$(sort $(dir $(wildcard cmd/*/*.c))))

TEST_SRCS := $(sort $(wildcard tests/test-*.c))
TESTS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
TEST_HELPER_SRCS := $(sort $(wildcard tests/helpers/*.c))
TEST_HELPER_OBJS := $(TEST_HELPER_SRCS:%.c=$(BUILD)/%.o)

.PHONY: all test test-unit test-root test-vm check check-asan format format-check clean fuzz \
	fuzzers bench
all: $(PROGRAMS)

V ?= 0
Q := $(if $(filter 1,$(V)),,@)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/gen/seccomp-default.c: pkg/security/seccomp-default.json hack/embed-file
	@mkdir -p $(dir $@)
	$(Q)hack/embed-file sec_default_profile_data $< >$@.tmp && mv $@.tmp $@

$(GEN_OBJS): %.o: %.c
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIB): $(LIB_OBJS) $(GEN_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

# qoslet-shim runs once per pod: linked statically (without the libraries the daemon uses)
# so that every copy shares its pages. Sanitizer builds cannot link statically. It applies
# container security with libcap only: seccomp filters come compiled, as raw BPF files.
STATIC_PROGRAMS := qoslet-shim
STATIC_LDFLAGS := $(if $(SAN),,-static)
STATIC_LIBS := -lcap

define program_rule
$(BUILD)/$(1): $(patsubst %.c,$(BUILD)/%.o,$(wildcard cmd/$(1)/*.c)) $(LIB)
	@$(if $(Q),echo "  LD      $$@")
	$(Q)$$(CC) $$(LDFLAGS_ALL) $(if $(filter $(1),$(STATIC_PROGRAMS)),$$(STATIC_LDFLAGS)) -o $$@ $$^ $(if $(filter $(1),$(STATIC_PROGRAMS)),$$(STATIC_LIBS),$$(PKG_LIBS))
endef
$(foreach p,$(notdir $(PROGRAMS)),$(eval $(call program_rule,$(p))))

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) $(TEST_CFLAGS) -Itests -MMD -MP -c $< -o $@

# tests/helpers/leak-check.c: a leak fails the test that made it under ASan.
$(BUILD)/tests/test-%: $(BUILD)/tests/test-%.o $(TEST_HELPER_OBJS) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -Wl,--wrap=criterion_internal_test_main -o $@ $^ $(PKG_LIBS) \
		$(TEST_LIBS)

# A static program the root tests put into container images (no libraries, no sanitizers).
PROBES := $(BUILD)/tests/sec-probe
$(BUILD)/tests/%: tests/probe/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -std=gnu11 $(WARN) -O2 -D_GNU_SOURCE -static -o $@ $<

tests: $(TESTS) $(PROGRAMS) $(PROBES)
.PHONY: tests

# libFuzzer targets, hack/fuzz/fuzz-<target>.c: `make fuzz` builds them into build-fuzz/ and
# hack/fuzz/run runs one.
FUZZERS := $(patsubst hack/fuzz/%.c,$(BUILD)/%,$(wildcard hack/fuzz/fuzz-*.c))
$(BUILD)/fuzz-%: $(BUILD)/hack/fuzz/fuzz-%.o $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)
fuzzers: $(FUZZERS)

fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" fuzzers

# The decode-and-plan benchmark (hack/bench-plan runs it).
$(BUILD)/bench-plan: $(BUILD)/hack/bench/bench-plan.o $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)
bench: $(BUILD)/bench-plan

# Unit tests: no root needed.
test test-unit: $(TESTS) $(PROGRAMS)
	hack/run-suite unit $(BUILD)

# Root integration tests on this host.
test-root: $(TESTS) $(PROGRAMS)
	hack/run-suite root $(BUILD)

# cgroup v2 suites inside a VM (hack/vm-run).
test-vm: $(TESTS) $(PROGRAMS)
	hack/test-vm $(BUILD)

check-asan:
	$(MAKE) BUILD=build-asan CC=clang OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" tests
	ASAN_OPTIONS=detect_leaks=1 hack/run-suite unit build-asan
	ASAN_OPTIONS=detect_leaks=1 hack/run-suite root build-asan

check:
	hack/test

format:
	clang-format -i $(LIB_SRCS) $(wildcard pkg/*/*.h cmd/*/*.c cmd/*/*.h tests/*.c tests/*.h \
		tests/helpers/*.[ch] hack/*/*.[ch])

format-check:
	hack/format-check

clean:
	rm -rf build build-*

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
