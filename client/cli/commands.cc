#include "client/cli/commands.h"

#include <fstream>
#include <iterator>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace wxcrypto {
namespace cli {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

absl::StatusOr<std::string> UrlDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%') {
      const int high = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
      const int low = high >= 0 ? HexValue(text[i + 2]) : -1;
      if (low < 0) {
        return absl::InvalidArgumentError(
            "bad percent escape in the query string");
      }
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

int PrintJsonLine(Io& io, absl::string_view json) {
  io.out.write(json.data(), static_cast<std::streamsize>(json.size()));
  io.out << "\n";
  io.out.flush();
  return kExitOk;
}

int PrintRaw(Io& io, absl::string_view bytes) {
  io.out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  io.out.flush();
  return kExitOk;
}

absl::StatusOr<std::string> GetOutput(
    const ParsedFlags& flags, absl::Span<const absl::string_view> choices) {
  std::string output = flags.Get("output", choices.front());
  for (absl::string_view choice : choices) {
    if (output == choice) return output;
  }
  std::string message = "--output wants ";
  for (std::size_t i = 0; i < choices.size(); ++i) {
    absl::StrAppend(&message, i == 0 ? "" : " or ", choices[i]);
  }
  return absl::InvalidArgumentError(message);
}

int PrintError(Io& io, const ErrorReport& report, int exit_code) {
  io.err << ErrorJson(report) << "\n";
  io.err.flush();
  return exit_code;
}

int PrintUsageError(Io& io, const absl::Status& status) {
  return PrintError(io, UsageReport(status.message()), kExitUsage);
}

absl::StatusOr<std::string> ReadFile(absl::string_view path, std::istream& in) {
  std::ostringstream contents;
  if (path == "-") {
    contents << in.rdbuf();
    // An empty stdin leaves failbit set on `contents`; that is not an error.
    if (in.bad()) return absl::InvalidArgumentError("cannot read stdin");
    return contents.str();
  }
  std::ifstream file{std::string(path), std::ios::binary};
  if (!file) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open file '", path, "'"));
  }
  contents << file.rdbuf();
  if (file.bad()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read file '", path, "'"));
  }
  return contents.str();
}

absl::StatusOr<std::optional<std::string>> ReadValueOrFile(
    const ParsedFlags& flags, absl::string_view value_flag,
    absl::string_view file_flag, std::istream& in) {
  if (absl::Status status = CheckAtMostOne(flags, {value_flag, file_flag});
      !status.ok()) {
    return status;
  }
  if (flags.Has(value_flag)) return flags.Get(value_flag);
  if (!flags.Has(file_flag)) return std::nullopt;
  auto contents = ReadFile(flags.Get(file_flag), in);
  if (!contents.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", file_flag, ": ", contents.status().message()));
  }
  return *std::move(contents);
}

absl::StatusOr<EnvelopeFormat> ParseEnvelopeFormat(absl::string_view name) {
  std::string lower = absl::AsciiStrToLower(name);
  absl::string_view bare = lower;
  absl::ConsumePrefix(&bare, "envelope_format_");
  if (bare == "xml") return EnvelopeFormat::kXml;
  if (bare == "json") return EnvelopeFormat::kJson;
  if (bare == "json_lowercase") return EnvelopeFormat::kJsonLowercase;
  return absl::InvalidArgumentError(
      "--format wants xml, json or json_lowercase");
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
ParseQueryString(absl::string_view query) {
  if (std::size_t mark = query.find('?'); mark != absl::string_view::npos) {
    query.remove_prefix(mark + 1);
  }
  query = query.substr(0, query.find('#'));
  std::vector<std::pair<std::string, std::string>> params;
  for (absl::string_view part : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> name_value =
        absl::StrSplit(part, absl::MaxSplits('=', 1));
    auto name = UrlDecode(name_value.first);
    if (!name.ok()) return name.status();
    auto value = UrlDecode(name_value.second);
    if (!value.ok()) return value.status();
    params.emplace_back(*std::move(name), *std::move(value));
  }
  return params;
}

}  // namespace cli
}  // namespace wxcrypto
