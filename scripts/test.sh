#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite:
#   - OpenSSL 3 build: crypto core, envelopes, config, service, CLI, the
#     integration tests against the real server binary, benchmarks (built);
#   - BoringSSL build: crypto core and envelopes with their tests and
#     benchmarks (built), proving the core runs on both providers.
# Exits non-zero if anything fails. Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test

jobs=$(nproc)
for preset in openssl boringssl; do
  echo "=== ${preset}: configure and build"
  cmake --preset "${preset}" >/dev/null
  cmake --build --preset "${preset}" -j "${jobs}"
  echo "=== ${preset}: test"
  ctest --preset "${preset}" -j "${jobs}"
done
