#include "client/cli/flags.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace wxcrypto {
namespace cli {
namespace {

const FlagSpec* FindSpec(absl::Span<const FlagSpec> allowed,
                         absl::string_view name) {
  for (const FlagSpec& spec : allowed) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<ParsedFlags> ParsedFlags::Parse(
    absl::Span<const std::string> args, absl::Span<const FlagSpec> allowed) {
  std::map<std::string, std::vector<std::string>, std::less<>> values;
  for (std::size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (!absl::ConsumePrefix(&arg, "--") || arg.empty()) {
      // Echo the argument only if it looks like a mistyped flag: a stray
      // positional argument may be a secret.
      return absl::InvalidArgumentError(absl::StrCat(
          "unexpected argument ",
          absl::StartsWith(args[i], "-") ? absl::StrCat("'", args[i], "'")
                                         : absl::StrCat("#", i + 1),
          " (flags look like --name value or --name=value)"));
    }
    absl::string_view name = arg;
    bool has_inline_value = false;
    absl::string_view inline_value;
    if (std::size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
      has_inline_value = true;
    }
    const FlagSpec* spec = FindSpec(allowed, name);
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    std::string value;
    if (!spec->takes_value) {
      if (has_inline_value) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " takes no value"));
      }
    } else if (has_inline_value) {
      value = std::string(inline_value);
    } else {
      if (i + 1 == args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " needs a value"));
      }
      absl::string_view next = args[i + 1];
      if (absl::ConsumePrefix(&next, "--")) {
        absl::string_view next_name = next.substr(0, next.find('='));
        if (FindSpec(allowed, next_name) != nullptr) {
          return absl::InvalidArgumentError(absl::StrCat(
              "flag --", name, " needs a value but is followed by flag --",
              next_name, " (write --", name, "=VALUE to pass a value that ",
              "starts with --)"));
        }
      }
      value = args[++i];
    }
    std::vector<std::string>& slot = values[std::string(name)];
    if (!slot.empty() && !spec->repeated) {
      return absl::InvalidArgumentError(
          absl::StrCat("flag --", name, " given more than once"));
    }
    slot.push_back(std::move(value));
  }
  return ParsedFlags(std::move(values));
}

bool ParsedFlags::Has(absl::string_view name) const {
  return values_.find(name) != values_.end();
}

std::string ParsedFlags::Get(absl::string_view name,
                             absl::string_view default_value) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::string(default_value);
  return it->second.back();
}

std::vector<std::string> ParsedFlags::GetAll(absl::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return {};
  return it->second;
}

absl::StatusOr<std::string> ParsedFlags::GetRequired(
    absl::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("missing required flag --", name));
  }
  return it->second.back();
}

absl::StatusOr<std::int64_t> ParsedFlags::GetInt(absl::string_view name,
                                                 std::int64_t default_value,
                                                 std::int64_t min,
                                                 std::int64_t max) const {
  auto it = values_.find(name);
  if (it == values_.end()) return default_value;
  std::int64_t value = 0;
  if (!absl::SimpleAtoi(it->second.back(), &value) || value < min ||
      value > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        "flag --", name, " wants an integer from ", min, " to ", max));
  }
  return value;
}

absl::Status CheckRequired(const ParsedFlags& flags,
                           absl::Span<const absl::string_view> names) {
  for (absl::string_view name : names) {
    if (!flags.Has(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("missing required flag --", name));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckAtMostOne(const ParsedFlags& flags,
                            absl::Span<const absl::string_view> names) {
  std::vector<std::string> given;
  for (absl::string_view name : names) {
    if (flags.Has(name)) given.push_back(absl::StrCat("--", name));
  }
  if (given.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(absl::StrJoin(given, " and "), " cannot be combined"));
  }
  return absl::OkStatus();
}

}  // namespace cli
}  // namespace wxcrypto
