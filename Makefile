# The two commands of the README:
#   make demo   install what is missing, build, run the showcase
#   make test   install what is missing, build, run every test (ctest)
# and:  make build | make bench | make fuzz | make test-sanitize | make clean

BUILD ?= build
JOBS  ?= 2
LIT   := /usr/lib/llvm-19/build/utils/lit/lit.py
# clang: its libFuzzer and sanitizer runtimes are what `make test` fuzzes with.
CONFIG := -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLVM_EXTERNAL_LIT=$(LIT) \
          -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19
SANITIZE_BUILD ?= build-sanitize
FUZZ_SECONDS ?= 600
DIFF_CASES ?= 2000

.PHONY: all setup configure build test demo bench fuzz test-sanitize clean

all: build

setup:
	@bash cmake/install-deps.sh

$(BUILD)/build.ninja: | setup
	cmake -S . -B $(BUILD) $(CONFIG)

configure: setup $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure

demo: build
	$(BUILD)/examples/demo/attn-demo

# The benchmark suite: every kernel checked, then timed against the FMA peak
# and memory bandwidth measured in the same run, the naive unfused baseline,
# oneDNN and (where $(PYTHON) imports torch) PyTorch's SDPA and compiled
# flex_attention; writes $(BUILD)/bench/bench.md, bench.csv and bench.png.
# oneDNN is installed before CMake looks for it (a first `make bench` from a
# clean clone configured without it), hence the reconfigure.
PYTHON ?= python3
bench: setup
	@bash cmake/install-deps.sh --bench
	cmake -S . -B $(BUILD) $(CONFIG)
	cmake --build $(BUILD) -j $(JOBS)
	$(BUILD)/examples/bench/attn-bench --write-cases $(BUILD)/bench/torch-cases.tsv
	rm -f $(BUILD)/bench/torch.csv
	$(PYTHON) examples/bench/torch_baselines.py $(BUILD)/bench/torch-cases.tsv $(BUILD)/bench/torch.csv
	$(BUILD)/examples/bench/attn-bench --out $(BUILD)/bench --torch $(BUILD)/bench/torch.csv
	/usr/bin/python3 examples/bench/plot_bench.py $(BUILD)/bench

# Longer fuzzing than the smoke run of `make test`: each libFuzzer target for
# FUZZ_SECONDS, then DIFF_CASES random specs compiled and compared with the
# reference. Findings are left in $(BUILD)/tests/fuzz.
fuzz: build
	ATTN_FUZZ_FLAGS=-dict=tests/fuzz/attn.dict tests/fuzz/run_fuzzer.sh \
	  $(BUILD)/tests/fuzz/attn-fuzz-frontend $(FUZZ_SECONDS) $(BUILD)/tests/fuzz/frontend \
	  tests/fuzz/regressions/frontend examples/specs tests/lit/attnc
	tests/fuzz/run_fuzzer.sh $(BUILD)/tests/fuzz/attn-fuzz-npy $(FUZZ_SECONDS) \
	  $(BUILD)/tests/fuzz/npy tests/fuzz/regressions/npy tests/fuzz/seeds/npy
	ATTN_CACHE_DIR=$(BUILD)/kernel-cache $(BUILD)/tests/attn-difftest --cases $(DIFF_CASES) --seed random

# Every test (fuzzers aside) in a separate build with AddressSanitizer,
# LeakSanitizer and UndefinedBehaviorSanitizer.
test-sanitize: setup
	@test -f $(SANITIZE_BUILD)/build.ninja || cmake -S . -B $(SANITIZE_BUILD) $(CONFIG) -DATTN_SANITIZE=ON
	cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	@# LeakSanitizer needs ptrace-like access some containers deny: probe it once.
	@if $(SANITIZE_BUILD)/tests/SupportTests --gtest_filter=Npy.MissingFile 2>&1 | grep -q "LeakSanitizer has encountered a fatal error"; then \
	  echo "attn: LeakSanitizer cannot run here; leak checks off, ASan and UBSan on"; \
	  echo detect_leaks=0 > $(SANITIZE_BUILD)/asan-options; else echo detect_leaks=1 > $(SANITIZE_BUILD)/asan-options; fi
	cd $(SANITIZE_BUILD) && ASAN_OPTIONS=$$(cat asan-options) UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest -j $(JOBS) --output-on-failure

clean:
	rm -rf $(BUILD) $(SANITIZE_BUILD)
