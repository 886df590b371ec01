// ReadJsonFields and CheckJsonText, on RapidJSON's SAX reader (chosen by
// measurement: bench/NOTES.md).
//
//   - kParseIterativeFlag: the reader keeps its state on the heap, never on
//     the call stack, and the handlers below stop it beyond kMaxNestingDepth;
//   - no DOM is built: the wanted top-level values are copied out as they
//     arrive and nested ones re-written as compact JSON, so memory does not
//     grow with the number of fields that are not wanted;
//   - kParseNumbersAsStringsFlag: numbers are passed through exactly as
//     written (no rounding; RapidJSON 1.1 still rejects exponents beyond
//     the range of double);
//   - every string and key is checked to be UTF-8 here rather than with
//     kParseValidateEncodingFlag, which is slower and does not catch a lone
//     low surrogate written as \udc00 (it decodes to invalid UTF-8);
//   - the input is copied, with a terminating NUL, and parsed in place in
//     the copy (kParseInsituFlag): strings are unescaped within the buffer
//     instead of byte by byte through the reader's stack, which halves the
//     time on a long Encrypt (bench/NOTES.md). A NUL inside the input ends
//     the reader early and is caught by checking that it consumed
//     everything. The copy has 16 bytes to spare because, if a build
//     defines RAPIDJSON_SSE2, RapidJSON's aligned 16-byte loads may read up
//     to 15 bytes past the terminator.
//
// Almost every JSON document WeChat sends is one flat object of strings,
// integers, true, false and null. ReadFlatJsonFields reads exactly that in
// one pass, without the copy, and gives up (std::nullopt) on anything else
// — nested values, fractions, exponents or integers of more than 18 digits
// (whose range RapidJSON checks), and every input RapidJSON or our checks
// would refuse — so that ReadJsonFields falls back to the reader above,
// which also produces every error. What it does accept, it returns exactly
// as the reader would (tests/envelope/flat_document_test.cc checks this
// differentially).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "rapidjson/error/en.h"
#include "rapidjson/reader.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/crypto/error.h"
#include "server/envelope/document.h"
#include "server/envelope/envelope.h"
#include "server/envelope/text.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace wxcrypto {
namespace {

constexpr unsigned kParseFlags = rapidjson::kParseIterativeFlag |
                                 rapidjson::kParseNumbersAsStringsFlag |
                                 rapidjson::kParseInsituFlag;

// Returns `text` followed by NUL, in a buffer with 16 bytes to spare.
std::string TerminatedCopy(absl::string_view text) {
  std::string copy;
  copy.reserve(text.size() + 16);
  copy.assign(text.data(), text.size());
  return copy;
}

// Counts nesting and checks the encoding of every string; the base of both
// handlers below. `Derived` receives the events through the On* hooks.
template <typename Derived>
class CheckingHandler
    : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Derived> {
 public:
  bool Null() { return self().OnScalar(FieldKind::kStructured, "null"); }
  bool Bool(bool b) {
    return self().OnScalar(FieldKind::kStructured, b ? "true" : "false");
  }
  bool RawNumber(const char* text, rapidjson::SizeType length, bool) {
    return self().OnScalar(FieldKind::kNumber, absl::string_view(text, length));
  }
  bool String(const char* text, rapidjson::SizeType length, bool) {
    absl::string_view value(text, length);
    if (!IsUtf8(value)) return Fail("a string is not UTF-8");
    return self().OnScalar(FieldKind::kText, value);
  }
  bool Key(const char* text, rapidjson::SizeType length, bool) {
    absl::string_view key(text, length);
    if (!IsUtf8(key)) return Fail("a key is not UTF-8");
    return self().OnKey(key);
  }
  bool StartObject() { return Open(/*object=*/true); }
  bool StartArray() { return Open(/*object=*/false); }
  bool EndObject(rapidjson::SizeType) { return Close(/*object=*/true); }
  bool EndArray(rapidjson::SizeType) { return Close(/*object=*/false); }

  // Why the handler stopped the reader, or "" if it did not.
  const std::string& failure() const { return failure_; }

 protected:
  bool Fail(absl::string_view why) {
    failure_ = std::string(why);
    return false;
  }
  // The number of containers open around the current event.
  std::size_t depth() const { return depth_; }

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
  bool Open(bool object) {
    if (depth_ == kMaxNestingDepth) {
      return Fail(absl::StrCat("nested deeper than ", kMaxNestingDepth));
    }
    if (!self().OnOpen(object)) return false;
    ++depth_;
    return true;
  }
  bool Close(bool object) {
    --depth_;
    return self().OnClose(object);
  }

  std::size_t depth_ = 0;
  std::string failure_;
};

// Collects the fields of a top-level object that are in `only` (all if it
// is empty).
class FieldCollector : public CheckingHandler<FieldCollector> {
 public:
  explicit FieldCollector(absl::Span<const absl::string_view> only)
      : only_(only) {}

