#include "server/crypto/base64.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/crypto/secret_data.h"

namespace wxcrypto {
namespace {

constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::uint8_t kInvalid = 0xff;

constexpr std::array<std::uint8_t, 256> MakeDecodeTable() {
  std::array<std::uint8_t, 256> table{};
  for (auto& entry : table) entry = kInvalid;
  for (std::uint8_t i = 0; i < 64; ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = i;
  }
  return table;
}
constexpr std::array<std::uint8_t, 256> kDecodeTable = MakeDecodeTable();

// Returns the decoded size of well-formed `encoded`, or an error.
absl::StatusOr<std::size_t> DecodedSize(absl::string_view encoded) {
  if (encoded.size() % 4 != 0) {
    return absl::InvalidArgumentError(
        "base64 length is not a multiple of 4");
  }
  std::size_t padding = 0;
  if (!encoded.empty() && encoded.back() == '=') {
    padding = encoded.size() >= 2 && encoded[encoded.size() - 2] == '=' ? 2 : 1;
  }
  return encoded.size() / 4 * 3 - padding;
}

// Decodes `encoded` into `out`, which has room for DecodedSize(encoded)
// bytes. Returns false on any character outside the alphabet, including a
// '=' anywhere but the last one or two positions.
bool DecodeInto(absl::string_view encoded, std::uint8_t* out) {
  const auto* in = reinterpret_cast<const std::uint8_t*>(encoded.data());
  const std::size_t size = encoded.size();
  if (size == 0) return true;
  const std::size_t full_quads = (size / 4) - 1;
  std::uint32_t bad = 0;
  for (std::size_t q = 0; q < full_quads; ++q, in += 4, out += 3) {
    const std::uint32_t a = kDecodeTable[in[0]];
    const std::uint32_t b = kDecodeTable[in[1]];
    const std::uint32_t c = kDecodeTable[in[2]];
    const std::uint32_t d = kDecodeTable[in[3]];
    bad |= a | b | c | d;
    const std::uint32_t triple = (a << 18) | (b << 12) | (c << 6) | d;
    out[0] = static_cast<std::uint8_t>(triple >> 16);
    out[1] = static_cast<std::uint8_t>(triple >> 8);
    out[2] = static_cast<std::uint8_t>(triple);
  }
  if (bad & 0x80) return false;

  // The last quad: "xxxx", "xxx=" or "xx==".
  const std::uint32_t a = kDecodeTable[in[0]];
  const std::uint32_t b = kDecodeTable[in[1]];
  if ((a | b) & 0x80) return false;
  if (in[2] == '=') {
    if (in[3] != '=') return false;
    out[0] = static_cast<std::uint8_t>((a << 2) | (b >> 4));
    return true;
  }
  const std::uint32_t c = kDecodeTable[in[2]];
  if (c & 0x80) return false;
  if (in[3] == '=') {
    out[0] = static_cast<std::uint8_t>((a << 2) | (b >> 4));
    out[1] = static_cast<std::uint8_t>((b << 4) | (c >> 2));
    return true;
  }
  const std::uint32_t d = kDecodeTable[in[3]];
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

absl::StatusOr<SecretData> Base64DecodeSecret(absl::string_view encoded) {
  absl::StatusOr<std::size_t> size = DecodedSize(encoded);
  if (!size.ok()) return size.status();
  SecretData out(*size);
  if (!DecodeInto(encoded, out.data())) return InvalidCharacter();
  return out;
}

}  // namespace wxcrypto
