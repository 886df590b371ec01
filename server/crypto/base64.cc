#include "server/crypto/base64.h"

#include <cstddef>
#include <cstdint>
#include <string>

#if defined(__x86_64__)
#include <tmmintrin.h>
#endif

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/crypto/secret_data.h"

namespace wxcrypto {
namespace {

constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::uint32_t kInvalid = 0xff;

// All ones if lo <= c <= hi, else zero, without a branch or a table:
// c - lo and hi - c both have bit 8 clear exactly then (c, lo, hi < 256).
constexpr std::uint32_t InRange(std::uint32_t c, std::uint32_t lo,
                                std::uint32_t hi) {
  return (((c - lo) | (hi - c)) >> 8 & 1) - 1;
}

// The 6-bit value of a base64 character, or kInvalid, computed with masks
// rather than looked up: a table indexed by the character would put every
// secret decoded here (session_key, EncodingAESKey) into the addresses of
// its loads, which a cache-timing observer can see (as BoringSSL's
// constant-time base64 decoder avoids).
constexpr std::uint32_t DecodeChar(std::uint8_t character) {
  const std::uint32_t c = character;
  const std::uint32_t upper = InRange(c, 'A', 'Z');
  const std::uint32_t lower = InRange(c, 'a', 'z');
  const std::uint32_t digit = InRange(c, '0', '9');
  const std::uint32_t plus = InRange(c, '+', '+');
  const std::uint32_t slash = InRange(c, '/', '/');
  const std::uint32_t valid = upper | lower | digit | plus | slash;
  return (upper & (c - 'A')) | (lower & (c - 'a' + 26)) |
         (digit & (c - '0' + 52)) | (plus & 62) | (slash & 63) |
         (~valid & kInvalid);
}

constexpr bool DecodeCharMatchesTheAlphabet() {
  for (std::uint32_t i = 0; i < 64; ++i) {
    if (DecodeChar(static_cast<std::uint8_t>(kAlphabet[i])) != i) return false;
  }
  return DecodeChar('=') == kInvalid && DecodeChar('@') == kInvalid &&
         DecodeChar('[') == kInvalid && DecodeChar('`') == kInvalid &&
         DecodeChar('{') == kInvalid && DecodeChar(0) == kInvalid &&
         DecodeChar(0xff) == kInvalid;
}
static_assert(DecodeCharMatchesTheAlphabet());

// Returns the decoded size of well-formed `encoded`, or an error.
absl::StatusOr<std::size_t> DecodedSize(absl::string_view encoded) {
  if (encoded.size() % 4 != 0) {
    return absl::InvalidArgumentError("base64 length is not a multiple of 4");
  }
  std::size_t padding = 0;
  if (!encoded.empty() && encoded.back() == '=') {
    padding = encoded.size() >= 2 && encoded[encoded.size() - 2] == '=' ? 2 : 1;
  }
  return encoded.size() / 4 * 3 - padding;
}

// Decodes the first `quads` groups of four characters of `in` into `out`
// (3 bytes each), one group at a time. Returns false if any of them holds a
// character outside the alphabet (including '=').
bool DecodeQuadsPortable(const std::uint8_t* in, std::size_t quads,
                         std::uint8_t* out) {
  std::uint32_t bad = 0;
  for (std::size_t q = 0; q < quads; ++q, in += 4, out += 3) {
    const std::uint32_t a = DecodeChar(in[0]);
    const std::uint32_t b = DecodeChar(in[1]);
    const std::uint32_t c = DecodeChar(in[2]);
    const std::uint32_t d = DecodeChar(in[3]);
    bad |= a | b | c | d;
    const std::uint32_t triple = (a << 18) | (b << 12) | (c << 6) | d;
    out[0] = static_cast<std::uint8_t>(triple >> 16);
    out[1] = static_cast<std::uint8_t>(triple >> 8);
    out[2] = static_cast<std::uint8_t>(triple);
  }
  return (bad & 0x80) == 0;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define WXCRYPTO_BASE64_SSSE3 1

// As DecodeQuadsPortable, 16 characters at a time with SSSE3: W. Muła and
// D. Lemire, "Faster Base64 Encoding and Decoding Using AVX2 Instructions"
// (ACM TWEB, 2018), section 4, in its 16-byte form. A character is looked
// up by its high and its low nibble in two tables of bit sets; it is
// outside the alphabet exactly when the two sets intersect:
//
//   high nibble   row   valid low nibbles        bit
//   0, 1, 8..f    -     none                     0x10 (set for every low
//   nibble) 2             + /   b, f                     0x01 3             0-9
//   0..9                     0x02 4, 6          A-O a-o  1..f 0x04 5, 7 P-Z p-z
//   0..a                  0x08
//
// The 6-bit value is the character plus an offset chosen by the high
// nibble ('/' shares the high nibble of '+' and is told apart by a compare):
// 'A'-'Z' -65, 'a'-'z' -71, '0'-'9' +4, '+' +19, '/' +16. Two multiply-adds
// then pack each group of four 6-bit values into 24 bits.
__attribute__((target("ssse3"))) std::size_t DecodeQuadsSsse3(
    const std::uint8_t* in, std::size_t quads, std::uint8_t* out, bool& ok) {
  const __m128i low_table =
      _mm_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                    0x13, 0x1a, 0x1b, 0x1b, 0x1b, 0x1a);
  const __m128i high_table =
      _mm_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10,
                    0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
  const __m128i offsets =
      _mm_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m128i nibble = _mm_set1_epi8(0x0f);
  const __m128i slash = _mm_set1_epi8('/');
  // Big-endian 24-bit groups out of each 32-bit lane.
  const __m128i pack =
      _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
  __m128i errors = _mm_setzero_si128();
  std::size_t done = 0;
  // Four groups per step; each step stores 16 bytes of which 12 count, so
  // stop while the output still has room for the 4 extra.
  for (; quads - done >= 5; done += 4) {
    const __m128i chars =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 4 * done));
    const __m128i high = _mm_and_si128(_mm_srli_epi32(chars, 4), nibble);
    const __m128i low = _mm_and_si128(chars, nibble);
    errors =
        _mm_or_si128(errors, _mm_and_si128(_mm_shuffle_epi8(low_table, low),
                                           _mm_shuffle_epi8(high_table, high)));
    const __m128i offset = _mm_shuffle_epi8(
        offsets, _mm_add_epi8(_mm_cmpeq_epi8(chars, slash), high));
    const __m128i values = _mm_add_epi8(chars, offset);
    // (a << 6 | b) and (c << 6 | d) in 16-bit lanes, then
    // (a << 18 | b << 12 | c << 6 | d) in 32-bit lanes.
    const __m128i pairs = _mm_maddubs_epi16(values, _mm_set1_epi32(0x01400140));
    const __m128i groups = _mm_madd_epi16(pairs, _mm_set1_epi32(0x00011000));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 3 * done),
                     _mm_shuffle_epi8(groups, pack));
  }
  ok = _mm_movemask_epi8(_mm_cmpeq_epi8(errors, _mm_setzero_si128())) == 0xffff;
  return done;
}

