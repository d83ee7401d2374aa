#!/usr/bin/env bash
# Installs what attn needs to build and test, from Debian's packages, and
# nothing when everything is already there. Run by `make` before the first
# build; safe to run again.
set -euo pipefail

PACKAGES=(
  cmake ninja-build ccache g++ python3
  clang-19 libclang-rt-19-dev                          # the compiler; libFuzzer and sanitizers
  llvm-19-dev libmlir-19-dev mlir-19-tools llvm-19-tools   # LLVM/MLIR 19, FileCheck, lit
  libgtest-dev libbenchmark-dev libfmt-dev
  zlib1g-dev libzstd-dev libedit-dev libxml2-dev  # named by LLVM's CMake package
)

# `install-deps.sh --bench` adds what only the benchmark uses (the plot).
if [ "${1:-}" = "--bench" ]; then
  PACKAGES+=(python3-matplotlib libdnnl-dev libomp-19-dev)  # libomp: OpenMP for clang, which oneDNN needs
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "attn: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "attn: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# libmlir-22-dev (if a newer LLVM is around) conflicts with libmlir-19-dev: we
# never ask for it.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
