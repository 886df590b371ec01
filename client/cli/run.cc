#include "client/cli/run.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "client/cli/commands.h"
#include "client/cli/flags.h"
#include "client/cli/output.h"

namespace wxcrypto {
namespace cli {
namespace {

constexpr absl::string_view kUsageHead =
    R"help(wxcrypto-cli: a client for the wxcrypto gRPC service, and WeChat's side of
a webhook for testing a gateway offline.

Usage: wxcrypto-cli <command> [--flag value | --flag=value]...
       wxcrypto-cli help [<command>]
       wxcrypto-cli <command> --help
)help";

constexpr absl::string_view kUsageTail = R"help(
Input: a flag ending in -file reads the value from a file, "-" from stdin.
Use --flag=VALUE to pass an empty value or one that starts with --.

Output: one JSON object and a newline on stdout. RPC commands print the
response as proto3 JSON with the .proto field names and every field, even at
its default (int64 values are strings, enums are names, bytes are base64).
Each bytes field that is valid UTF-8 is repeated as text in <name>_text:
message_text (decrypt-push), body_text (build-reply), data_text
(decrypt-user-data). --output body|query|message prints just those bytes,
with no newline added.

Errors: one JSON line on stderr, e.g.
  {"error":{"code":"UNAUTHENTICATED","message":"...","wx_error_code":-40001,"reason":"SIGNATURE_MISMATCH"}}
code is the gRPC status code name; wx_error_code and reason are the server's
wx-error-code and error-reason trailing metadata (for seal-push and
open-reply, the same values from the crypto core), present only when set.
Usage errors have code INVALID_ARGUMENT and reason USAGE. Tokens and keys are
never printed.

Exit codes:
  0  success (verify-raw-data: also when the signature is not valid)
  1  the operation failed: the RPC returned an error status, or seal-push /
     open-reply failed (bad key, bad envelope, signature mismatch, ...)
  2  usage error: unknown command or flag, missing required flag, bad value,
     unreadable input file; nothing was sent
  3  the server could not be reached or did not answer in time: the RPC
     ended with UNAVAILABLE (also a draining server) or DEADLINE_EXCEEDED
)help";

void AppendCommandList(std::string& text, absl::string_view title,
                       absl::Span<const Command> commands) {
  absl::StrAppend(&text, "\n", title, "\n");
  for (const Command& command : commands) {
    std::string name(command.name);
    name.resize(20, ' ');
    absl::StrAppend(&text, "  ", name, command.summary, "\n");
  }
}

const Command* FindCommand(absl::string_view name) {
  for (auto commands : {RpcCommands(), OfflineCommands()}) {
    for (const Command& command : commands) {
      if (command.name == name) return &command;
    }
  }
  return nullptr;
}

std::string CommandHelp(const Command& command) {
  if (!command.connects) return std::string(command.help);
  return absl::StrCat(command.help, "\n", ConnectionHelp());
}

int PrintText(std::ostream& out, absl::string_view text) {
  out << text;
  out.flush();
  return kExitOk;
}

}  // namespace

std::string UsageText() {
  std::string text(kUsageHead);
  AppendCommandList(text,
                    "RPC commands (call a wxcrypto server):", RpcCommands());
  AppendCommandList(
      text, "Offline commands (no network; act as WeChat):", OfflineCommands());
  absl::StrAppend(&text, "\n", ConnectionHelp(), kUsageTail);
  return text;
}

int Run(absl::Span<const std::string> args, std::istream& in, std::ostream& out,
        std::ostream& err) {
  Io io{in, out, err};
  if (args.empty()) {
    return PrintUsageError(
        io, absl::InvalidArgumentError(
                "missing command; run 'wxcrypto-cli help' for the list"));
  }
  const std::string& name = args[0];
  if (name == "help" || name == "--help" || name == "-h") {
    if (args.size() == 1) return PrintText(out, UsageText());
    const Command* command = args.size() == 2 ? FindCommand(args[1]) : nullptr;
    if (command == nullptr) {
      return PrintUsageError(
          io, absl::InvalidArgumentError(
                  "usage: wxcrypto-cli help [<command>], with a command from "
                  "'wxcrypto-cli help'"));
    }
    return PrintText(out, CommandHelp(*command));
  }
  const Command* command = FindCommand(name);
  if (command == nullptr) {
    // Command names are never secrets, but a mistyped first argument might
    // be; name it only if it looks like a command.
    const bool printable =
        name.size() <= 32 &&
        name.find_first_not_of("abcdefghijklmnopqrstuvwxyz-") ==
            std::string::npos;
    return PrintUsageError(
        io,
        absl::InvalidArgumentError(absl::StrCat(
            "unknown command", printable ? absl::StrCat(" '", name, "'") : "",
            "; run 'wxcrypto-cli help' for the list")));
  }

  std::vector<FlagSpec> allowed(command->flags.begin(), command->flags.end());
  if (command->connects) {
    allowed.insert(allowed.end(), ConnectionFlags().begin(),
                   ConnectionFlags().end());
  }
  allowed.push_back({"help", /*takes_value=*/false});
  auto flags = ParsedFlags::Parse(args.subspan(1), allowed);
  if (!flags.ok()) {
    return PrintUsageError(
        io, absl::InvalidArgumentError(
                absl::StrCat(command->name, ": ", flags.status().message(),
                             "; run 'wxcrypto-cli help ", command->name, "'")));
  }
  if (flags->Has("help")) return PrintText(out, CommandHelp(*command));
  return command->run(*flags, io);
}

}  // namespace cli
}  // namespace wxcrypto
