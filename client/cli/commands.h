// The subcommands of wxcrypto-cli and the helpers they share. Internal to
// the CLI: run.h is the entry point.
#ifndef WXCRYPTO_CLIENT_CLI_COMMANDS_H_
#define WXCRYPTO_CLIENT_CLI_COMMANDS_H_

#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "client/cli/flags.h"
#include "client/cli/output.h"
#include "server/envelope/envelope.h"

namespace wxcrypto {
namespace cli {

// The process's standard streams (or a test's).
struct Io {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
};

// One subcommand.
struct Command {
  absl::string_view name;
  // One line for the command list of `wxcrypto-cli help`.
  absl::string_view summary;
  // The full text of `wxcrypto-cli help <name>`: synopsis, flags, output.
  absl::string_view help;
  // The flags it accepts; the dispatcher adds --help, and ConnectionFlags()
  // when `connects`.
  absl::Span<const FlagSpec> flags;
  // True for the RPC commands.
  bool connects;
  // Runs it; returns the exit code. Prints the result to io.out, or one
  // error line to io.err.
  int (*run)(const ParsedFlags& flags, Io& io);
};

// The five RPC subcommands, in the order of the service definition.
absl::Span<const Command> RpcCommands();
// seal-push and open-reply.
absl::Span<const Command> OfflineCommands();

// The flags every RPC command takes: --addr, --timeout-seconds, --tls*.
absl::Span<const FlagSpec> ConnectionFlags();
// Their help text, appended to an RPC command's.
absl::string_view ConnectionHelp();

// Prints `json` and a newline to io.out; returns kExitOk.
int PrintJsonLine(Io& io, absl::string_view json);

// Prints `bytes` to io.out exactly, nothing added; returns kExitOk.
int PrintRaw(Io& io, absl::string_view bytes);

// Returns the value of --output, which must be one of `choices`; the first
// is the default.
absl::StatusOr<std::string> GetOutput(
    const ParsedFlags& flags, absl::Span<const absl::string_view> choices);

// Prints `report` as one JSON line to io.err; returns `exit_code`.
int PrintError(Io& io, const ErrorReport& report, int exit_code);

// Prints a usage error built from `status` (its message) and returns
// kExitUsage.
int PrintUsageError(Io& io, const absl::Status& status);

// Reads the input given either inline (--<value_flag>) or from a file
// (--<file_flag>; "-" reads stdin). At most one may be given. Returns
// nullopt if neither is, InvalidArgument if both are or the file cannot be
// read.
absl::StatusOr<std::optional<std::string>> ReadValueOrFile(
    const ParsedFlags& flags, absl::string_view value_flag,
    absl::string_view file_flag, std::istream& in);

// Reads the whole file at `path` ("-" = `in`).
absl::StatusOr<std::string> ReadFile(absl::string_view path, std::istream& in);

// Parses an envelope dialect name: xml, json, json_lowercase, ignoring case,
// with or without the ENVELOPE_FORMAT_ prefix (so decrypt-push's
// envelope_format can be passed back as it is).
absl::StatusOr<EnvelopeFormat> ParseEnvelopeFormat(absl::string_view name);

// Splits a URL query string ("a=1&b=x%20y", an optional leading '?' and
// anything up to it are ignored) into decoded name/value pairs, '+' read as
// a space. InvalidArgument for a bad percent escape.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
ParseQueryString(absl::string_view query);

}  // namespace cli
}  // namespace wxcrypto

#endif  // WXCRYPTO_CLIENT_CLI_COMMANDS_H_
