#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite:
#   - openssl:   crypto core, envelopes, config, service, CLI, gateways,
#                deploy checks, the integration tests against the real server
#                binary; benchmarks are built;
#   - boringssl: crypto core and envelopes with their tests (and benchmarks
#                built), proving the core runs on both providers;
#   - asan:      the whole suite again under AddressSanitizer + UBSan;
#   - tsan:      the concurrency tests (config store and watcher, rotation
#                under load, drain: the test preset's name filter) under
#                ThreadSanitizer;
#   - fuzz:      every libFuzzer target for a short fixed time, plus its
#                regression inputs.
# Exits non-zero if anything fails. Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test

# ccache (set as the compiler launcher by the presets) keyed on paths
# relative to the checkout, so a fresh clone reuses an earlier clone's cache.
export CCACHE_BASEDIR="${PWD}"
export CCACHE_NOHASHDIR=true

jobs=$(nproc)
for preset in openssl boringssl asan tsan fuzz; do
  echo "=== ${preset}: configure and build"
  cmake --preset "${preset}" >/dev/null
  cmake --build --preset "${preset}" -j "${jobs}"
  echo "=== ${preset}: test"
  ctest --preset "${preset}" -j "${jobs}"
done
