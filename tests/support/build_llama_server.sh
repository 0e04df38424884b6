#!/usr/bin/env bash
# Build llama.cpp's `llama-server` (OpenAI + Anthropic Messages API) from the llama.cpp sources vendored in the
# llama-cpp-python sdist of the installed version, once, into a cache folder that later runs reuse.
#
#   tests/support/build_llama_server.sh            # prints the path of the binary on its last line
#
# Environment:
#   LLAMA_SERVER_CACHE   cache root (default: ${XDG_CACHE_HOME:-~/.cache}/automl-gpt)
#   LLAMA_CPP_SDIST      path of llama_cpp_python-<version>.tar.gz (default: downloaded with `pip download`)
#   BUILD_JOBS           parallel compile jobs (default: 2)
#   PYTHON               interpreter whose llama-cpp-python version is matched (default: python)
set -euo pipefail

PYTHON="${PYTHON:-python}"
VERSION="$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("llama_cpp_python"))')"
CACHE_ROOT="${LLAMA_SERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/automl-gpt}"
DEST="$CACHE_ROOT/llama-server-$VERSION"
BINARY="$DEST/bin/llama-server"

if [[ -x "$BINARY" ]]; then
    echo "$BINARY"
    exit 0
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/llama-server-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

SDIST="${LLAMA_CPP_SDIST:-}"
if [[ -z "$SDIST" ]]; then
    # --no-binary names the package: with :all: pip would also compile its build dependencies (CMake: 30+ minutes)
    "$PYTHON" -m pip download --quiet --no-deps --no-binary llama-cpp-python --dest "$WORK" \
        "llama-cpp-python==$VERSION" >&2
    SDIST="$(ls "$WORK"/llama_cpp_python-*.tar.gz)"
fi
tar -xzf "$SDIST" -C "$WORK"
SRC="$WORK/llama_cpp_python-$VERSION/vendor/llama.cpp"

# Portable but not slow: no -march=native (the cache may move between CI machines), x86-64-v3 SIMD where the
# build machine has it (without AVX2 a non-native ggml falls back to scalar code, ~20x slower).
CPU_FLAGS=()
if [[ "$(uname -m)" == "x86_64" ]] && grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
    CPU_FLAGS=(-DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON)
fi

started=$(date +%s)
cmake -S "$SRC" -B "$WORK/build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${CPU_FLAGS[@]}" \
    -DGGML_NATIVE=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF >&2
cmake --build "$WORK/build" --target llama-server -j "${BUILD_JOBS:-2}" >&2
mkdir -p "$DEST/bin"
install -m 0755 "$WORK/build/bin/llama-server" "$BINARY.tmp"
mv "$BINARY.tmp" "$BINARY"
echo "built llama-server $VERSION in $(( $(date +%s) - started )) s" >&2
echo "$BINARY"
