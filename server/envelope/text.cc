#include "server/envelope/text.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>

#include "absl/strings/string_view.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__)
#include <tmmintrin.h>
#endif

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

// The number of leading bytes of the 16 at `p` that need no further check:
// for IsUtf8 those below 0x80, for IsXmlText those in 0x20..0x7f. Returns 16
// when all of them pass. SSE2 is part of x86-64; other targets check 8
// bytes at a time with word arithmetic.
#if defined(__SSE2__)
inline int PlainPrefix16(const unsigned char* p, bool xml) {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  // A signed compare: bytes >= 0x80 are negative, so "< 0x20" also catches
  // them; "< 0" catches only them.
  const __m128i flagged = xml ? _mm_cmplt_epi8(bytes, _mm_set1_epi8(0x20))
                              : _mm_cmplt_epi8(bytes, _mm_setzero_si128());
  const int mask = _mm_movemask_epi8(flagged);
  return mask == 0 ? 16 : __builtin_ctz(static_cast<unsigned>(mask));
}
#else
inline int PlainPrefix16(const unsigned char* p, bool xml) {
  for (int half = 0; half < 16; half += 8) {
    std::uint64_t word;
    std::memcpy(&word, p + half, sizeof(word));
    std::uint64_t flagged = word & 0x8080808080808080ull;
    // "haszero(v - n)": exact for bytes below 0x80, which the line above
    // has already flagged otherwise.
    if (xml) {
      flagged |= (word - 0x2020202020202020ull) & ~word & 0x8080808080808080ull;
    }
    if (flagged != 0) return half;
  }
  return 16;
}
#endif

// Checks `text` as UTF-8 and, if `xml`, as XML 1.0 characters, one
// character at a time; runs of plain bytes are skipped 16 at a time.
bool CheckTextPortable(absl::string_view text, bool xml) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char* end = p + text.size();
  while (p < end) {
    if (end - p >= 16) {
      const int plain = PlainPrefix16(p, xml);
      p += plain;
      if (plain == 16) continue;
    }
    if (*p < 0x80) {
      if (xml && *p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') {
        return false;
      }
      ++p;
      continue;
    }
    std::uint32_t code_point;
    const int length = DecodeMultiByte(p, end, code_point);
    if (length == 0) return false;
    // Every 2- and 4-byte character is an XML Char; of the 3-byte ones
    // DecodeMultiByte has already refused the surrogates.
    if (xml && length == 3 && code_point >= 0xfffe) return false;
    p += length;
  }
  return true;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define WXCRYPTO_TEXT_SSSE3 1

// UTF-8 validation 16 bytes at a time with SSSE3 table lookups: the
// "lookup" algorithm of Keiser and Lemire, "Validating UTF-8 in less than
// one instruction per byte" (Software: Practice and Experience, 2021), as
// simdjson and simdutf use it. Each byte is classified together with the
// byte before it by three 16-entry tables (high nibble of the previous
// byte, low nibble of the previous byte, high nibble of this byte) whose
// entries are bit sets of the errors that pair can show; the AND of the
// three lookups is non-zero exactly for an invalid pair. Third and fourth
// bytes of a sequence (two continuations in a row) are told apart from
// stray continuations by looking two and three bytes back.
//
// Error bits of a (previous byte, byte) pair:
constexpr std::uint8_t kTooShort = 1
                                   << 0;   // 11______ then 0_______ or 11______
constexpr std::uint8_t kTooLong = 1 << 1;  // 0_______ then 10______
constexpr std::uint8_t kOverlong3 = 1 << 2;  // 11100000 then 100_____
constexpr std::uint8_t kTooLarge = 1
                                   << 3;  // 11110100 then 1001____ or 101_____,
                                          // 11110101+ then 1001____ or 101_____
constexpr std::uint8_t kSurrogate = 1 << 4;     // 11101101 then 101_____
constexpr std::uint8_t kOverlong2 = 1 << 5;     // 1100000_ then 10______
constexpr std::uint8_t kTooLarge1000 = 1 << 6;  // 11110101+ then 1000____
constexpr std::uint8_t kOverlong4 = 1 << 6;     // 11110000 then 1000____
constexpr std::uint8_t kTwoConts = 1 << 7;      // 10______ then 10______
constexpr std::uint8_t kCarry = kTooShort | kTooLong | kTwoConts;

