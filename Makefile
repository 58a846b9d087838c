# attntag - build, test, install. `make` builds the binary and libattntag.a;
# `make check` runs every test; `make check SANITIZE=1` runs them under
# AddressSanitizer and UndefinedBehaviorSanitizer; `make check-arm64` cross-builds
# for ARM64 and tests that build under qemu-aarch64.

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
LIBDIR = $(PREFIX)/lib
INCLUDEDIR = $(PREFIX)/include
PKGCONFIGDIR = $(LIBDIR)/pkgconfig
DATADIR = $(PREFIX)/share/attntag
MANDIR = $(PREFIX)/share/man/man1
MODEL_NAME = en-ewt.safetensors

DEPS = libcjson libutf8proc
CC ?= cc
# The machine the compiler builds for (its -dumpmachine, e.g. x86_64-linux-gnu
# or aarch64-linux-gnu). x86-64 builds assume x86-64-v2 (SSE4.2, POPCNT) and
# pick AVX2 or AVX-512 at run time; other processors get the compiler's own
# default, so that `make CC=aarch64-linux-gnu-gcc` needs no OPT.
TARGET := $(shell $(CC) -dumpmachine 2>/dev/null)
TARGET_CPU := $(firstword $(subst -, ,$(TARGET)))
ifeq ($(TARGET_CPU),x86_64)
OPT ?= -O2 -march=x86-64-v2
else
OPT ?= -O2
endif
# A compiler for another processor (a cross compiler) builds into its own
# directory, so that its objects and the native ones never mix, and finds its
# libraries with that processor's pkg-config: Debian's TARGET-pkg-config
# (package pkgconf:ARCH, e.g. pkgconf:arm64), else pkg-config on
# /usr/lib/TARGET/pkgconfig. PKG_CONFIG overrides either.
ifneq ($(TARGET_CPU),$(shell uname -m))
CROSS := $(TARGET)
ifeq ($(origin PKG_CONFIG),undefined)
PKG_CONFIG := $(if $(shell command -v $(TARGET)-pkg-config),$(TARGET)-pkg-config,\
	PKG_CONFIG_LIBDIR=/usr/lib/$(TARGET)/pkgconfig:/usr/share/pkgconfig pkg-config)
endif
endif
PKG_CONFIG ?= pkg-config
CFLAGS ?= $(OPT) -g
WARN = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CPPFLAGS_ALL = -std=c11 -D_DEFAULT_SOURCE -Isrc $(shell $(PKG_CONFIG) --cflags $(DEPS)) \
	-DATTNTAG_DATADIR='"$(DATADIR)"' -DATTNTAG_MODEL_NAME='"$(MODEL_NAME)"'
LIBS = $(shell $(PKG_CONFIG) --libs $(DEPS)) -lpthread -lm
TEST_LIBS = $(shell $(PKG_CONFIG) --libs check)

# The man page's examples train models on EWT, and tests/experiments.sh
# several on the tiny corpus: run once, in the plain build, where that takes
# a minute or two instead of ten.
ifeq ($(SANITIZE),1)
BUILD = build/$(if $(CROSS),$(CROSS)-)san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SLOW_TESTS = @echo "man examples, experiments: run in the plain build (make test)"
else
BUILD = build/$(if $(CROSS),$(CROSS),rel)
SANFLAGS =
SLOW_TESTS = python3 tests/man_examples.py $(BUILD)/attntag && tests/experiments.sh $(BUILD)/attntag
endif
# the shared library's objects
PIC = build/$(if $(CROSS),$(CROSS)/)pic

# The kernels: one file per instruction-set path the target can run (see
# src/kernels/dispatch.c), each compiled for its instructions.
KERNEL_SRC = src/kernels/dispatch.c src/kernels/pack.c src/kernels/plain.c
ifeq ($(TARGET_CPU),x86_64)
KERNEL_SRC += src/kernels/avx2.c src/kernels/avx512.c
else ifeq ($(TARGET_CPU),aarch64)
KERNEL_SRC += src/kernels/neon.c src/kernels/neondot.c
endif
ISA_avx2 = -mavx2 -mfma -mf16c
ISA_avx512 = -mavx512f -mavx512vl -mavx512bw -mavx512dq -mavx512vnni $(ISA_avx2)
ISA_neondot = -march=armv8.2-a+dotprod

LIB_SRC = src/error.c src/crc32.c src/fileio.c src/rng.c src/strmap.c src/config.c src/model.c src/model_strings.c src/model_int8.c \
	src/safetensors.c src/model_json.c src/model_io.c src/features.c $(KERNEL_SRC) \
	src/attention.c src/window.c src/forward.c src/backward.c src/tag.c src/corpus.c src/optim.c src/train.c src/eval.c src/tokenize.c src/conllu.c src/reader.c \
	src/writer.c src/pipeline.c src/calibrate.c src/eval_raw.c src/explain.c src/session.c
