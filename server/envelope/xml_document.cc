// ReadXmlFields, on pugixml (chosen by measurement: bench/NOTES.md).
//
// pugixml is fast but lenient, so the strictness lives here:
//   - the input must be UTF-8 XML characters (no NUL, which pugixml would
//     take as the end of the document, and no other C0 control);
//   - parse_doctype makes a DOCTYPE visible so it can be rejected; pugixml
//     never reads a DTD or expands a custom entity in any mode;
//   - parse_fragment keeps text outside the root, so it can be rejected;
//   - parse_escapes is off: references are decoded here, strictly (only
//     the five predefined entities and character references to XML
//     characters; a bare '&' or any other entity is an error);
//   - nesting is checked after parsing by an iterative walk (pugixml's
//     parser and destructor do not recurse).
//
// Almost every document WeChat sends is flat: <xml>, then elements holding
// only text and CDATA, then </xml>. ReadFlatXmlFields reads exactly that
// shape in one pass without building a DOM, and gives up (std::nullopt) on
// anything else — attributes, comments, processing instructions, a DOCTYPE,
// nested elements, a carriage return (which pugixml's parse_eol would
// rewrite), a reference DecodeReferences refuses, or more markup than
// kMaxXmlMarkup — so that ReadXmlFields falls back to pugixml, which then
// also produces every error. What the fast path does accept, it returns
// exactly as the pugixml path would (tests/envelope/flat_document_test.cc
// checks this differentially).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "pugixml.hpp"
#include "server/crypto/error.h"
#include "server/envelope/document.h"
#include "server/envelope/envelope.h"
#include "server/envelope/text.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace wxcrypto {
namespace {

constexpr unsigned kParseOptions =
    pugi::parse_cdata | pugi::parse_wconv_attribute | pugi::parse_eol |
    pugi::parse_doctype | pugi::parse_ws_pcdata | pugi::parse_fragment;

absl::Status XmlError(absl::string_view reason, absl::string_view what) {
  return WxError(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kParseXmlError, reason,
                 absl::StrCat("malformed XML: ", what));
}

bool IsAllSpace(absl::string_view text) {
  for (char c : text) {
    if (!IsSpace(c)) return false;
  }
  return true;
}

// Decodes the predefined entities and character references in `raw` (XML
// 1.0 sections 4.1 and 4.6) into `out`. Returns false on a bare '&', an
// unknown entity or a reference to a character XML does not allow.
bool DecodeReferences(absl::string_view raw, std::string& out) {
  out.clear();
  out.reserve(raw.size());
  std::size_t pos = 0;
  while (pos < raw.size()) {
    std::size_t amp = raw.find('&', pos);
    if (amp == absl::string_view::npos) {
      out.append(raw.data() + pos, raw.size() - pos);
      break;
    }
    out.append(raw.data() + pos, amp - pos);
    std::size_t semi = raw.find(';', amp);
    if (semi == absl::string_view::npos) return false;
    absl::string_view name = raw.substr(amp + 1, semi - amp - 1);
    pos = semi + 1;
    if (name == "lt") {
      out.push_back('<');
    } else if (name == "gt") {
      out.push_back('>');
    } else if (name == "amp") {
      out.push_back('&');
    } else if (name == "apos") {
      out.push_back('\'');
    } else if (name == "quot") {
      out.push_back('"');
    } else if (name.size() >= 2 && name[0] == '#') {
      const bool hex = name[1] == 'x';
      absl::string_view digits = name.substr(hex ? 2 : 1);
      if (digits.empty()) return false;
      std::uint32_t code_point = 0;
      for (char c : digits) {
        std::uint32_t digit;
        if (c >= '0' && c <= '9') {
          digit = static_cast<std::uint32_t>(c - '0');
        } else if (hex && c >= 'a' && c <= 'f') {
          digit = static_cast<std::uint32_t>(c - 'a' + 10);
        } else if (hex && c >= 'A' && c <= 'F') {
          digit = static_cast<std::uint32_t>(c - 'A' + 10);
        } else {
          return false;
        }
        code_point = code_point * (hex ? 16 : 10) + digit;
        if (code_point > 0x10ffff) return false;
      }
      if (!IsXmlChar(code_point)) return false;
      AppendUtf8(code_point, out);
    } else {
      return false;
    }
  }
  return true;
}

// Decodes the references in every text node, checks those in attributes,
// and checks the element nesting depth (the root is depth 1), without
// recursion.
absl::Status DecodeAndCheckDepth(pugi::xml_node root,
                                 absl::string_view reason) {
  std::string decoded;
  std::size_t depth = 1;  // Of `node`.
  pugi::xml_node node = root;
  while (true) {
    if (node.type() == pugi::node_element && depth > kMaxNestingDepth) {
      return XmlError(reason, absl::StrCat("elements nested deeper than ",
                                           kMaxNestingDepth));
    }
    if (node.type() == pugi::node_pcdata &&
        std::strchr(node.value(), '&') != nullptr) {
      if (!DecodeReferences(node.value(), decoded)) {
        return XmlError(reason, "bad entity or character reference");
      }
      node.set_value(decoded.c_str());
    }
    // Attribute values are not returned (inner XML is copied from the
    // input), but their references must be well-formed too.
    for (pugi::xml_attribute attribute : node.attributes()) {
      if (std::strchr(attribute.value(), '&') != nullptr &&
          !DecodeReferences(attribute.value(), decoded)) {
        return XmlError(reason, "bad entity or character reference");
      }
    }
    if (pugi::xml_node child = node.first_child()) {
      node = child;
      ++depth;
      continue;
    }
    while (node != root && !node.next_sibling()) {
      node = node.parent();
      --depth;
    }
    if (node == root) return absl::OkStatus();
    node = node.next_sibling();
  }
}

// One piece of markup, as found by NextMarkup.
struct Markup {
  enum class Kind {
    kComment,      // <!-- -->
    kCdata,        // <![CDATA[ ]]>
    kPi,           // <? ?>, including the XML declaration
    kDeclaration,  // <!DOCTYPE ...> and other <!...>
    kEndTag,       // </name>
    kStartTag,     // <name ...>
    kEmptyTag,     // <name .../>
  };
  Kind kind = Kind::kStartTag;
  std::size_t begin = 0;  // The '<'.
  std::size_t end = 0;    // Just past the closing '>' (or the end of text).
  // '=' characters outside quotes: the attributes of a tag.
  std::size_t equals = 0;
};

// Returns the position just past the first `terminator` at or after `pos`,
// or the end of `text`.
std::size_t SkipPast(absl::string_view text, std::size_t pos,
                     absl::string_view terminator) {
  std::size_t found = text.find(terminator, pos);
  return found == absl::string_view::npos ? text.size()
                                          : found + terminator.size();
}

// Finds the first markup at or after `pos` without parsing: it recognises
// only what it must to know where each piece ends (quoted attribute values
// may contain '>'). Returns false if there is no more markup.
bool NextMarkup(absl::string_view text, std::size_t pos, Markup& markup) {
  pos = text.find('<', pos);
  if (pos == absl::string_view::npos) return false;
  markup = Markup{};
  markup.begin = pos;
  absl::string_view rest = text.substr(pos);
  if (absl::StartsWith(rest, "<!--")) {
    markup.kind = Markup::Kind::kComment;
    markup.end = SkipPast(text, pos + 4, "-->");
    return true;
  }
  if (absl::StartsWith(rest, "<![CDATA[")) {
    markup.kind = Markup::Kind::kCdata;
    markup.end = SkipPast(text, pos + 9, "]]>");
    return true;
  }
  if (absl::StartsWith(rest, "<?")) {
    markup.kind = Markup::Kind::kPi;
    markup.end = SkipPast(text, pos + 2, "?>");
    return true;
  }
  markup.kind = absl::StartsWith(rest, "</")   ? Markup::Kind::kEndTag
                : absl::StartsWith(rest, "<!") ? Markup::Kind::kDeclaration
                                               : Markup::Kind::kStartTag;
  for (++pos; pos < text.size(); ++pos) {
    const char c = text[pos];
    if (c == '"' || c == '\'') {
      pos = text.find(c, pos + 1);
      if (pos == absl::string_view::npos) break;
    } else if (c == '=') {
      ++markup.equals;
    } else if (c == '>') {
      if (markup.kind == Markup::Kind::kStartTag && text[pos - 1] == '/') {
        markup.kind = Markup::Kind::kEmptyTag;
      }
      markup.end = pos + 1;
      return true;
    }
  }
  markup.end = text.size();
  return true;
}

// Returns false if `text` has more than kMaxXmlMarkup pieces of markup and
// attributes. pugixml allocates at most one node per piece of markup, one
// per text run between two of them, and one per attribute, so this bounds
// what it allocates (64 bytes a node, 40 an attribute: about 11 MB).
bool WithinMarkupLimit(absl::string_view text) {
  std::size_t count = 0;
  Markup markup;
  for (std::size_t pos = 0; NextMarkup(text, pos, markup); pos = markup.end) {
    count += 1 + markup.equals;
    if (count > kMaxXmlMarkup) return false;
  }
  return true;
}

// Returns the text between the start and end tags of the element whose
// start tag opens at text[open] ('<'), exactly as in the input. The input
// has been checked by pugixml, so every piece of markup is terminated and
// every tag closed.
absl::string_view InnerXml(absl::string_view text, std::size_t open) {
  Markup markup;
  if (!NextMarkup(text, open, markup) ||
      markup.kind != Markup::Kind::kStartTag) {
    return {};
  }
  const std::size_t begin = markup.end;
  std::size_t depth = 1;
  for (std::size_t pos = begin; NextMarkup(text, pos, markup);
       pos = markup.end) {
    if (markup.kind == Markup::Kind::kStartTag) {
      ++depth;
    } else if (markup.kind == Markup::Kind::kEndTag && --depth == 0) {
      return text.substr(begin, markup.begin - begin);
    }
  }
  return text.substr(begin);
}

// Element names the fast path accepts: an ASCII letter or '_', then
// letters, digits, '_', '-' or '.'. pugixml accepts more (':', non-ASCII);
// those go to it.
bool IsFlatNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsFlatNameChar(char c) {
  return IsFlatNameStart(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

const char* SkipSpaces(const char* p, const char* end) {
  while (p < end && IsSpace(*p)) ++p;
  return p;
}

// Returns true if [p, end) starts with `literal` (a string literal); a
// byte loop the compiler unrolls, cheaper than a memcmp call for these few
// bytes.
template <std::size_t N>
bool StartsWithLiteral(const char* p, const char* end,
                       const char (&literal)[N]) {
  constexpr std::size_t kSize = N - 1;
  if (static_cast<std::size_t>(end - p) < kSize) return false;
  for (std::size_t i = 0; i < kSize; ++i) {
    if (p[i] != literal[i]) return false;
  }
  return true;
}

// Returns the first "]]>" in [p, end), or nullptr.
const char* FindCdataClose(const char* p, const char* end) {
  while (end - p >= 3) {
    const auto* bracket = static_cast<const char*>(
        std::memchr(p, ']', static_cast<std::size_t>(end - p - 2)));
    if (bracket == nullptr) return nullptr;
    if (bracket[1] == ']' && bracket[2] == '>') return bracket;
    p = bracket + 1;
  }
  return nullptr;
}

// Returns the first '<' or '&' in [p, end), or `end`.
const char* FindMarkupOrReference(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i lt = _mm_set1_epi8('<');
  const __m128i amp = _mm_set1_epi8('&');
  for (; end - p >= 16; p += 16) {
    const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const int mask = _mm_movemask_epi8(
        _mm_or_si128(_mm_cmpeq_epi8(chunk, lt), _mm_cmpeq_epi8(chunk, amp)));
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
  }
#endif
  for (; p < end; ++p) {
    if (*p == '<' || *p == '&') return p;
  }
  return end;
}

}  // namespace

std::optional<std::vector<DocumentField>> ReadFlatXmlFields(
    absl::string_view text, absl::Span<const absl::string_view> only) {
  if (text.size() > kMaxEnvelopeSize || !IsXmlText(text) ||
      text.find('\r') != absl::string_view::npos) {
    return std::nullopt;
  }
  const char* p = text.data();
  const char* const end = p + text.size();
  p = SkipSpaces(p, end);
  if (!StartsWithLiteral(p, end, "<xml>")) return std::nullopt;
  p += 5;
  std::size_t markup = 1;
  std::vector<DocumentField> fields;
  // WeChat's messages have up to a dozen or so fields.
  fields.reserve(only.empty() ? 16 : only.size());
  std::string decoded;
  while (true) {
    // Between the children of <xml>: only whitespace.
    p = SkipSpaces(p, end);
    if (end - p < 2 || *p != '<') return std::nullopt;
    if (p[1] == '/') {
      if (!StartsWithLiteral(p, end, "</xml>")) return std::nullopt;
      p += 6;
      ++markup;
      break;
    }
    // A start tag without attributes: <Name> or <Name/>.
    const char* const name_begin = p + 1;
    if (!IsFlatNameStart(*name_begin)) return std::nullopt;
    const char* q = name_begin + 1;
    while (q < end && IsFlatNameChar(*q)) ++q;
    const absl::string_view name(name_begin,
                                 static_cast<std::size_t>(q - name_begin));
    ++markup;
    const bool wanted = IsWantedField(only, name);
    std::string value;
    if (StartsWithLiteral(q, end, "/>")) {
      p = q + 2;
    } else if (q < end && *q == '>') {
      p = q + 1;
      // Content: text runs and CDATA sections up to </Name>.
      while (true) {
        const char* lt = FindMarkupOrReference(p, end);
        if (lt != end && *lt == '&') {
          // A run with references: decode it up to the next '<'. They are
          // checked in every field, wanted or not.
          lt = static_cast<const char*>(
              std::memchr(lt, '<', static_cast<std::size_t>(end - lt)));
          if (lt == nullptr) return std::nullopt;
          const absl::string_view run(p, static_cast<std::size_t>(lt - p));
          if (!DecodeReferences(run, decoded)) return std::nullopt;
          if (wanted) value.append(decoded);
        } else {
          if (lt == end) return std::nullopt;
          if (wanted) value.append(p, static_cast<std::size_t>(lt - p));
        }
        if (StartsWithLiteral(lt, end, "<![CDATA[")) {
          const char* const begin = lt + 9;
          const char* const close = FindCdataClose(begin, end);
          if (close == nullptr) return std::nullopt;
          if (wanted)
            value.append(begin, static_cast<std::size_t>(close - begin));
          p = close + 3;
          ++markup;
          continue;
        }
        // </Name>
        const char* const end_name = lt + 2;
        if (end - lt >= static_cast<std::ptrdiff_t>(name.size() + 3) &&
            lt[1] == '/' &&
            std::memcmp(end_name, name.data(), name.size()) == 0 &&
            end_name[name.size()] == '>') {
          p = end_name + name.size() + 1;
          ++markup;
          break;
        }
        return std::nullopt;  // A child element, comment, PI, ...
      }
    } else {
      return std::nullopt;  // Attributes, or not a name pugixml would read.
    }
    if (markup > kMaxXmlMarkup) return std::nullopt;
    if (wanted) {
      DocumentField& field = fields.emplace_back();
      field.name.assign(name.data(), name.size());
      field.value = std::move(value);
    }
  }
  if (markup > kMaxXmlMarkup || SkipSpaces(p, end) != end) {
    return std::nullopt;
  }
  return fields;
}

absl::StatusOr<std::vector<DocumentField>> ReadXmlFields(
    absl::string_view text, absl::string_view reason,
    absl::Span<const absl::string_view> only) {
  std::optional<std::vector<DocumentField>> flat =
      ReadFlatXmlFields(text, only);
  if (flat.has_value()) return *std::move(flat);
  return ReadXmlFieldsWithPugixml(text, reason, only);
}

absl::StatusOr<std::vector<DocumentField>> ReadXmlFieldsWithPugixml(
    absl::string_view text, absl::string_view reason,
    absl::Span<const absl::string_view> only) {
  if (text.size() > kMaxEnvelopeSize) {
    return XmlError(reason, "document too large");
  }
  if (!IsXmlText(text)) {
    return XmlError(reason, "not UTF-8, or a character XML does not allow");
  }
  if (!WithinMarkupLimit(text)) {
    return XmlError(reason, absl::StrCat("more than ", kMaxXmlMarkup,
                                         " tags and attributes"));
  }
  pugi::xml_document doc;
  pugi::xml_parse_result parsed = doc.load_buffer(
      text.data(), text.size(), kParseOptions, pugi::encoding_utf8);
  if (!parsed) {
    return XmlError(reason, absl::StrCat(parsed.description(), " at offset ",
                                         parsed.offset));
  }

  pugi::xml_node root;
  for (pugi::xml_node node : doc.children()) {
    switch (node.type()) {
      case pugi::node_element:
        if (root) return XmlError(reason, "more than one root element");
        root = node;
        break;
      case pugi::node_doctype:
        return XmlError(reason, "DOCTYPE is not allowed");
      case pugi::node_pcdata:
        if (!IsAllSpace(node.value())) {
          return XmlError(reason, "text outside the root element");
        }
        break;
      default:
        return XmlError(reason, "markup outside the root element");
    }
  }
  if (!root) return XmlError(reason, "no root element");
  if (std::strcmp(root.name(), "xml") != 0) {
    return XmlError(reason, "the root element is not <xml>");
  }
  absl::Status checked = DecodeAndCheckDepth(root, reason);
  if (!checked.ok()) return checked;

  std::vector<DocumentField> fields;
  for (pugi::xml_node child : root.children()) {
    if (child.type() == pugi::node_pcdata && IsAllSpace(child.value())) {
      continue;
    }
    if (child.type() != pugi::node_element) {
      return XmlError(reason, "text directly inside <xml>");
    }
    if (!IsWantedField(only, child.name())) continue;
    DocumentField field;
    field.name = child.name();
    for (pugi::xml_node grandchild : child.children()) {
      if (grandchild.type() == pugi::node_element) {
        field.kind = FieldKind::kStructured;
        break;
      }
    }
    if (field.kind == FieldKind::kStructured) {
      // offset_debug() is the offset of the element's name in the input.
      const std::ptrdiff_t name_offset = child.offset_debug();
      if (name_offset < 1) return XmlError(reason, "internal offset error");
      field.value = std::string(
          InnerXml(text, static_cast<std::size_t>(name_offset) - 1));
    } else {
      for (pugi::xml_node piece : child.children()) {
        field.value.append(piece.value());
      }
    }
    fields.push_back(std::move(field));
  }
  return fields;
}

}  // namespace wxcrypto
