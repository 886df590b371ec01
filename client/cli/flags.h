// A small command-line parser for wxcrypto-cli's subcommands.
//
// absl flags are process-global, which does not fit a tool whose subcommands
// each take their own flags. This parser takes the arguments after the
// subcommand and the list of flags that subcommand allows:
//
//   --name value    a flag with a value (the value may start with '-', so
//                   "-" for stdin works; it may not be another allowed flag
//                   name, which almost always means a forgotten value)
//   --name=value    the same; the only way to pass an empty value or a value
//                   that looks like a flag
//   --name          a boolean flag (FlagSpec::takes_value = false)
//
// Anything else (a positional argument, an unknown flag, a missing value, a
// non-repeated flag given twice) is an InvalidArgument error whose message
// names the offending argument.
#ifndef WXCRYPTO_CLIENT_CLI_FLAGS_H_
#define WXCRYPTO_CLIENT_CLI_FLAGS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace wxcrypto {
namespace cli {

// One flag a subcommand accepts.
struct FlagSpec {
  // The name without the leading "--", e.g. "app-id".
  absl::string_view name;
  // False for a boolean flag such as --help.
  bool takes_value = true;
  // True if the flag may be given more than once; values keep their order.
  bool repeated = false;
};

// The flags given to one subcommand. Immutable after Parse.
class ParsedFlags {
 public:
  // Parses `args` (the arguments after the subcommand) against `allowed`.
  static absl::StatusOr<ParsedFlags> Parse(absl::Span<const std::string> args,
                                           absl::Span<const FlagSpec> allowed);

  // Returns true if `name` was given.
  bool Has(absl::string_view name) const;

  // Returns the value of `name` (the last one for a repeated flag), or
  // `default_value` if it was not given.
  std::string Get(absl::string_view name,
                  absl::string_view default_value = "") const;

  // Returns every value of `name` in order; empty if it was not given.
  std::vector<std::string> GetAll(absl::string_view name) const;

  // Returns the value of `name`, or InvalidArgument naming the flag if it
  // was not given.
  absl::StatusOr<std::string> GetRequired(absl::string_view name) const;

  // Returns the value of `name` as an integer in [min, max], `default_value`
  // if it was not given, or InvalidArgument naming the flag and the range.
  absl::StatusOr<std::int64_t> GetInt(absl::string_view name,
                                      std::int64_t default_value,
                                      std::int64_t min, std::int64_t max) const;

 private:
  explicit ParsedFlags(
      std::map<std::string, std::vector<std::string>, std::less<>> values)
      : values_(std::move(values)) {}

  std::map<std::string, std::vector<std::string>, std::less<>> values_;
};

// Returns OK if every one of `names` was given, else InvalidArgument naming
// the first that was not ("missing required flag --token").
absl::Status CheckRequired(const ParsedFlags& flags,
                           absl::Span<const absl::string_view> names);

// Returns OK if at most one of `names` was given, else InvalidArgument
// naming them (e.g. "--body and --body-file are mutually exclusive").
absl::Status CheckAtMostOne(const ParsedFlags& flags,
                            absl::Span<const absl::string_view> names);

}  // namespace cli
}  // namespace wxcrypto

#endif  // WXCRYPTO_CLIENT_CLI_FLAGS_H_
