#include "server/log/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace wxcrypto {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

// Appends `text` as a JSON string (RFC 8259 escaping; bytes >= 0x80 are
// passed through, so valid UTF-8 stays readable).
void AppendJsonString(absl::string_view text, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (byte < 0x20 || byte == 0x7f) {
          out += "\\u00";
          out.push_back(kHex[byte >> 4]);
          out.push_back(kHex[byte & 0x0f]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

struct ValueAppender {
  std::string& out;
  void operator()(const std::string& text) const {
    AppendJsonString(text, out);
  }
  void operator()(std::int64_t number) const { absl::StrAppend(&out, number); }
  void operator()(bool flag) const { out += flag ? "true" : "false"; }
};

}  // namespace

bool ParseLogLevel(absl::string_view text, LogLevel& level) {
  for (LogLevel candidate : {LogLevel::kDebug, LogLevel::kInfo,
                             LogLevel::kWarning, LogLevel::kError}) {
    if (text == LevelName(candidate)) {
      level = candidate;
      return true;
    }
  }
  return false;
}

void SetLogLevel(LogLevel level) {
  g_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

std::string FormatLogLine(LogLevel level, absl::string_view msg,
                          std::initializer_list<LogField> fields,
                          absl::string_view timestamp) {
  std::string line = "{\"ts\":";
  AppendJsonString(timestamp, line);
  line += ",\"level\":";
  AppendJsonString(LevelName(level), line);
  line += ",\"msg\":";
  AppendJsonString(msg, line);
  for (const LogField& field : fields) {
    line.push_back(',');
    AppendJsonString(field.first, line);
    line.push_back(':');
    std::visit(ValueAppender{line}, field.second);
  }
  line += "}\n";
  return line;
}

void Log(LogLevel level, absl::string_view msg,
         std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  const std::string timestamp = absl::FormatTime(
      "%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  const std::string line = FormatLogLine(level, msg, fields, timestamp);
  // One write per line keeps concurrent lines whole (stderr is unbuffered).
  const ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace wxcrypto
