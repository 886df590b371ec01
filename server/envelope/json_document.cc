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

#include <cstddef>
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

}  // namespace

absl::StatusOr<std::vector<DocumentField>> ReadJsonFields(
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
