#!/bin/sh
# Generates the Python stubs of wxcrypto.v1.CryptoService into OUTDIR:
#   OUTDIR/wxcrypto/v1/crypto_service_pb2.py       (messages)
#   OUTDIR/wxcrypto/v1/crypto_service_pb2_grpc.py  (CryptoServiceStub)
# with Debian's protoc (protobuf-compiler) and grpc_python_plugin
# (protobuf-compiler-grpc), matching python3-protobuf and python3-grpcio.
# Put OUTDIR on PYTHONPATH to run gateway.py.
#
#   client/python/generate.sh OUTDIR
#
# PROTOC and GRPC_PYTHON_PLUGIN override the tools' paths.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
out=$1
proto_root=$(cd "$(dirname "$0")/../../proto" && pwd)

mkdir -p "$out"
"${PROTOC:-protoc}" \
  --proto_path="$proto_root" \
  --python_out="$out" \
  --grpc_python_out="$out" \
  --plugin=protoc-gen-grpc_python="${GRPC_PYTHON_PLUGIN:-/usr/bin/grpc_python_plugin}" \
  wxcrypto/v1/crypto_service.proto