CLI_SRC = src/main.c src/cli_tag.c src/cli_files.c src/cli_convert.c src/cli_info.c src/cli_train.c \
	src/cli_eval.c src/cli_calibrate.c src/cli_explain.c src/cli_common.c
TEST_SRC = $(wildcard tests/test_*.c) tests/run_tests.c

LIB_OBJ = $(LIB_SRC:src/%.c=$(BUILD)/%.o)
PIC_OBJ = $(LIB_SRC:src/%.c=$(PIC)/%.o)
VERSION = $(shell sed -n 's/^\#define ATTNTAG_VERSION "\(.*\)"/\1/p' src/attntag.h)
SOMAJOR = $(firstword $(subst ., ,$(VERSION)))
SHLIB = libattntag.so.$(VERSION)
CLI_OBJ = $(CLI_SRC:src/%.c=$(BUILD)/%.o)
TEST_OBJ = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%.o)

.PHONY: all check test install uninstall clean data model bench experiments fuzz fuzz-build \
	check-arm64 attntag libattntag.a shared test-python
all: attntag libattntag.a

$(BUILD)/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(WARN) $(CFLAGS) $(HOT_FLAGS) $(ISA) $(SANFLAGS) -MMD -MP -c $< -o $@

# The shared library's objects: position-independent, never sanitised.
$(PIC)/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(WARN) $(CFLAGS) $(HOT_FLAGS) $(ISA) -fPIC -MMD -MP -c $< -o $@

# The numeric inner loops (kernels, attention, the optimiser): multiply-adds
# may fuse (FMA) where the path has it, and element-wise loops are vectorised
# even when a scalar tail remains and their branches must become selects
# (nothing here reads floating-point exception flags or errno); the vector
# helpers are always inlined, so the ABI note does not apply.
OBJ_DIRS = $(BUILD) $(PIC) build/fuzz
HOT_OBJ = $(foreach d,$(OBJ_DIRS),$(KERNEL_SRC:src/%.c=$(d)/%.o) $(d)/attention.o $(d)/optim.o)
HOT_FLAGS_ALL = -ffp-contract=fast -fno-trapping-math -fno-math-errno -fvect-cost-model=dynamic \
	-Wno-psabi
$(HOT_OBJ): HOT_FLAGS = $(HOT_FLAGS_ALL)
# Each path's file is compiled for its instruction set, and called only
# where the processor has it.
$(foreach p,avx2 avx512 neondot,$(foreach d,$(OBJ_DIRS),$(d)/kernels/$(p).o)): \
	ISA = $(ISA_$(basename $(notdir $@)))

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(shell $(PKG_CONFIG) --cflags check) $(WARN) $(CFLAGS) $(SANFLAGS) \
		-DATTNTAG_SRCDIR='"$(CURDIR)"' -MMD -MP -c $< -o $@

$(BUILD)/libattntag.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

# The shared library alone (python/ builds its package with it).
shared: $(PIC)/$(SHLIB)

libattntag.a: $(BUILD)/libattntag.a
	@cmp -s $< $@ || { echo "cp $< $@"; cp $< $@; }

$(PIC)/$(SHLIB): $(PIC_OBJ)
	$(CC) $(CFLAGS) -shared -Wl,-soname,libattntag.so.$(SOMAJOR) -o $@ $^ $(LIBS)

$(BUILD)/attntag: $(CLI_OBJ) $(BUILD)/libattntag.a
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libattntag.a $(LIBS)

# copied beside, then renamed: a running ./attntag keeps its old file. Copied
# whenever it differs, not only when older: after `make CC=aarch64-linux-gnu-gcc`
# a plain `make` puts this machine's program back.
attntag: $(BUILD)/attntag
	@cmp -s $< $@ || { echo "cp $< $@"; cp $< $@.tmp && mv -f $@.tmp $@; }

# batch mode's file lists (cli_files.c) are the command's, tested on their own too
$(BUILD)/run_tests: $(TEST_OBJ) $(BUILD)/cli_files.o $(BUILD)/libattntag.a
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $(TEST_OBJ) $(BUILD)/cli_files.o $(BUILD)/libattntag.a \
		$(TEST_LIBS) $(LIBS)

# `make check`: every test twice, as built and under the sanitizers.
# `make test`: once, in the build SANITIZE selects.
check:
	$(MAKE) test
	$(MAKE) test SANITIZE=1

