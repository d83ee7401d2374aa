#!/usr/bin/env bash
# Installs attn from the build tree into a scratch prefix, builds the
# standalone examples/aot project against it with find_package(Attn), and runs
# it: the path a user takes to link an ahead-of-time kernel.
# The example is built with the compilers (and sanitizer flags) of this build.
set -euo pipefail
build=$1 source=$2 cc=$3 cxx=$4 link_flags=${5:-}
prefix=$build/aot-test/prefix
rm -rf "$build/aot-test"
cmake --install "$build" --prefix "$prefix" > /dev/null
cmake -S "$source/examples/aot" -B "$build/aot-test/build" -G Ninja \
  -DAttn_DIR="$prefix/lib/cmake/Attn" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_EXE_LINKER_FLAGS="$link_flags" > /dev/null
cmake --build "$build/aot-test/build" | grep -v "^\[" || true
test -x "$build/aot-test/build/aot_example"
"$build/aot-test/build/aot_example"