bool HasSsse3() {
  static const bool kHasSsse3 = __builtin_cpu_supports("ssse3");
  return kHasSsse3;
}
#endif

// Decodes the first `quads` groups of `in`, with SSSE3 when the CPU has it.
bool DecodeQuads(const std::uint8_t* in, std::size_t quads, std::uint8_t* out,
                 bool portable) {
  std::size_t done = 0;
  bool ok = true;
#if defined(WXCRYPTO_BASE64_SSSE3)
  if (!portable && HasSsse3()) done = DecodeQuadsSsse3(in, quads, out, ok);
#else
  static_cast<void>(portable);
#endif
  return DecodeQuadsPortable(in + 4 * done, quads - done, out + 3 * done) && ok;
}

// Decodes `encoded` into `out`, which has room for DecodedSize(encoded)
// bytes. Returns false on any character outside the alphabet, including a
// '=' anywhere but the last one or two positions. `portable` forces the
// one-group-at-a-time decoder (for tests).
bool DecodeInto(absl::string_view encoded, std::uint8_t* out,
                bool portable = false) {
  const auto* in = reinterpret_cast<const std::uint8_t*>(encoded.data());
  const std::size_t size = encoded.size();
  if (size == 0) return true;
  const std::size_t full_quads = (size / 4) - 1;
  if (!DecodeQuads(in, full_quads, out, portable)) return false;
  in += 4 * full_quads;
  out += 3 * full_quads;

  // The last quad: "xxxx", "xxx=" or "xx==".
  const std::uint32_t a = DecodeChar(in[0]);
  const std::uint32_t b = DecodeChar(in[1]);
  if ((a | b) & 0x80) return false;
  if (in[2] == '=') {
    if (in[3] != '=') return false;
    out[0] = static_cast<std::uint8_t>((a << 2) | (b >> 4));
    return true;
  }
  const std::uint32_t c = DecodeChar(in[2]);
  if (c & 0x80) return false;
  if (in[3] == '=') {
    out[0] = static_cast<std::uint8_t>((a << 2) | (b >> 4));
    out[1] = static_cast<std::uint8_t>((b << 4) | (c >> 2));
    return true;
  }
  const std::uint32_t d = DecodeChar(in[3]);
  if (d & 0x80) return false;
  const std::uint32_t triple = (a << 18) | (b << 12) | (c << 6) | d;
  out[0] = static_cast<std::uint8_t>(triple >> 16);
  out[1] = static_cast<std::uint8_t>(triple >> 8);
  out[2] = static_cast<std::uint8_t>(triple);
  return true;
}

