// A reference for CtJsonScanWatermark (server/crypto/ct_json.h): RapidJSON
// 1.1.0's Reader, with the flags DecryptUserData used before
// (kParseIterativeFlag | kParseValidateEncodingFlag), and a handler that
// finds the watermark as Document::FindMember and GenericValue::IsInt64
// would, with the differences ct_json.h documents applied. Used by the
// differential test (tests/crypto/ct_json_test.cc) and the fuzzer
// (tests/fuzz/ct_json_fuzzer.cc). tests/crypto/user_data_watermark_test.cc
// keeps its own DOM-based reference, an independent oracle, and shares only
// IsStrictUtf8.
#ifndef WXCRYPTO_TESTS_TESTING_CT_JSON_REFERENCE_H_
#define WXCRYPTO_TESTS_TESTING_CT_JSON_REFERENCE_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/strings/string_view.h"
#include "rapidjson/error/error.h"
#include "rapidjson/reader.h"
#include "server/crypto/ct_json.h"

namespace wxcrypto {
namespace testing {

// A stream over a text for rapidjson::Reader that reads NUL past the end
// (like rapidjson::MemoryStream) and notes whether the string it last
// finished contained an escape, which the handler cannot tell.
class TrackingStream {
 public:
  using Ch = char;

  explicit TrackingStream(absl::string_view text) : text_(text) {}

  Ch Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  Ch Take() {
    const Ch c = Peek();
    if (pos_ < text_.size()) ++pos_;
    switch (lexer_) {
      case Lexer::kOutside:
        if (c == '"') {
          lexer_ = Lexer::kInside;
          escaped_ = false;
        }
        break;
      case Lexer::kInside:
        if (c == '\\') {
          lexer_ = Lexer::kEscape;
          escaped_ = true;
        } else if (c == '"') {
          lexer_ = Lexer::kOutside;
          last_string_escaped_ = escaped_;
        }
        break;
      case Lexer::kEscape:
        lexer_ = Lexer::kInside;
        break;
    }
    return c;
  }
  std::size_t Tell() const { return pos_; }
  // Not an output stream.
  Ch* PutBegin() { return nullptr; }
  void Put(Ch) {}
  void Flush() {}
  std::size_t PutEnd(Ch*) { return 0; }

  bool last_string_escaped() const { return last_string_escaped_; }