inline __m128i Table(std::initializer_list<std::uint8_t> entries) {
  alignas(16) std::uint8_t bytes[16] = {};
  std::size_t i = 0;
  for (std::uint8_t entry : entries) bytes[i++] = entry;
  return _mm_load_si128(reinterpret_cast<const __m128i*>(bytes));
}

struct Utf8Tables {
  __m128i previous_high;   // By the previous byte's high nibble.
  __m128i previous_low;    // By the previous byte's low nibble.
  __m128i current_high;    // By this byte's high nibble.
  __m128i xml_whitespace;  // 0xff at 9, 10 and 13.
};

const Utf8Tables& Tables() {
  static const Utf8Tables kTables = {
      Table({kTooLong, kTooLong, kTooLong, kTooLong,  // 0_______
             kTooLong, kTooLong, kTooLong, kTooLong, kTwoConts, kTwoConts,
             kTwoConts, kTwoConts,                                  // 10______
             kTooShort | kOverlong2,                                // 1100____
             kTooShort,                                             // 1101____
             kTooShort | kOverlong3 | kSurrogate,                   // 1110____
             kTooShort | kTooLarge | kTooLarge1000 | kOverlong4}),  // 1111____
      Table({kCarry | kOverlong3 | kOverlong2 | kOverlong4,         // ____0000
             kCarry | kOverlong2,                                   // ____0001
             kCarry, kCarry,                                        // ____001_
             kCarry | kTooLarge,                                    // ____0100
             kCarry | kTooLarge | kTooLarge1000,                    // ____0101
             kCarry | kTooLarge | kTooLarge1000,                    // ____011_
             kCarry | kTooLarge | kTooLarge1000,
             kCarry | kTooLarge | kTooLarge1000,  // ____1___
             kCarry | kTooLarge | kTooLarge1000,
             kCarry | kTooLarge | kTooLarge1000,
             kCarry | kTooLarge | kTooLarge1000,
             kCarry | kTooLarge | kTooLarge1000,
             kCarry | kTooLarge | kTooLarge1000 | kSurrogate,  // ____1101
             kCarry | kTooLarge | kTooLarge1000,
             kCarry | kTooLarge | kTooLarge1000}),
      Table({kTooShort, kTooShort, kTooShort, kTooShort,  // 0_______
             kTooShort, kTooShort, kTooShort, kTooShort,
             // 1000____
             kTooLong | kOverlong2 | kTwoConts | kOverlong3 | kTooLarge1000 |
                 kOverlong4,
             // 1001____
             kTooLong | kOverlong2 | kTwoConts | kOverlong3 | kTooLarge,
             // 101_____
             kTooLong | kOverlong2 | kTwoConts | kSurrogate | kTooLarge,
             kTooLong | kOverlong2 | kTwoConts | kSurrogate | kTooLarge,
             kTooShort, kTooShort, kTooShort, kTooShort}),  // 11______
      Table({0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0xff, 0, 0}),
  };
  return kTables;
}

// Returns a vector whose bytes are non-zero where `input` (with `previous`,
// the 16 bytes before it) is not valid UTF-8.
__attribute__((target("ssse3"))) inline __m128i Utf8Errors(
    __m128i input, __m128i previous, const Utf8Tables& tables) {
  const __m128i nibble = _mm_set1_epi8(0x0f);
  const __m128i previous1 = _mm_alignr_epi8(input, previous, 15);
  const __m128i special = _mm_and_si128(
      _mm_and_si128(
          _mm_shuffle_epi8(tables.previous_high,
                           _mm_and_si128(_mm_srli_epi16(previous1, 4), nibble)),
          _mm_shuffle_epi8(tables.previous_low,
                           _mm_and_si128(previous1, nibble))),
      _mm_shuffle_epi8(tables.current_high,
                       _mm_and_si128(_mm_srli_epi16(input, 4), nibble)));
  // Bytes that must be the 2nd continuation of a 3- or 4-byte sequence
  // (two back is 111_____) or the 3rd of a 4-byte one (three back is
  // 1111____): for them, and only them, kTwoConts is expected.
  const __m128i previous2 = _mm_alignr_epi8(input, previous, 14);
  const __m128i previous3 = _mm_alignr_epi8(input, previous, 13);
  const __m128i must_continue = _mm_and_si128(
      _mm_or_si128(_mm_subs_epu8(previous2,
                                 _mm_set1_epi8(static_cast<char>(0xe0 - 0x80))),
                   _mm_subs_epu8(previous3, _mm_set1_epi8(static_cast<char>(
                                                0xf0 - 0x80)))),
      _mm_set1_epi8(static_cast<char>(0x80)));
  return _mm_xor_si128(must_continue, special);
}