absl::Status InvalidCharacter() {
  return absl::InvalidArgumentError("base64 contains an invalid character");
}

}  // namespace

void Base64EncodeAppend(absl::string_view data, std::string& out) {
  const std::size_t start = out.size();
  out.resize(start + (data.size() + 2) / 3 * 4);
  char* dst = out.data() + start;
  const auto* src = reinterpret_cast<const std::uint8_t*>(data.data());
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3, dst += 4) {
    const std::uint32_t triple = (std::uint32_t{src[i]} << 16) |
                                 (std::uint32_t{src[i + 1]} << 8) | src[i + 2];
    dst[0] = kAlphabet[(triple >> 18) & 0x3f];
    dst[1] = kAlphabet[(triple >> 12) & 0x3f];
    dst[2] = kAlphabet[(triple >> 6) & 0x3f];
    dst[3] = kAlphabet[triple & 0x3f];
  }
  const std::size_t rest = data.size() - i;
  if (rest == 1) {
    const std::uint32_t triple = std::uint32_t{src[i]} << 16;
    dst[0] = kAlphabet[(triple >> 18) & 0x3f];
    dst[1] = kAlphabet[(triple >> 12) & 0x3f];
    dst[2] = '=';
    dst[3] = '=';
  } else if (rest == 2) {
    const std::uint32_t triple =
        (std::uint32_t{src[i]} << 16) | (std::uint32_t{src[i + 1]} << 8);
    dst[0] = kAlphabet[(triple >> 18) & 0x3f];
    dst[1] = kAlphabet[(triple >> 12) & 0x3f];
    dst[2] = kAlphabet[(triple >> 6) & 0x3f];
    dst[3] = '=';
  }
}

std::string Base64Encode(absl::string_view data) {
  std::string out;
  Base64EncodeAppend(data, out);
  return out;
}

absl::StatusOr<std::string> Base64Decode(absl::string_view encoded) {
  absl::StatusOr<std::size_t> size = DecodedSize(encoded);
  if (!size.ok()) return size.status();
  std::string out(*size, '\0');
  if (!DecodeInto(encoded, reinterpret_cast<std::uint8_t*>(out.data()))) {
    return InvalidCharacter();
  }
  return out;
}

namespace internal {
absl::StatusOr<std::string> Base64DecodePortable(absl::string_view encoded) {
  absl::StatusOr<std::size_t> size = DecodedSize(encoded);
  if (!size.ok()) return size.status();
  std::string out(*size, '\0');
  if (!DecodeInto(encoded, reinterpret_cast<std::uint8_t*>(out.data()),
                  /*portable=*/true)) {
    return InvalidCharacter();
  }
  return out;
}
}  // namespace internal

absl::StatusOr<SecretData> Base64DecodeSecret(absl::string_view encoded) {
  absl::StatusOr<std::size_t> size = DecodedSize(encoded);
  if (!size.ok()) return size.status();
  SecretData out(*size);
  if (!DecodeInto(encoded, out.data())) return InvalidCharacter();
  return out;
}

}  // namespace wxcrypto
