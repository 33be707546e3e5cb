#!/usr/bin/env bash
# Configures and builds one configuration.
#   scripts/build.sh release    -> build/         (gcc, warnings as errors)
#   scripts/build.sh sanitize   -> build-sanitize (clang, address + undefined sanitizers, libFuzzer targets)
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-release}"
case "$kind" in
  release)
    dir=build
    args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DTECHMODA_WERROR=ON)
    ;;
  sanitize)
    dir=build-sanitize
    args=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DTECHMODA_WERROR=ON -DTECHMODA_SANITIZE=ON
          -DTECHMODA_FUZZ=ON "-DTECHMODA_FUZZ_SECONDS=${FUZZ_SECONDS:-60}")
    ;;
  *) echo "usage: $0 release|sanitize" >&2; exit 2 ;;
esac
# ccache (Debian's) keeps its cache on the machine between runs: a rebuild of unchanged sources is a lookup.
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$dir" -G Ninja "${args[@]}" "${launcher[@]}" >/dev/null
# Two cores and heavy Boost headers: two jobs keep memory in check and the machine busy.
cmake --build "$dir" -j "${JOBS:-2}"
