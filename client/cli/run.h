// The entry point of wxcrypto-cli, callable in-process so that tests can
// run every subcommand without spawning the binary.
#ifndef WXCRYPTO_CLIENT_CLI_RUN_H_
#define WXCRYPTO_CLIENT_CLI_RUN_H_

#include <istream>
#include <ostream>
#include <string>

#include "absl/types/span.h"

namespace wxcrypto {
namespace cli {

// Runs `wxcrypto-cli <args...>` (args excludes the program name) with the
// given standard streams; returns the exit code (output.h, ExitCode).
int Run(absl::Span<const std::string> args, std::istream& in, std::ostream& out,
        std::ostream& err);

// Returns the text of `wxcrypto-cli help`.
std::string UsageText();

}  // namespace cli
}  // namespace wxcrypto

#endif  // WXCRYPTO_CLIENT_CLI_RUN_H_
