#include "server/envelope/text.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/string_view.h"

namespace wxcrypto {
namespace {

// Decodes the UTF-8 sequence at p[0..] (p < end, *p >= 0x80). Returns its
// length and sets `code_point`, or returns 0 if it is malformed (RFC 3629
// section 4: no overlong forms, surrogates or values above U+10FFFF).
inline int DecodeMultiByte(const unsigned char* p, const unsigned char* end,
                           std::uint32_t& code_point) {
  const std::uint32_t lead = p[0];
  const std::ptrdiff_t left = end - p;
  auto continuation = [p](int i) { return (p[i] & 0xc0) == 0x80; };
  if (lead < 0xc2) return 0;  // Continuation byte, or overlong C0/C1.
  if (lead < 0xe0) {
    if (left < 2 || !continuation(1)) return 0;
    code_point = ((lead & 0x1f) << 6) | (p[1] & 0x3f);
    return 2;
  }
  if (lead < 0xf0) {
    if (left < 3 || !continuation(1) || !continuation(2)) return 0;
    const std::uint32_t cp =
        ((lead & 0x0f) << 12) | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3f);
    if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    code_point = cp;
    return 3;
  }
  if (lead < 0xf5) {
    if (left < 4 || !continuation(1) || !continuation(2) || !continuation(3)) {
      return 0;
    }
    const std::uint32_t cp = ((lead & 0x07) << 18) | ((p[1] & 0x3fu) << 12) |
                             ((p[2] & 0x3fu) << 6) | (p[3] & 0x3f);
    if (cp < 0x10000 || cp > 0x10ffff) return 0;
    code_point = cp;
    return 4;
  }
  return 0;
}

// Returns true if the 8 bytes at `p` are all ASCII.
bool EightAscii(const unsigned char* p) {
  std::uint64_t word;
  std::memcpy(&word, p, sizeof(word));
  return (word & 0x8080808080808080ull) == 0;
}

// Returns true if any of the 8 ASCII bytes at `p` is below 0x20 (the
// "haszero(v - n)" bit trick; exact when every byte is below 0x80).
bool EightHaveControl(const unsigned char* p) {
  std::uint64_t word;
  std::memcpy(&word, p, sizeof(word));
  return ((word - 0x2020202020202020ull) & ~word & 0x8080808080808080ull) != 0;
}

}  // namespace

char FirstNonSpace(absl::string_view text) {
  for (char c : text) {
    if (!IsSpace(c)) return c;
  }
  return '\0';
}

bool IsUtf8(absl::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char* end = p + text.size();
  while (p < end) {
    if (end - p >= 8 && EightAscii(p)) {
      p += 8;
      continue;
    }
    if (*p < 0x80) {
      ++p;
      continue;
    }
    std::uint32_t code_point;
    int length = DecodeMultiByte(p, end, code_point);
    if (length == 0) return false;
    p += length;
  }
  return true;
}

bool IsXmlChar(std::uint32_t c) {
  return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) ||
         (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

bool IsXmlText(absl::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char* end = p + text.size();
  while (p < end) {
    if (end - p >= 8 && EightAscii(p) && !EightHaveControl(p)) {
      p += 8;
      continue;
    }
    if (*p < 0x80) {
      if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') return false;
      ++p;
      continue;
    }
    std::uint32_t code_point;
    int length = DecodeMultiByte(p, end, code_point);
    if (length == 0 || !IsXmlChar(code_point)) return false;
    p += length;
  }
  return true;
}

void AppendUtf8(std::uint32_t c, std::string& out) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
  }
}

void AppendCdata(absl::string_view text, std::string& out) {
  out.append("<![CDATA[");
  for (std::size_t pos = 0;;) {
    std::size_t end = text.find("]]>", pos);
    if (end == absl::string_view::npos) {
      out.append(text.data() + pos, text.size() - pos);
      break;
    }
    // Close the section after "]]" and reopen it before ">".
    out.append(text.data() + pos, end + 2 - pos);
    out.append("]]><![CDATA[");
    pos = end + 2;
  }
  out.append("]]>");
}

bool IsNonEmptyOver(absl::string_view text, absl::string_view alphabet) {
  if (text.empty()) return false;
  bool allowed[256] = {};
  for (char c : alphabet) allowed[static_cast<unsigned char>(c)] = true;
  for (char c : text) {
    if (!allowed[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

}  // namespace wxcrypto