// Returns 0xff where `input` holds a C0 control other than tab, LF and CR.
__attribute__((target("ssse3"))) inline __m128i ControlErrors(
    __m128i input, const Utf8Tables& tables) {
  const __m128i control =
      _mm_cmpeq_epi8(_mm_min_epu8(input, _mm_set1_epi8(0x1f)), input);
  const __m128i low =
      _mm_cmpeq_epi8(_mm_min_epu8(input, _mm_set1_epi8(0x0f)), input);
  const __m128i whitespace =
      _mm_and_si128(_mm_shuffle_epi8(tables.xml_whitespace, input), low);
  return _mm_andnot_si128(whitespace, control);
}

// Returns 0xff where `input` ends U+FFFE or U+FFFF (EF BF BE, EF BF BF).
__attribute__((target("ssse3"))) inline __m128i NoncharacterErrors(
    __m128i input, __m128i previous) {
  const __m128i previous1 = _mm_alignr_epi8(input, previous, 15);
  const __m128i previous2 = _mm_alignr_epi8(input, previous, 14);
  return _mm_and_si128(
      _mm_and_si128(
          _mm_cmpeq_epi8(previous2, _mm_set1_epi8(static_cast<char>(0xef))),
          _mm_cmpeq_epi8(previous1, _mm_set1_epi8(static_cast<char>(0xbf)))),
      _mm_cmpeq_epi8(_mm_or_si128(input, _mm_set1_epi8(1)),
                     _mm_set1_epi8(static_cast<char>(0xbf))));
}

__attribute__((target("ssse3"))) bool CheckTextSsse3(absl::string_view text,
                                                     bool xml) {
  const Utf8Tables& tables = Tables();
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t full = text.size() / 16 * 16;
  __m128i previous = _mm_setzero_si128();
  __m128i errors = _mm_setzero_si128();
  bool previous_ascii = true;
  for (std::size_t i = 0; i < full; i += 16) {
    const __m128i input =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const bool ascii = _mm_movemask_epi8(input) == 0;
    // Two ASCII blocks in a row: only control characters can be wrong.
    if (!ascii || !previous_ascii) {
      errors = _mm_or_si128(errors, Utf8Errors(input, previous, tables));
      if (xml)
        errors = _mm_or_si128(errors, NoncharacterErrors(input, previous));
    }
    if (xml) errors = _mm_or_si128(errors, ControlErrors(input, tables));
    previous = input;
    previous_ascii = ascii;
  }
  // The rest, padded with NULs: a sequence cut off by the end of the text
  // is then followed by an ASCII byte, which is an error. The XML checks
  // count only the lanes of real bytes (the padding NULs are controls).
  alignas(16) unsigned char tail[16] = {};
  const std::size_t rest = text.size() - full;
  if (rest > 0) std::memcpy(tail, p + full, rest);
  const __m128i input = _mm_load_si128(reinterpret_cast<const __m128i*>(tail));
  errors = _mm_or_si128(errors, Utf8Errors(input, previous, tables));
  if (xml) {
    const __m128i real = _mm_cmplt_epi8(
        _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm_set1_epi8(static_cast<char>(rest)));
    errors = _mm_or_si128(
        errors,
        _mm_and_si128(real, _mm_or_si128(ControlErrors(input, tables),
                                         NoncharacterErrors(input, previous))));
  }
  return _mm_movemask_epi8(_mm_cmpeq_epi8(errors, _mm_setzero_si128())) ==
         0xffff;
}

bool HasSsse3() {
  static const bool kHasSsse3 = __builtin_cpu_supports("ssse3");
  return kHasSsse3;
}
#endif