  bool OnKey(absl::string_view key) {
    if (depth() == 1) {
      want_ = IsWantedField(only_, key);
      if (want_) key_ = std::string(key);
      return true;
    }
    if (!want_) return true;
    return writer_.Key(key.data(),
                       static_cast<rapidjson::SizeType>(key.size()));
  }
  bool OnScalar(FieldKind kind, absl::string_view text) {
    if (depth() == 0) return Fail("the top-level value is not an object");
    if (!want_) return true;
    if (depth() == 1) {
      fields_.push_back({std::move(key_), std::string(text), kind});
      return true;
    }
    const auto length = static_cast<rapidjson::SizeType>(text.size());
    switch (kind) {
      case FieldKind::kText:
        return writer_.String(text.data(), length);
      case FieldKind::kNumber:
        return writer_.RawValue(text.data(), length, rapidjson::kNumberType);
      case FieldKind::kStructured:  // null, true or false.
        return text == "null" ? writer_.Null() : writer_.Bool(text == "true");
    }
    return false;
  }
  bool OnOpen(bool object) {
    if (depth() == 0) {
      return object || Fail("the top-level value is not an object");
    }
    if (!want_) return true;
    if (depth() == 1) {
      buffer_.Clear();
      writer_.Reset(buffer_);
    }
    return object ? writer_.StartObject() : writer_.StartArray();
  }
  bool OnClose(bool object) {
    // depth() 0: the top-level object itself closed.
    if (depth() == 0 || !want_) return true;
    bool ok = object ? writer_.EndObject() : writer_.EndArray();
    if (depth() == 1) {
      fields_.push_back({std::move(key_),
                         std::string(buffer_.GetString(), buffer_.GetSize()),
                         FieldKind::kStructured});
    }
    return ok;
  }

  std::vector<DocumentField> TakeFields() { return std::move(fields_); }

 private:
  const absl::Span<const absl::string_view> only_;
  // Whether the current top-level field is collected.
  bool want_ = false;
  std::string key_;
  std::vector<DocumentField> fields_;
  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> writer_{buffer_};
};

// Accepts any value; only the checks of the base class apply.
class Checker : public CheckingHandler<Checker> {
 public:
  bool OnKey(absl::string_view) { return true; }
  bool OnScalar(FieldKind, absl::string_view) { return true; }
  bool OnOpen(bool) { return true; }
  bool OnClose(bool) { return true; }
};

// Runs the reader over `text` with `handler`; returns a description of the
// first problem, or "" if `text` is one complete, acceptable value.
template <typename Handler>
std::string Read(absl::string_view text, Handler& handler) {
  if (text.size() > kMaxEnvelopeSize) return "document too large";
  std::string copy = TerminatedCopy(text);
  rapidjson::InsituStringStream stream(copy.data());
  rapidjson::Reader reader;
  rapidjson::ParseResult result = reader.Parse<kParseFlags>(stream, handler);
  if (result.IsError()) {
    if (result.Code() == rapidjson::kParseErrorTermination &&
        !handler.failure().empty()) {
      return handler.failure();
    }
    return absl::StrCat(rapidjson::GetParseError_En(result.Code()),
                        " at offset ", result.Offset());
  }
  if (stream.Tell() != text.size()) {
    return absl::StrCat("NUL byte at offset ", stream.Tell());
  }
  return "";
}

// Returns the position of the first '"', '\\' or control character (below
// 0x20) at or after `pos`, or text.size() if there is none.
std::size_t FindStringStop(absl::string_view text, std::size_t pos) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  // Unsigned "below 0x20" as a signed compare after flipping the top bit.
  const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
  const __m128i limit = _mm_set1_epi8(static_cast<char>(0x20 ^ 0x80));
  for (; text.size() - pos >= 16; pos += 16) {
    const __m128i chunk =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + pos));
    const __m128i stop =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(chunk, quote),
                                  _mm_cmpeq_epi8(chunk, backslash)),
                     _mm_cmplt_epi8(_mm_xor_si128(chunk, flip), limit));
    const int mask = _mm_movemask_epi8(stop);
    if (mask != 0) {
      return pos + static_cast<std::size_t>(
                       __builtin_ctz(static_cast<unsigned>(mask)));
    }
  }
