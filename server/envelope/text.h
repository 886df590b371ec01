// Character-level checks and writers shared by the XML and JSON envelopes.
// Internal to server/envelope.
#ifndef WXCRYPTO_SERVER_ENVELOPE_TEXT_H_
#define WXCRYPTO_SERVER_ENVELOPE_TEXT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace wxcrypto {

// Returns true for the four whitespace bytes of XML 1.0 (production S) and
// JSON (RFC 8259 section 2): space, tab, line feed, carriage return.
inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Returns the first byte of `text` that is not IsSpace, or '\0' if none is.
char FirstNonSpace(absl::string_view text);

// Returns true if `text` is well-formed UTF-8 (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF).
bool IsUtf8(absl::string_view text);

// Returns true if `text` is UTF-8 made only of characters XML 1.0 allows
// (production Char: no C0 controls other than tab, LF and CR, no U+FFFE or
// U+FFFF).
bool IsXmlText(absl::string_view text);

namespace internal {
// The portable versions of IsUtf8 and IsXmlText (one character at a time),
// which those use for short texts and on CPUs without SSSE3. Exposed so
// that tests can compare the two implementations.
bool IsUtf8Portable(absl::string_view text);
bool IsXmlTextPortable(absl::string_view text);
}  // namespace internal

// Returns true if `code_point` is an XML 1.0 Char (section 2.2).
bool IsXmlChar(std::uint32_t code_point);

// Appends `code_point` (at most U+10FFFF, not a surrogate) as UTF-8.
void AppendUtf8(std::uint32_t code_point, std::string& out);

// Appends `text` as one or more CDATA sections: every "]]>" is split as
// "]]]]><![CDATA[>" so the text round-trips exactly. `text` must satisfy
// IsXmlText.
void AppendCdata(absl::string_view text, std::string& out);

// Returns true if `text` is non-empty and every byte is in `alphabet`.
bool IsNonEmptyOver(absl::string_view text, absl::string_view alphabet);

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_ENVELOPE_TEXT_H_
