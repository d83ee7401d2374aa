# The two commands of the README:
#   make demo   install what is missing, build, run the showcase
#   make test   install what is missing, build, run every test (ctest)
# and:  make build | make bench | make clean

BUILD ?= build
JOBS  ?= 2
LIT   := /usr/lib/llvm-19/build/utils/lit/lit.py

.PHONY: all setup configure build test demo bench clean

all: build

setup:
	@bash cmake/install-deps.sh

$(BUILD)/build.ninja: | setup
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLVM_EXTERNAL_LIT=$(LIT)

configure: setup $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure

demo: build
	$(BUILD)/examples/demo/attn-demo

# The benchmark suite: every kernel checked, then timed against the FMA peak
# and memory bandwidth measured in the same run and the naive unfused
# baseline; writes $(BUILD)/bench/bench.md, bench.csv and bench.png.
bench: build
	@bash cmake/install-deps.sh --bench
	$(BUILD)/examples/bench/attn-bench --out $(BUILD)/bench
	/usr/bin/python3 examples/bench/plot_bench.py $(BUILD)/bench
	@python3 -c "import torch" 2>/dev/null || echo "PyTorch baselines skipped: torch is not importable here (its PyPI wheel pulls in CUDA, gigabytes); they are not implemented yet either."

clean:
	rm -rf $(BUILD)
