#include "server/flags/dashed_flags.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/flags/parse.h"

namespace wxcrypto {

std::vector<char*> ParseDashedCommandLine(int argc, char** argv) {
  // absl keeps pointers into argv for the life of the process.
  static auto* const storage = new std::vector<std::string>(argv, argv + argc);
  for (std::size_t i = 1; i < storage->size(); ++i) {
    std::string& arg = (*storage)[i];
    if (arg == "--") break;
    if (arg.rfind("--", 0) != 0) continue;
    const std::size_t end = std::min(arg.find('='), arg.size());
    std::replace(arg.begin() + 2,
                 arg.begin() + static_cast<std::ptrdiff_t>(end), '-', '_');
  }
  static auto* const args = new std::vector<char*>();
  for (std::string& arg : *storage) args->push_back(arg.data());
  args->push_back(nullptr);
  return absl::ParseCommandLine(argc, args->data());
}

}  // namespace wxcrypto