# Unit tests (Check), then the command-line tests against the built binary.
test: $(BUILD)/run_tests $(BUILD)/attntag
	$(BUILD)/run_tests
	ATTNTAG_BIN=$(CURDIR)/$(BUILD)/attntag python3 tests/cli_test.py
	ATTNTAG_BIN=$(CURDIR)/$(BUILD)/attntag python3 tests/bad_inputs.py
	ATTNTAG_BIN=$(CURDIR)/$(BUILD)/attntag python3 tests/overflow_test.py
	tests/examples.sh $(BUILD)/attntag
	tests/data_fetch.sh $(BUILD)/attntag
	python3 tests/explain_page.py $(BUILD)/attntag
	$(if $(SANITIZE),@echo "test-python: run by make test alone (the shared library it loads is never sanitised)",$(MAKE) test-python)
	$(SLOW_TESTS)

# The Python package (python/) over the shared library, with Debian's python3
# (python3-nltk, python3-venv for the offline install into a fresh environment).
DEBIAN_PY = $(firstword $(wildcard /usr/bin/python3) python3)
test-python: $(PIC)/$(SHLIB) $(BUILD)/attntag
	ATTNTAG_BIN=$(CURDIR)/$(BUILD)/attntag ATTNTAG_LIB=$(CURDIR)/$(PIC)/$(SHLIB) \
		$(DEBIAN_PY) tests/python_test.py

$(BUILD)/arm64_probe: $(BUILD)/tests/arm64_probe.o $(BUILD)/libattntag.a
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libattntag.a $(LIBS)

# ARM64 under emulation (tests/arm64.sh): the program, the unit tests and a
# probe cross-built with Debian's aarch64-linux-gnu-gcc into their own
# directory, the unit tests run under qemu-aarch64 on every kernel path, on a
# CPU model with the dot-product extension and one without, and the tags of
# EWT dev sentences (or of the samples, without EWT) compared byte for byte
# with this machine's build. tools/install-deps installs what it needs.
ARM64_CC ?= aarch64-linux-gnu-gcc
ARM64_BUILD = build/$(shell $(ARM64_CC) -dumpmachine)
check-arm64:
	@command -v $(ARM64_CC) > /dev/null || \
		{ echo "make check-arm64: $(ARM64_CC) not found (tools/install-deps installs it)"; exit 2; }
	$(MAKE) SANITIZE= build/rel/attntag
	$(MAKE) SANITIZE= CC=$(ARM64_CC) $(ARM64_BUILD)/attntag $(ARM64_BUILD)/run_tests \
		$(ARM64_BUILD)/arm64_probe
	tests/arm64.sh $(ARM64_BUILD) build/rel/attntag

# Fuzzing (libFuzzer, Debian's clang and libclang-rt-14-dev): one harness per
# parser of untrusted input (tests/fuzz/fuzz_*.c), built with AddressSanitizer
# and UndefinedBehaviorSanitizer; `make fuzz` runs each for FUZZ_TIME seconds
# on its seed corpus tests/fuzz/NAME/, keeping what it finds in build/fuzz/.
FUZZ_CC ?= clang
FUZZ_TIME ?= 600
FUZZ_OPT = -O1
FUZZ_FLAGS = -g $(FUZZ_OPT) -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
# clang 14 takes minutes to optimise a per-ISA kernel file under both
# sanitizers (avx512.c: about 5 min at -O1, 6 s at -O0), and `make check`
# runs those kernels under the sanitizers optimised already
$(foreach p,avx2 avx512,build/fuzz/kernels/$(p).o): FUZZ_OPT = -O0
FUZZERS = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_OBJ = $(LIB_SRC:src/%.c=build/fuzz/%.o) build/fuzz/cli_train.o build/fuzz/cli_common.o

build/fuzz/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS_ALL) $(FUZZ_FLAGS) $(ISA) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_OBJ)
	$(FUZZ_CC) $(CPPFLAGS_ALL) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) $(LIBS)

.SECONDARY: $(FUZZ_OBJ)
fuzz-build: $(FUZZERS:%=build/fuzz/fuzz_%)

fuzz: fuzz-build
	@for f in $(FUZZERS); do \
		mkdir -p build/fuzz/found-$$f build/fuzz/corpus-$$f; \
		echo "fuzz_$$f: $(FUZZ_TIME) s"; \
		build/fuzz/fuzz_$$f -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix=build/fuzz/found-$$f/ \
			build/fuzz/corpus-$$f tests/fuzz/$$f 2>&1 | \
			grep -E '^(stat::|#[0-9]+[[:space:]]+DONE|==[0-9]+==|SUMMARY|artifact_prefix|Test unit)' || true; \
		test -z "$$(ls build/fuzz/found-$$f)" || { echo "fuzz_$$f: findings in build/fuzz/found-$$f"; exit 1; }; \
	done