 private:
  enum class Lexer { kOutside, kInside, kEscape };
  absl::string_view text_;
  std::size_t pos_ = 0;
  Lexer lexer_ = Lexer::kOutside;
  bool escaped_ = false;
  bool last_string_escaped_ = false;
};

// RFC 3629 UTF-8 (no overlong forms, no surrogates, nothing above
// U+10FFFF), written independently of the scanner.
inline bool IsStrictUtf8(absl::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t length = 0;
    std::uint32_t cp = 0;
    if (b < 0x80) {
      ++i;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      length = 2;
      cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      length = 3;
      cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      length = 4;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (i + length > s.size()) return false;
    for (std::size_t j = 1; j < length; ++j) {
      const auto c = static_cast<unsigned char>(s[i + j]);
      if ((c & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if ((length == 3 && cp < 0x800) || (length == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += length;
  }
  return true;
}

// RapidJSON's view of a text, with the scanner's documented differences
// (ct_json.h) applied where a handler can apply them.
struct Reference {
  // The Reader rejected the text only for a number's magnitude
  // (difference 5): the scanner may accept it, or reject it for another
  // reason further on. valid and found are then false.
  bool undecided = false;
  // The text is valid JSON whose top-level value is an object.
  bool valid = false;
  // valid, and the watermark was found (handler_found).
  bool found = false;
  // The handler found a watermark (an object with a string appid and an
  // int64 timestamp) in what the Reader read before it stopped, whether or
  // not the text is valid or decided. app_id, app_id_escaped and timestamp
  // are set exactly when this is.
  bool handler_found = false;
  std::string app_id;
  // The appid was written with an escape (difference 7).
  bool app_id_escaped = false;
  std::int64_t timestamp = 0;
};

// Finds the watermark as Document::FindMember would (the first member of a
// name wins) and the timestamp as GenericValue::IsInt64 would, rejecting
// what the scanner's documented differences 3, 4 and 6 reject.
class ReferenceHandler
    : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, ReferenceHandler> {
 public:
  explicit ReferenceHandler(const TrackingStream& stream) : stream_(stream) {}

  bool Default() {
    EndValue();
    return true;
  }
  bool Int(int value) { return Integer(value); }
  bool Uint(unsigned value) { return Integer(value); }
  bool Int64(std::int64_t value) { return Integer(value); }
  bool Uint64(std::uint64_t value) {
    if (value >
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return Default();
    }
    return Integer(static_cast<std::int64_t>(value));
  }
  bool String(const char* text, rapidjson::SizeType length, bool) {
    // Difference 3: a lone surrogate escape gives ill-formed UTF-8.
    if (!IsStrictUtf8(absl::string_view(text, length))) return false;
    if (member_ == Member::kAppId) {
      app_id_.assign(text, length);
      app_id_escaped_ = stream_.last_string_escaped();
      app_id_string_ = true;
    }
    return Default();
  }
  bool StartObject() {
    if (depth_ == 0) is_object_ = true;
    if (member_ == Member::kWatermark) {
      in_watermark_ = true;
      watermark_object_ = true;
    }
    member_ = Member::kNone;
    // Difference 4: at most kCtJsonMaxDepth levels.
    return ++depth_ <= kCtJsonMaxDepth;
  }
  bool EndObject(rapidjson::SizeType) {
    --depth_;
    if (depth_ == 1) in_watermark_ = false;
    EndValue();
    return true;
  }
  bool StartArray() {
    member_ = Member::kNone;
    return ++depth_ <= kCtJsonMaxDepth;
  }
  bool EndArray(rapidjson::SizeType) {
    --depth_;
    EndValue();
    return true;
  }
  bool Key(const char* text, rapidjson::SizeType length, bool) {
    // Difference 6: no escapes in member names.
    if (stream_.last_string_escaped()) return false;
    if (!IsStrictUtf8(absl::string_view(text, length))) return false;
    const absl::string_view key(text, length);
    member_ = Member::kNone;
    if (depth_ == 1 && key == "watermark" && !seen_watermark_) {
      seen_watermark_ = true;
      member_ = Member::kWatermark;
    } else if (depth_ == 2 && in_watermark_) {
      if (key == "appid" && !seen_app_id_) {
        seen_app_id_ = true;
        member_ = Member::kAppId;
      } else if (key == "timestamp" && !seen_timestamp_) {
        seen_timestamp_ = true;
        member_ = Member::kTimestamp;
      }
    }
    return true;
  }

  bool is_object() const { return is_object_; }
  bool found() const {
    return is_object_ && watermark_object_ && app_id_string_ && has_timestamp_;
  }
  const std::string& app_id() const { return app_id_; }
  bool app_id_escaped() const { return app_id_escaped_; }
  std::int64_t timestamp() const { return timestamp_; }

 private:
  enum class Member { kNone, kWatermark, kAppId, kTimestamp };

  bool Integer(std::int64_t value) {
    if (member_ == Member::kTimestamp) {
      timestamp_ = value;
      has_timestamp_ = true;
    }
    return Default();
  }
  void EndValue() { member_ = Member::kNone; }

  const TrackingStream& stream_;
  std::size_t depth_ = 0;
  Member member_ = Member::kNone;
  bool is_object_ = false;
  bool seen_watermark_ = false;
  bool watermark_object_ = false;
  bool in_watermark_ = false;
  bool seen_app_id_ = false;
  bool seen_timestamp_ = false;
  bool app_id_string_ = false;
  bool app_id_escaped_ = false;
  bool has_timestamp_ = false;
  std::string app_id_;
  std::int64_t timestamp_ = 0;
};

// Runs the Reader with the ReferenceHandler over `text`.
inline Reference ReferenceScan(absl::string_view text) {
  Reference ref;
  TrackingStream stream(text);
  ReferenceHandler handler(stream);
  rapidjson::Reader reader;
  const rapidjson::ParseResult parsed =
      reader.Parse<rapidjson::kParseIterativeFlag |
                   rapidjson::kParseValidateEncodingFlag>(stream, handler);
  ref.handler_found = handler.found();
  if (ref.handler_found) {
    ref.app_id = handler.app_id();
    ref.app_id_escaped = handler.app_id_escaped();
    ref.timestamp = handler.timestamp();
  }
  if (parsed.Code() == rapidjson::kParseErrorNumberTooBig) {
    ref.undecided = true;
    return ref;
  }
  // Difference 2: a NUL byte is never accepted (the Reader reads it as the
  // end of the text). Difference 1 needs nothing: only Document::Parse's
  // stream skips BOM bytes, not the Reader on a plain stream.
  ref.valid = !parsed.IsError() && handler.is_object() &&
              text.find('\0') == absl::string_view::npos;
  ref.found = ref.valid && ref.handler_found;
  return ref;
}

}  // namespace testing
}  // namespace wxcrypto

#endif  // WXCRYPTO_TESTS_TESTING_CT_JSON_REFERENCE_H_
