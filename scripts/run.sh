#!/usr/bin/env bash
# Installs what is missing, builds wxcrypto-server and wxcrypto-cli (Release,
# OpenSSL 3), and starts the server in the foreground. Without --config it
# serves the embedded demo config (public test keys; never for production).
# Extra arguments go to the server, e.g. scripts/run.sh --config my.json
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

cmake --preset openssl >/dev/null
cmake --build --preset openssl -j "$(nproc)" --target wxcrypto-server wxcrypto-cli
exec build/openssl/server/wxcrypto-server "$@"