bool CheckText(absl::string_view text, bool xml) {
#if defined(WXCRYPTO_TEXT_SSSE3)
  // Short texts (names, keys) are usually ASCII: the portable loop is
  // cheaper than setting up the vector tables for them.
  if (text.size() >= 16 && HasSsse3()) return CheckTextSsse3(text, xml);
#endif
  return CheckTextPortable(text, xml);
}

}  // namespace

char FirstNonSpace(absl::string_view text) {
  for (char c : text) {
    if (!IsSpace(c)) return c;
  }
  return '\0';
}

bool IsUtf8(absl::string_view text) { return CheckText(text, /*xml=*/false); }

namespace internal {
bool IsUtf8Portable(absl::string_view text) {
  return CheckTextPortable(text, /*xml=*/false);
}
bool IsXmlTextPortable(absl::string_view text) {
  return CheckTextPortable(text, /*xml=*/true);
}
}  // namespace internal

bool IsXmlChar(std::uint32_t c) {
  return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) ||
         (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

bool IsXmlText(absl::string_view text) { return CheckText(text, /*xml=*/true); }

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

namespace {

#if defined(WXCRYPTO_TEXT_SSSE3)
// Whether every byte of `text` is in the set of ASCII characters whose bit
// (1 << high nibble) is set in low_nibble_bits[low nibble]: two table
// lookups per 16 bytes (W. Muła, "SIMD-ized faster parse of ..."; the
// "character class" trick). Non-ASCII bytes look up 0 and fail.
// Returns 0xff in every lane of `chars` whose bit is missing from its row.
__attribute__((target("ssse3"))) inline __m128i OutsideClass(
    __m128i chars, __m128i bits_by_low, __m128i bit_by_high) {
  const __m128i nibble = _mm_set1_epi8(0x0f);
  const __m128i bits =
      _mm_shuffle_epi8(bits_by_low, _mm_and_si128(chars, nibble));
  const __m128i bit = _mm_shuffle_epi8(
      bit_by_high, _mm_and_si128(_mm_srli_epi16(chars, 4), nibble));
  return _mm_cmpeq_epi8(_mm_and_si128(bits, bit), _mm_setzero_si128());
}

__attribute__((target("ssse3"))) bool AllInClassSsse3(
    absl::string_view text, const std::uint8_t (&low_nibble_bits)[16]) {
  const __m128i bits_by_low =
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(low_nibble_bits));
  const __m128i bit_by_high =
      _mm_setr_epi8(1, 2, 4, 8, 16, 32, 64, -128, 0, 0, 0, 0, 0, 0, 0, 0);
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t full = text.size() / 16 * 16;
  __m128i outside = _mm_setzero_si128();
  for (std::size_t i = 0; i < full; i += 16) {
    outside = _mm_or_si128(
        outside,
        OutsideClass(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)),
                     bits_by_low, bit_by_high));
  }
  if (full < text.size()) {
    // The last 16 bytes again, overlapping what was checked.
    outside = _mm_or_si128(
        outside, OutsideClass(_mm_loadu_si128(reinterpret_cast<const __m128i*>(
                                  p + text.size() - 16)),
                              bits_by_low, bit_by_high));
  }
  return _mm_movemask_epi8(outside) == 0;
}
#endif

}  // namespace

bool IsNonEmptyOver(absl::string_view text, absl::string_view alphabet) {
  if (text.empty()) return false;
#if defined(WXCRYPTO_TEXT_SSSE3)
  if (text.size() >= 16 && HasSsse3()) {
    std::uint8_t low_nibble_bits[16] = {};
    bool ascii = true;
    for (char c : alphabet) {
      const auto byte = static_cast<unsigned char>(c);
      if (byte >= 0x80) ascii = false;
      low_nibble_bits[byte & 0x0f] |=
          static_cast<std::uint8_t>(1u << ((byte >> 4) & 7));
    }
    if (ascii) return AllInClassSsse3(text, low_nibble_bits);
  }
#endif
  bool allowed[256] = {};
  for (char c : alphabet) allowed[static_cast<unsigned char>(c)] = true;
  for (char c : text) {
    if (!allowed[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

}  // namespace wxcrypto
