// wxcrypto-cli: calls every RPC of wxcrypto.v1.CryptoService, and acts as
// WeChat offline (seal-push, open-reply) to test a gateway. `wxcrypto-cli
// help` documents the commands, flags and output.
//
// Exit codes (output.h, ExitCode; scripts rely on them):
//   0  success; verify-raw-data also exits 0 when `valid` is false
//   1  the operation failed: the RPC returned an error status, or
//      seal-push / open-reply failed (bad key, bad envelope, signature
//      mismatch, ...)
//   2  usage error: unknown command or flag, missing required flag, bad
//      value, unreadable input file; nothing was sent
//   3  the server could not be reached or did not answer in time: the RPC
//      ended with UNAVAILABLE (a draining server too) or DEADLINE_EXCEEDED
//
// On success, stdout has one JSON object (or, with --output body|query|
// message, just those bytes). On failure, stderr has one JSON line:
//   {"error":{"code":"UNAUTHENTICATED","message":"...",
//             "wx_error_code":-40001,"reason":"SIGNATURE_MISMATCH"}}
#include <grpc/support/log.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "client/cli/run.h"

namespace {

void DiscardGrpcLog(gpr_log_func_args* /*args*/) {}

}  // namespace

int main(int argc, char** argv) {
  // gRPC logs transport errors (a failed TLS handshake, ...) to stderr,
  // which would break the one-JSON-line promise; the error reaches the
  // JSON line through the call's status anyway. GRPC_VERBOSITY set in the
  // environment keeps gRPC's logging for debugging.
  if (std::getenv("GRPC_VERBOSITY") == nullptr) {
    gpr_set_log_function(DiscardGrpcLog);
  }
  std::ios::sync_with_stdio(false);
  std::vector<std::string> args(argv + 1, argv + argc);
  return wxcrypto::cli::Run(args, std::cin, std::cout, std::cerr);
}
