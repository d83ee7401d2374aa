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

# fp32 dense and causal attention, B=1 H=16 L=2048 D=128, against the FMA
# peak that attnc bench measures on this machine.
# (causal.attn fixes D = 128 in the spec.)
BENCH_SIZE ?= B=1,H=16,L=2048
bench: build
	$(BUILD)/compiler/tools/attnc/attnc bench examples/specs/dense.attn --size $(BENCH_SIZE),D=128
	$(BUILD)/compiler/tools/attnc/attnc bench examples/specs/causal.attn --size $(BENCH_SIZE)

clean:
	rm -rf $(BUILD)
