# A thin wrapper around meson, so that a fresh Debian 12 machine needs two commands:
# `make run` and `make test`.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
CONFIG     ?= config/tandem.toml
FUZZ_SECONDS ?= 300
JOBS       ?= $(shell nproc)
# Release builds are profile-guided (tools/pgo.sh, trained once per build folder); PGO=0: plain.
PGO        ?= 1

MESON_COMMON = -Dwerror=true

.PHONY: all deps build pgo run test bench bench-smoke asan fuzz format lint clean

all: build

deps:
	@./install-dependencies.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=release $(MESON_COMMON)

$(BUILD)/pgo.stamp: | $(BUILD)/build.ninja
	./tools/pgo.sh $(BUILD)

ifeq ($(PGO),1)
build: deps $(BUILD)/pgo.stamp
	ninja -C $(BUILD) -j $(JOBS)
else
build: deps $(BUILD)/build.ninja
	rm -f $(BUILD)/pgo.stamp
	meson configure $(BUILD) -Db_pgo=off
	ninja -C $(BUILD) -j $(JOBS)
endif

# Train the profile-guided build again (after changes to the code a call runs).
pgo: deps $(BUILD)/build.ninja
	./tools/pgo.sh $(BUILD)
	ninja -C $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/tandem --config $(CONFIG)

test: build
	meson test -C $(BUILD) --print-errorlogs --num-processes $(JOBS)

# Micro-benchmarks, the end-to-end CPS harness against Kamailio, the DPDK backend's ramp (exit 77:
# skipped where namespaces or DPDK are missing), the issues' targets checked against the figures
# (bench/targets.py), then the README's tables.
bench: build
ifeq ($(PGO),1)
	./tools/pgo.sh --if-stale $(BUILD)
	ninja -C $(BUILD) -j $(JOBS)
endif
	./bench/micro.sh $(BUILD)
	TANDEM_BIN=$(BUILD)/tandem ./bench/cps/run.sh
	TANDEM_BIN=$(BUILD)/tandem ./bench/cps/dpdk.sh || [ $$? -eq 77 ]
	python3 bench/targets.py
	python3 bench/update_readme.py

# The harness's smoke run (a few seconds per system): checks that it works, not the numbers.
bench-smoke: build
	TANDEM_BIN=$(BUILD)/tandem ./bench/cps/run.sh --smoke --out $$(mktemp -d)
	TANDEM_BIN=$(BUILD)/tandem ./bench/cps/dpdk.sh --smoke || [ $$? -eq 77 ]

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) --buildtype=debugoptimized -Db_sanitize=address,undefined \
	    -Db_lundef=false -Djemalloc=disabled -Dbenchmarks=false $(MESON_COMMON)

asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    meson test -C $(ASAN_BUILD) --print-errorlogs --num-processes $(JOBS) --timeout-multiplier 3

$(FUZZ_BUILD)/build.ninja:
	CXX=clang++ CC=clang meson setup $(FUZZ_BUILD) --buildtype=debugoptimized \
	    -Db_sanitize=address,undefined -Db_lundef=false -Djemalloc=disabled \
	    -Dbenchmarks=false -Dfuzz=true -Ddpdk=disabled

# libFuzzer over every target, FUZZ_SECONDS each, seeded from the checked-in corpus.
fuzz: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD) -j $(JOBS) $$(ninja -C $(FUZZ_BUILD) -t targets all | \
	    sed -n 's|^\(tests/fuzz/[a-z0-9_]*_fuzz\): .*|\1|p' | sort -u)
	./tests/fuzz/run-fuzzers.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

lint:
	git ls-files '*.cc' '*.h' | xargs clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