#endif
  for (; pos < text.size(); ++pos) {
    const unsigned char c = bytes[pos];
    if (c == '"' || c == '\\' || c < 0x20) return pos;
  }
  return pos;
}

bool ParseHex4(absl::string_view text, std::size_t pos, std::uint32_t& value) {
  if (text.size() - pos < 4) return false;
  value = 0;
  for (std::size_t i = pos; i < pos + 4; ++i) {
    const char c = text[i];
    std::uint32_t digit;
    if (c >= '0' && c <= '9') {
      digit = static_cast<std::uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<std::uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<std::uint32_t>(c - 'A' + 10);
    } else {
      return false;
    }
    value = value * 16 + digit;
  }
  return true;
}

// Reads the string whose opening quote is at text[pos - 1], leaving `pos`
// just past its closing quote and the unescaped value in `out`. Returns
// false where RapidJSON or the UTF-8 check would refuse it. `text` must be
// UTF-8: then so is every string read from it, because a quote cannot be
// part of a multi-byte character and every escape this accepts decodes to
// a whole character (lone surrogates are refused).
bool ReadFlatString(absl::string_view text, std::size_t& pos,
                    std::string& out) {
  std::size_t p = FindStringStop(text, pos);
  if (p >= text.size()) return false;
  if (text[p] == '"') {
    out.assign(text.data() + pos, p - pos);
    pos = p + 1;
    return true;
  }
  out.assign(text.data() + pos, p - pos);
  while (true) {
    if (p >= text.size()) return false;
    const char c = text[p];
    if (c == '"') break;
    if (static_cast<unsigned char>(c) < 0x20) return false;
    if (c != '\\') {
      const std::size_t stop = FindStringStop(text, p);
      out.append(text.data() + p, stop - p);
      p = stop;
      continue;
    }
    if (p + 1 >= text.size()) return false;
    const char escape = text[p + 1];
    p += 2;
    switch (escape) {
      case '"':
      case '\\':
      case '/':
        out.push_back(escape);
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'u': {
        std::uint32_t code_point;
        if (!ParseHex4(text, p, code_point)) return false;
        p += 4;
        if (code_point >= 0xdc00 && code_point <= 0xdfff) {
          return false;  // A lone low surrogate decodes to invalid UTF-8.
        }
        if (code_point >= 0xd800 && code_point <= 0xdbff) {
          std::uint32_t low;
          if (text.size() - p < 2 || text[p] != '\\' || text[p + 1] != 'u' ||
              !ParseHex4(text, p + 2, low) || low < 0xdc00 || low > 0xdfff) {
            return false;
          }
          p += 6;
          code_point = 0x10000 + ((code_point - 0xd800) << 10) + (low - 0xdc00);
        }
        AppendUtf8(code_point, out);
        break;
      }
      default:
        return false;
    }
  }
  pos = p + 1;
  return true;
}

std::size_t SkipJsonSpaces(absl::string_view text, std::size_t pos) {
  while (pos < text.size() && IsSpace(text[pos])) ++pos;
  return pos;
}

bool HasLiteralAt(absl::string_view text, std::size_t pos,
                  absl::string_view literal) {
  return text.size() - pos >= literal.size() &&
         std::memcmp(text.data() + pos, literal.data(), literal.size()) == 0;
}

