#!/usr/bin/env bash
# Installs, from Debian 12 packages only, everything wxcrypto needs.
#
#   scripts/install-deps.sh          build and runtime dependencies
#   scripts/install-deps.sh --test   the same plus what the test suite runs
#                                    (promtool, clang for fuzzing, ...)
#
# Idempotent: packages already installed are not touched, and `apt-get
# update` only runs when something is missing. Works as root; uses sudo
# otherwise.
set -euo pipefail

build_packages=(
  build-essential
  ccache
  cmake
  ninja-build
  pkg-config
  # gRPC, Protobuf and Abseil (gRPC 1.51, Protobuf 3.21, Abseil 20220623).
  libabsl-dev
  libgrpc++-dev
  libprotobuf-dev
  protobuf-compiler
  protobuf-compiler-grpc
  # Crypto providers: OpenSSL 3 and BoringSSL (headers in /usr/include/android).
  android-libboringssl-dev
  libssl-dev
  # Envelope parsers.
  libpugixml-dev
  rapidjson-dev
  # Only for bench/parsers, which measured the parser choice.
  libexpat1-dev
  libsimdjson-dev
  # Metrics.
  prometheus-cpp-dev
  # Tests and benchmarks are part of every build tree.
  libbenchmark-dev
  libgmock-dev
  libgtest-dev
)

test_packages=(
  # promtool for `promtool check metrics` and rules, and the real Prometheus
  # of the scrape test.
  prometheus
  # libFuzzer targets (clang with its sanitizer and fuzzer runtimes).
  clang-14
  libclang-rt-14-dev
  # Throwaway CAs and certificates for the TLS tests.
  openssl
  # Deploy checks: YAML lint and parsing of rendered manifests.
  python3
  python3-yaml
  yamllint
  # The Python reference gateway and its end-to-end test.
  python3-aiohttp
  python3-grpcio
  python3-protobuf
)

packages=("${build_packages[@]}")
if [[ "${1:-}" == "--test" ]]; then
  packages+=("${test_packages[@]}")
  # The Node reference gateway needs node and npm (its npm packages come
  # from client/node/package-lock.json). Machines that already have a
  # Node.js with npm keep it: Debian's npm conflicts with other builds.
  if ! command -v npm >/dev/null 2>&1; then
    packages+=(nodejs npm)
  fi
elif [[ $# -gt 0 ]]; then
  echo "usage: $0 [--test]" >&2
  exit 2
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
