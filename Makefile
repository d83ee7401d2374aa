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

# Until the CPU backend lands, the benchmark times the reference interpreter
# on every example at a longer sequence.
bench: build
	$(BUILD)/examples/demo/attn-demo --seq 512 --kv-seq 512

clean:
	rm -rf $(BUILD)
