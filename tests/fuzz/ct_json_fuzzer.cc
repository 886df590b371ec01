// libFuzzer target: CtJsonScanWatermark (server/crypto/ct_json.h), the
// constant-time JSON scan behind DecryptUserData, against RapidJSON.
//
// Input: one header byte, then the text.
//   byte 0, bits 0-4  t: the last t bytes of the text (at most all of it)
//                     are a tail scanned past `size`, i.e. read as spaces
//   byte 0, bit 5     compare the appid with the one RapidJSON found
//                     (else with the demo app id)
//
// The oracle (any violation aborts):
//   - masks are all ones or zero; a match implies found, found implies
//     valid; the timestamp is zero unless found;
//   - the tail makes no difference: scanning text + tail with size =
//     text.size() gives exactly the result of scanning the text alone;
//   - against RapidJSON's Reader (kParseIterativeFlag |
//     kParseValidateEncodingFlag) on the text, with the differences
//     ct_json.h documents applied: the same validity (top-level object), the
//     same watermark found (first member of a name wins, IsInt64 timestamp),
//     the same timestamp, and an appid that matches exactly when RapidJSON's
//     value was written without escapes and fits. A text RapidJSON rejects
//     only for a number's magnitude (kParseErrorNumberTooBig) is checked for
//     the first two properties only.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "rapidjson/error/error.h"
#include "rapidjson/reader.h"
#include "server/crypto/ct_json.h"
#include "tests/fuzz/fuzz_support.h"

