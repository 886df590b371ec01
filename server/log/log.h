// Structured logging: one JSON object per line on stderr.
//
//   {"ts":"2026-11-21T05:44:29.123Z","level":"info","msg":"serving",
//    "grpc_port":50051}
//
// Callers pass only non-secret values: never a token, key, session key or
// plaintext. Thread-safe: each line is written with a single write(2).
#ifndef WXCRYPTO_SERVER_LOG_LOG_H_
#define WXCRYPTO_SERVER_LOG_LOG_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <variant>

#include "absl/strings/string_view.h"

namespace wxcrypto {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Parses "debug", "info", "warning" or "error"; returns false otherwise.
bool ParseLogLevel(absl::string_view text, LogLevel& level);

// Sets the lowest level that is written (default kInfo).
void SetLogLevel(LogLevel level);

// Returns true if a line at `level` would be written.
bool LogEnabled(LogLevel level);

// A field value: text, integer or boolean.
using LogValue = std::variant<std::string, std::int64_t, bool>;
using LogField = std::pair<absl::string_view, LogValue>;

// Writes one line at `level` with `msg` and `fields`.
void Log(LogLevel level, absl::string_view msg,
         std::initializer_list<LogField> fields = {});

// Returns the JSON line Log would write (without the timestamp), for tests.
std::string FormatLogLine(LogLevel level, absl::string_view msg,
                          std::initializer_list<LogField> fields,
                          absl::string_view timestamp);

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_LOG_LOG_H_
