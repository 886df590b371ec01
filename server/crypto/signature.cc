#include "server/crypto/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/crypto/error.h"
#include "server/crypto/ssl_util.h"

namespace wxcrypto {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// Returns lowercase hex(sha1(parts[0] + parts[1] + ...)). The parts are fed
// to the digest one by one, so no buffer ever holds the token next to the
// rest.
std::string Sha1HexOfParts(absl::Span<const absl::string_view> parts) {
  thread_local internal::MdCtxPtr ctx(EVP_MD_CTX_new());
  std::uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  bool ok = ctx != nullptr &&
            EVP_DigestInit_ex(ctx.get(), internal::Sha1Digest(), nullptr) == 1;
  for (std::size_t i = 0; ok && i < parts.size(); ++i) {
    ok = EVP_DigestUpdate(ctx.get(), parts[i].data(), parts[i].size()) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(ctx.get(), digest, &digest_size) == 1;
  if (!ok || digest_size != 20) {
    // SHA-1 over memory cannot fail short of allocation failure; an empty
    // result never matches a received signature.
    return std::string();
  }
  std::string hex(2 * digest_size, '\0');
  for (unsigned int i = 0; i < digest_size; ++i) {
    hex[2 * i] = kHexDigits[digest[i] >> 4];
    hex[2 * i + 1] = kHexDigits[digest[i] & 0x0f];
  }
  return hex;
}

template <std::size_t N>
std::string SortedSignature(std::array<absl::string_view, N> parts) {
  // string_view compares bytes as unsigned char: WeChat's byte-wise sort.
  std::sort(parts.begin(), parts.end());
  return Sha1HexOfParts(parts);
}

absl::Status CheckSignature(absl::string_view received,
                            const std::string& expected) {
  if (received.empty()) {
    return WxError(absl::StatusCode::kUnauthenticated,
                   WxErrorCode::kValidateSignatureError,
                   reason::kSignatureMissing, "signature is missing");
  }
  if (!SignatureMatches(received, expected)) {
    return WxError(absl::StatusCode::kUnauthenticated,
                   WxErrorCode::kValidateSignatureError,
                   reason::kSignatureMismatch, "signature does not match");
  }
  return absl::OkStatus();
}

}  // namespace

std::string ComputeMsgSignature(absl::string_view token,
                                absl::string_view timestamp,
                                absl::string_view nonce,
                                absl::string_view encrypt) {
  return SortedSignature<4>({token, timestamp, nonce, encrypt});
}

std::string ComputeUrlSignature(absl::string_view token,
                                absl::string_view timestamp,
                                absl::string_view nonce) {
  return SortedSignature<3>({token, timestamp, nonce});
}

std::string Sha1Hex(absl::string_view data) {
  const absl::string_view parts[] = {data};
  return Sha1HexOfParts(parts);
}

std::string Sha1HexOfConcatenation(absl::Span<const absl::string_view> parts) {
  return Sha1HexOfParts(parts);
}

bool SignatureMatches(absl::string_view received,
                      absl::string_view expected_lowercase_hex) {
  if (received.size() != expected_lowercase_hex.size() ||
      expected_lowercase_hex.size() != kSignatureHexSize) {
    return false;
  }
  // Fold ASCII upper case to lower case without branching on the bytes:
  // setting bit 0x20 maps 'A'..'F' to 'a'..'f' and leaves digits and
  // 'a'..'f' unchanged. Other bytes may fold onto hex digits ('G' -> 'g' is
  // not hex, but e.g. 0x10 -> '0'), so a received byte must also have been a
  // hex digit; that check is value-independent in time as well.
  std::uint8_t folded[kSignatureHexSize];
  std::uint8_t not_hex = 0;
  for (std::size_t i = 0; i < kSignatureHexSize; ++i) {
    const std::uint8_t c = static_cast<std::uint8_t>(received[i]);
    const std::uint8_t lower = c | 0x20;
    // lower in '0'..'9' or 'a'..'f'; c itself must be printable (>= 0x30) so
    // that control bytes folded by 0x20 do not pass.
    const std::uint8_t is_digit =
        static_cast<std::uint8_t>((c >= '0') & (c <= '9'));
    const std::uint8_t is_alpha =
        static_cast<std::uint8_t>((lower >= 'a') & (lower <= 'f') & (c >= 'A'));
    not_hex |= static_cast<std::uint8_t>(1 ^ (is_digit | is_alpha));
    folded[i] = lower;
  }
  const int diff = CRYPTO_memcmp(folded, expected_lowercase_hex.data(),
                                 kSignatureHexSize);
  return diff == 0 && not_hex == 0;
}

absl::Status VerifyMsgSignature(absl::string_view received,
                                absl::string_view token,
                                absl::string_view timestamp,
                                absl::string_view nonce,
                                absl::string_view encrypt) {
  return CheckSignature(received,
                        ComputeMsgSignature(token, timestamp, nonce, encrypt));
}

absl::Status VerifyUrlSignature(absl::string_view received,
                                absl::string_view token,
                                absl::string_view timestamp,
                                absl::string_view nonce) {
  return CheckSignature(received, ComputeUrlSignature(token, timestamp, nonce));
}

}  // namespace wxcrypto
