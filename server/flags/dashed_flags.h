// Lets absl flags be spelled with dashes on the command line.
//
// wxcrypto's binaries document their flags with dashes (--metrics-listen);
// absl defines them with underscores (metrics_listen).
#ifndef WXCRYPTO_SERVER_FLAGS_DASHED_FLAGS_H_
#define WXCRYPTO_SERVER_FLAGS_DASHED_FLAGS_H_

#include <string>
#include <vector>

namespace wxcrypto {

// Parses the command line with absl::ParseCommandLine after rewriting the
// name part of every "--flag[=value]" argument (up to a lone "--") from
// dashes to underscores, so both spellings work. Returns the positional
// arguments, as absl::ParseCommandLine does.
std::vector<char*> ParseDashedCommandLine(int argc, char** argv);

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_FLAGS_DASHED_FLAGS_H_
