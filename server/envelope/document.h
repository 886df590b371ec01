// Strict readers of the flat XML and JSON documents WeChat exchanges: a root
// <xml> element or a top-level JSON object whose children are the fields.
// Internal to server/envelope; envelope.h is the public interface.
//
// Both readers bound nesting by kMaxNestingDepth without recursion, never
// expand a DTD or custom entity (a DOCTYPE is an error), accept only UTF-8,
// and return the fields in document order, duplicates included, so that
// callers decide what a repeated name means.
#ifndef WXCRYPTO_SERVER_ENVELOPE_DOCUMENT_H_
#define WXCRYPTO_SERVER_ENVELOPE_DOCUMENT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace wxcrypto {

// What a field's value is.
enum class FieldKind {
  // XML: an element without child elements. JSON: a string.
  kText,
  // JSON only: a number; `value` is its text exactly as written.
  kNumber,
  // XML: an element with child elements; `value` is its inner XML.
  // JSON: an object, array, true, false or null as compact JSON text.
  kStructured,
};

// One child of the root.
struct DocumentField {
  std::string name;
  // Text with CDATA unwrapped and character references decoded, a JSON
  // string unescaped, or the text described at FieldKind.
  std::string value;
  FieldKind kind = FieldKind::kText;
};

// Reads an XML document whose root element is <xml>, returning the fields
// named in `only`, or all of them if `only` is empty (the whole document is
// checked either way). Errors are InvalidArgument with WeChat code -40002
// and reason `reason`.
absl::StatusOr<std::vector<DocumentField>> ReadXmlFields(
    absl::string_view text, absl::string_view reason,
    absl::Span<const absl::string_view> only = {});

// The two halves of ReadXmlFields, exposed for the differential test
// (tests/envelope/flat_document_test.cc).
//
// ReadFlatXmlFields reads the common flat shape (<xml> around elements that
// hold only text and CDATA, no attributes, comments or carriage returns)
// without a DOM. It returns std::nullopt for anything else, including every
// document ReadXmlFields would reject; otherwise exactly what
// ReadXmlFieldsWithPugixml returns.
std::optional<std::vector<DocumentField>> ReadFlatXmlFields(
    absl::string_view text, absl::Span<const absl::string_view> only = {});
// The general reader on pugixml, with all the checks.
absl::StatusOr<std::vector<DocumentField>> ReadXmlFieldsWithPugixml(
    absl::string_view text, absl::string_view reason,
    absl::Span<const absl::string_view> only = {});

// Reads a JSON text whose top-level value is an object, returning the
// fields named in `only`, or all of them if `only` is empty. Errors are
// InvalidArgument with WeChat code -40002 and reason `reason`.
absl::StatusOr<std::vector<DocumentField>> ReadJsonFields(
    absl::string_view text, absl::string_view reason,
    absl::Span<const absl::string_view> only = {});

// The two halves of ReadJsonFields, exposed for the differential test.
//
// ReadFlatJsonFields reads one flat object of strings, integers of at most
// 18 digits, true, false and null without copying the input. It returns
// std::nullopt for anything else, including every text ReadJsonFields would
// reject; otherwise exactly what ReadJsonFieldsWithRapidJson returns.
std::optional<std::vector<DocumentField>> ReadFlatJsonFields(
    absl::string_view text, absl::Span<const absl::string_view> only = {});
// The general reader on RapidJSON's SAX reader, with all the checks.
absl::StatusOr<std::vector<DocumentField>> ReadJsonFieldsWithRapidJson(
    absl::string_view text, absl::string_view reason,
    absl::Span<const absl::string_view> only = {});

// Returns true if `name` is in `only`, or `only` is empty.
inline bool IsWantedField(absl::Span<const absl::string_view> only,
                          absl::string_view name) {
  if (only.empty()) return true;
  for (absl::string_view wanted : only) {
    if (wanted == name) return true;
  }
  return false;
}

// Returns OK if `text` is one JSON value (of any type) with at most
// kMaxNestingDepth levels of nesting and UTF-8 strings; otherwise
// InvalidArgument with no payload.
absl::Status CheckJsonText(absl::string_view text);

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_ENVELOPE_DOCUMENT_H_