namespace wxcrypto::fuzz {
namespace {

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
    if (escape_) {
      escape_ = false;
    } else if (!inside_) {
      if (c == '"') {
        inside_ = true;
        escaped_ = false;
      }
    } else if (c == '\\') {
      escape_ = true;
      escaped_ = true;
    } else if (c == '"') {
      inside_ = false;
      last_string_escaped_ = escaped_;
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
  absl::string_view text_;
  std::size_t pos_ = 0;
  bool inside_ = false;
  bool escape_ = false;
  bool escaped_ = false;
  bool last_string_escaped_ = false;
};

// RFC 3629 UTF-8.
bool IsStrictUtf8(absl::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    const std::size_t length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
    if (b < 0xc2 || b > 0xf4 || i + length > s.size()) return false;
    std::uint32_t cp = b & (0x7f >> length);
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

// The watermark as Document::FindMember and GenericValue::IsInt64 see it,
// rejecting what ct_json.h's documented differences 3, 4 and 6 reject.
class Handler
    : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Handler> {
 public:
  explicit Handler(const TrackingStream& stream) : stream_(stream) {}

  bool Default() {
    member_ = Member::kNone;
    return true;
  }
  bool Int(int value) { return Integer(value); }
  bool Uint(unsigned value) { return Integer(value); }
  bool Int64(std::int64_t value) { return Integer(value); }
  bool Uint64(std::uint64_t value) {
    if (value > static_cast<std::uint64_t>(INT64_MAX)) return Default();
    return Integer(static_cast<std::int64_t>(value));
  }
  bool String(const char* text, rapidjson::SizeType length, bool) {
    if (!IsStrictUtf8(absl::string_view(text, length))) return false;
    if (member_ == Member::kAppIdValue) {
      app_id.assign(text, length);
      app_id_escaped = stream_.last_string_escaped();
      app_id_string_ = true;
    }
    return Default();
  }
  bool StartObject() {
    if (depth_ == 0) is_object = true;
    if (member_ == Member::kWatermarkValue) {
      in_watermark_ = true;
      watermark_object_ = true;
    }
    member_ = Member::kNone;
    return ++depth_ <= kCtJsonMaxDepth;
  }
  bool EndObject(rapidjson::SizeType) {
    --depth_;
    if (depth_ == 1) in_watermark_ = false;
    return Default();
  }
  bool StartArray() {
    member_ = Member::kNone;
    return ++depth_ <= kCtJsonMaxDepth;
  }
  bool EndArray(rapidjson::SizeType) {
    --depth_;
    return Default();
  }
  bool Key(const char* text, rapidjson::SizeType length, bool) {
    if (stream_.last_string_escaped()) return false;
    if (!IsStrictUtf8(absl::string_view(text, length))) return false;
    const absl::string_view key(text, length);
    member_ = Member::kNone;
    if (depth_ == 1 && key == "watermark" && !seen_watermark_) {
      seen_watermark_ = true;
      member_ = Member::kWatermarkValue;
    } else if (depth_ == 2 && in_watermark_) {
      if (key == "appid" && !seen_app_id_) {
        seen_app_id_ = true;
        member_ = Member::kAppIdValue;
      } else if (key == "timestamp" && !seen_timestamp_) {
        seen_timestamp_ = true;
        member_ = Member::kTimestampValue;
      }
    }
    return true;
  }

  bool found() const {
    return is_object && watermark_object_ && app_id_string_ && has_timestamp_;
  }

  bool is_object = false;
  std::string app_id;
  bool app_id_escaped = false;
  std::int64_t timestamp = 0;

 private:
  enum class Member { kNone, kWatermarkValue, kAppIdValue, kTimestampValue };

  bool Integer(std::int64_t value) {
    if (member_ == Member::kTimestampValue) {
      timestamp = value;
      has_timestamp_ = true;
    }
    return Default();
  }

  const TrackingStream& stream_;
  std::size_t depth_ = 0;
  Member member_ = Member::kNone;
  bool seen_watermark_ = false;
  bool watermark_object_ = false;
  bool in_watermark_ = false;
  bool seen_app_id_ = false;
  bool seen_timestamp_ = false;
  bool app_id_string_ = false;
  bool has_timestamp_ = false;
};

bool IsMask(std::uint64_t mask) {
  return mask == 0 || mask == ~std::uint64_t{0};
}

bool Same(const CtJsonWatermark& a, const CtJsonWatermark& b) {
  return a.valid_mask == b.valid_mask && a.found_mask == b.found_mask &&
         a.app_id_match_mask == b.app_id_match_mask &&
         a.timestamp == b.timestamp;
}

void CheckOne(absl::string_view text, absl::string_view tail,
              bool use_reference_app_id) {
  const std::string shown = absl::CHexEscape(text);

  TrackingStream stream(text);
  Handler handler(stream);
  rapidjson::Reader reader;
  const rapidjson::ParseResult parsed =
      reader.Parse<rapidjson::kParseIterativeFlag |
                   rapidjson::kParseValidateEncodingFlag>(stream, handler);
  const absl::string_view app_id = use_reference_app_id && handler.found()
                                       ? absl::string_view(handler.app_id)
                                       : kUserDataAppId;
  const CtJsonWatermark scan = CtJsonScanWatermark(text, text.size(), app_id);

  // Invariants.
  FUZZ_CHECK(IsMask(scan.valid_mask) && IsMask(scan.found_mask) &&
             IsMask(scan.app_id_match_mask));
  FUZZ_CHECK((scan.found_mask & ~scan.valid_mask) == 0);
  FUZZ_CHECK((scan.app_id_match_mask & ~scan.found_mask) == 0);
  FUZZ_CHECK(scan.found_mask != 0 || scan.timestamp == 0);

  // Bytes past `size` read as spaces.
  const std::string padded = std::string(text) + std::string(tail);
  FUZZ_CHECK_MSG(Same(CtJsonScanWatermark(padded, text.size(), app_id), scan),
                 shown);

  // RapidJSON, with the documented differences.
  if (parsed.Code() == rapidjson::kParseErrorNumberTooBig) return;
  const bool valid = !parsed.IsError() && handler.is_object &&
                     text.find('\0') == absl::string_view::npos;
  FUZZ_CHECK_MSG((scan.valid_mask != 0) == valid, shown);
  const bool found = valid && handler.found();
  FUZZ_CHECK_MSG((scan.found_mask != 0) == found, shown);
  if (!found) return;
  FUZZ_CHECK_MSG(scan.timestamp == handler.timestamp, shown);
  const bool comparable =
      !handler.app_id_escaped && handler.app_id.size() <= kCtJsonAppIdCapacity;
  FUZZ_CHECK_MSG(
      (scan.app_id_match_mask != 0) == (comparable && handler.app_id == app_id),
      shown);
}

}  // namespace
}  // namespace wxcrypto::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size < 1) return 0;
  const absl::string_view body(reinterpret_cast<const char*>(data) + 1,
                               size - 1);
  const std::size_t tail = std::min<std::size_t>(data[0] & 0x1f, body.size());
  wxcrypto::fuzz::CheckOne(body.substr(0, body.size() - tail),
                           body.substr(body.size() - tail),
                           (data[0] & 0x20) != 0);
  return 0;
}
