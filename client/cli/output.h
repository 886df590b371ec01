// What wxcrypto-cli prints, and its exit codes.
//
// Success: one JSON object and a newline on stdout (or, with --output
// body|query|message, those bytes exactly, with no newline added).
// Failure: one JSON line on stderr,
//
//   {"error":{"code":"UNAUTHENTICATED","message":"...",
//             "wx_error_code":-40001,"reason":"SIGNATURE_MISMATCH"}}
//
// where code is the canonical status code name, and wx_error_code and reason
// are present only when the failure carries them (the `wx-error-code` and
// `error-reason` trailing metadata of an RPC, the payloads of an offline
// operation's status; reason "USAGE" for a usage error).
#ifndef WXCRYPTO_CLIENT_CLI_OUTPUT_H_
#define WXCRYPTO_CLIENT_CLI_OUTPUT_H_

#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace google {
namespace protobuf {
class Message;
}  // namespace protobuf
}  // namespace google

namespace wxcrypto {
namespace cli {

// The process exit codes. Scripts rely on them: never renumber.
enum ExitCode : int {
  // The operation succeeded (verify-raw-data: whatever `valid` is).
  kExitOk = 0,
  // The operation failed: the RPC returned an error, or seal-push /
  // open-reply failed (bad key, bad envelope, signature mismatch, ...).
  kExitFailed = 1,
  // Usage error: unknown subcommand or flag, missing required flag, bad
  // flag value, unreadable input file. Nothing was sent.
  kExitUsage = 2,
  // The server could not be reached or did not answer in time: the RPC
  // ended with UNAVAILABLE (including a draining server) or
  // DEADLINE_EXCEEDED. Retrying, possibly elsewhere, may help.
  kExitUnreachable = 3,
};

// A failure as printed on stderr.
struct ErrorReport {
  // Canonical status code name, e.g. "UNAUTHENTICATED".
  std::string code;
  std::string message;
  std::optional<int> wx_error_code;
  // Empty: not printed.
  std::string reason;
};

// Returns the report of a failed offline operation: code and message from
// `status`, wx_error_code and reason from its payloads when it has them.
ErrorReport ReportFromStatus(const absl::Status& status);

// Returns the report of a usage error: INVALID_ARGUMENT, reason USAGE.
ErrorReport UsageReport(absl::string_view message);

// Returns `report` as the one-line JSON object described above (no newline).
std::string ErrorJson(const ErrorReport& report);

// Returns true if `bytes` is well-formed UTF-8 (no overlong forms,
// surrogates or code points above U+10FFFF).
bool IsValidUtf8(absl::string_view bytes);

// Returns the proto3 JSON of `message` with the field names of the .proto
// file and every field printed, even at its default. bytes fields are base64
// in proto3 JSON; for each top-level bytes field whose value is valid UTF-8,
// a `<name>_text` member holds the same value as a string.
absl::StatusOr<std::string> MessageToJson(
    const google::protobuf::Message& message);

}  // namespace cli
}  // namespace wxcrypto

#endif  // WXCRYPTO_CLIENT_CLI_OUTPUT_H_