// Reads the value at text[pos] if it is a string, an integer of at most 18
// digits, true, false or null; leaves `pos` just past it.
bool ReadFlatValue(absl::string_view text, std::size_t& pos,
                   DocumentField& field) {
  if (pos >= text.size()) return false;
  const char c = text[pos];
  if (c == '"') {
    ++pos;
    field.kind = FieldKind::kText;
    return ReadFlatString(text, pos, field.value);
  }
  if (c == '-' || (c >= '0' && c <= '9')) {
    // Integers only, and short enough that RapidJSON's range check cannot
    // refuse them (it switches to double beyond 19 digits).
    constexpr std::size_t kMaxDigits = 18;
    std::size_t p = pos + (c == '-' ? 1 : 0);
    const std::size_t digits_begin = p;
    if (p < text.size() && text[p] == '0') {
      ++p;
    } else {
      while (p < text.size() && text[p] >= '0' && text[p] <= '9') ++p;
    }
    const std::size_t digits = p - digits_begin;
    if (digits == 0 || digits > kMaxDigits) return false;
    if (p < text.size() &&
        ((text[p] >= '0' && text[p] <= '9') || text[p] == '.' ||
         text[p] == 'e' || text[p] == 'E')) {
      return false;
    }
    field.kind = FieldKind::kNumber;
    field.value.assign(text.data() + pos, p - pos);
    pos = p;
    return true;
  }
  for (absl::string_view literal : {"true", "false", "null"}) {
    if (HasLiteralAt(text, pos, literal)) {
      field.kind = FieldKind::kStructured;
      field.value.assign(literal.data(), literal.size());
      pos += literal.size();
      return true;
    }
  }
  return false;  // An object, an array, or not JSON.
}

}  // namespace

std::optional<std::vector<DocumentField>> ReadFlatJsonFields(
    absl::string_view text, absl::Span<const absl::string_view> only) {
  // Checking the whole text at once covers every string in it (see
  // ReadFlatString); outside strings only ASCII is accepted anyway.
  if (text.size() > kMaxEnvelopeSize || !IsUtf8(text)) return std::nullopt;
  std::size_t pos = SkipJsonSpaces(text, 0);
  if (pos >= text.size() || text[pos] != '{') return std::nullopt;
  pos = SkipJsonSpaces(text, pos + 1);
  std::vector<DocumentField> fields;
  // WeChat's messages have up to a dozen or so fields.
  fields.reserve(only.empty() ? 16 : only.size());
  if (pos < text.size() && text[pos] == '}') {
    ++pos;
  } else {
    while (true) {
      DocumentField field;
      if (pos >= text.size() || text[pos] != '"') return std::nullopt;
      ++pos;
      if (!ReadFlatString(text, pos, field.name)) return std::nullopt;
      pos = SkipJsonSpaces(text, pos);
      if (pos >= text.size() || text[pos] != ':') return std::nullopt;
      pos = SkipJsonSpaces(text, pos + 1);
      if (!ReadFlatValue(text, pos, field)) return std::nullopt;
      if (IsWantedField(only, field.name)) fields.push_back(std::move(field));
      pos = SkipJsonSpaces(text, pos);
      if (pos >= text.size()) return std::nullopt;
      if (text[pos] == '}') {
        ++pos;
        break;
      }
      if (text[pos] != ',') return std::nullopt;
      pos = SkipJsonSpaces(text, pos + 1);
    }
  }
  if (SkipJsonSpaces(text, pos) != text.size()) return std::nullopt;
  return fields;
}

absl::StatusOr<std::vector<DocumentField>> ReadJsonFields(
    absl::string_view text, absl::string_view reason,
    absl::Span<const absl::string_view> only) {
  std::optional<std::vector<DocumentField>> flat =
      ReadFlatJsonFields(text, only);
  if (flat.has_value()) return *std::move(flat);
  return ReadJsonFieldsWithRapidJson(text, reason, only);
}

absl::StatusOr<std::vector<DocumentField>> ReadJsonFieldsWithRapidJson(
    absl::string_view text, absl::string_view reason,
    absl::Span<const absl::string_view> only) {
  FieldCollector collector(only);
  std::string problem = Read(text, collector);
  if (!problem.empty()) {
    return WxError(absl::StatusCode::kInvalidArgument,
                   WxErrorCode::kParseXmlError, reason,
                   absl::StrCat("malformed JSON: ", problem));
  }
  return collector.TakeFields();
}

absl::Status CheckJsonText(absl::string_view text) {
  Checker checker;
  std::string problem = Read(text, checker);
  if (!problem.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed JSON: ", problem));
  }
  return absl::OkStatus();
}

}  // namespace wxcrypto