# The program, its model and man page; the library (static, and shared with
# its soname), its header and a pkg-config file, so that a C program builds
# with `cc prog.c $$(pkg-config --cflags --libs attntag)`.
install: attntag libattntag.a $(PIC)/$(SHLIB)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR) $(DESTDIR)$(MANDIR) \
		$(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 attntag $(DESTDIR)$(BINDIR)/attntag
	install -m 644 models/$(MODEL_NAME) $(DESTDIR)$(DATADIR)/$(MODEL_NAME)
	install -m 644 man/attntag.1 $(DESTDIR)$(MANDIR)/attntag.1
	install -m 644 libattntag.a $(DESTDIR)$(LIBDIR)/libattntag.a
	install -m 755 $(PIC)/$(SHLIB) $(DESTDIR)$(LIBDIR)/$(SHLIB)
	ln -sf $(SHLIB) $(DESTDIR)$(LIBDIR)/libattntag.so.$(SOMAJOR)
	ln -sf $(SHLIB) $(DESTDIR)$(LIBDIR)/libattntag.so
	install -m 644 src/attntag.h $(DESTDIR)$(INCLUDEDIR)/attntag.h
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' attntag.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/attntag.pc

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/attntag $(DESTDIR)$(DATADIR)/$(MODEL_NAME) \
		$(DESTDIR)$(MANDIR)/attntag.1 $(DESTDIR)$(LIBDIR)/libattntag.a \
		$(DESTDIR)$(LIBDIR)/$(SHLIB) $(DESTDIR)$(LIBDIR)/libattntag.so.$(SOMAJOR) \
		$(DESTDIR)$(LIBDIR)/libattntag.so $(DESTDIR)$(INCLUDEDIR)/attntag.h \
		$(DESTDIR)$(PKGCONFIGDIR)/attntag.pc

# The UD treebanks, found (or downloaded with UD_DOWNLOAD=1) and linked under
# data/ (data/fetch; data/README.md says what and under which licences).
# UD_DIR names a directory to look in.
data: attntag
	data/fetch $(UD_DIR)

# The bundled model, from UD English EWT (CC BY-SA 4.0), which is not copied
# into the repository: `make data` links it as data/ud-en-ewt (EWT_DIR names
# another directory). Settings: models/en-ewt.train.json; the lexicon comes
# from Debian's wordnet-base. The model is trained into build/, marked to run
# with 8-bit products, and copied into models/ only when training has finished.
EWT_DIR ?= data/ud-en-ewt
model: $(BUILD)/attntag $(if $(filter data/ud-en-ewt,$(EWT_DIR)),data)
	@test -r $(EWT_DIR)/en_ewt-ud-train.conllu || \
		{ echo "make model: $(EWT_DIR)/en_ewt-ud-train.conllu not found" \
		       "(make data, or set EWT_DIR)"; exit 2; }
	tools/wordnet-lexicon.sh > $(BUILD)/wordnet-lexicon.tsv
	$(BUILD)/attntag train --config models/en-ewt.train.json \
		--train $(EWT_DIR)/en_ewt-ud-train.conllu --dev $(EWT_DIR)/en_ewt-ud-dev.conllu \
		--lexicon $(BUILD)/wordnet-lexicon.tsv --f16 --log $(BUILD)/en-ewt.jsonl \
		-o $(BUILD)/$(MODEL_NAME)
	$(BUILD)/attntag convert --int8 $(BUILD)/$(MODEL_NAME) $(BUILD)/int8-$(MODEL_NAME)
	$(BUILD)/attntag calibrate -m $(BUILD)/int8-$(MODEL_NAME) \
		--dev $(EWT_DIR)/en_ewt-ud-dev.conllu -o $(BUILD)/int8-$(MODEL_NAME)
	cp $(BUILD)/int8-$(MODEL_NAME) models/$(MODEL_NAME)
	$(BUILD)/attntag eval -m models/$(MODEL_NAME) $(EWT_DIR)/en_ewt-ud-dev.conllu | head -n 6

# The comparison with other taggers (bench/run.sh; downloads and trains them once).
bench: attntag $(if $(filter data/ud-en-ewt,$(EWT_DIR)),data)
	EWT_DIR=$(EWT_DIR) bench/run.sh

# The lecture's figures and its CNN-against-attention claim, trained and
# scored on EWT (resumes where it stopped), then docs/experiments.md.
experiments: attntag $(if $(filter data/ud-en-ewt,$(EWT_DIR)),data)
	EWT_DIR=$(EWT_DIR) experiments/run.sh
	experiments/report.sh

clean:
	rm -rf build attntag libattntag.a

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(PIC_OBJ:.o=.d) $(FUZZ_OBJ:.o=.d) \
	$(BUILD)/tests/arm64_probe.d
