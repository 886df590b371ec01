// WeChat's webhook signatures.
//
//   msg_signature = hex(sha1(join(sort(token, timestamp, nonce, Encrypt))))
//   signature     = hex(sha1(join(sort(token, timestamp, nonce))))
//
// The sort is byte-wise (as Python's sorted() on str and Java's
// Arrays.sort on String agree for ASCII), and hex is lowercase. `signature`
// signs plaintext-mode pushes and the URL verification GET.
#ifndef WXCRYPTO_SERVER_CRYPTO_SIGNATURE_H_
#define WXCRYPTO_SERVER_CRYPTO_SIGNATURE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace wxcrypto {

// Length of a hex-encoded SHA-1.
inline constexpr std::size_t kSignatureHexSize = 40;

// Returns the msg_signature of an encrypted push or reply.
std::string ComputeMsgSignature(absl::string_view token,
                                absl::string_view timestamp,
                                absl::string_view nonce,
                                absl::string_view encrypt);

// Returns the signature of a plaintext push or URL verification.
std::string ComputeUrlSignature(absl::string_view token,
                                absl::string_view timestamp,
                                absl::string_view nonce);

// Returns lowercase hex(sha1(data)).
std::string Sha1Hex(absl::string_view data);

// Returns lowercase hex(sha1(parts[0] + parts[1] + ...)) without building the
// concatenation in memory.
std::string Sha1HexOfConcatenation(absl::Span<const absl::string_view> parts);

// Returns true if `received` equals `expected_lowercase_hex` ignoring ASCII
// case. Runs in time that depends only on the lengths.
bool SignatureMatches(absl::string_view received,
                      absl::string_view expected_lowercase_hex);

// Returns OK if `received` is the msg_signature of the four values, else
// Unauthenticated with -40001 / SIGNATURE_MISMATCH (or SIGNATURE_MISSING when
// `received` is empty).
absl::Status VerifyMsgSignature(absl::string_view received,
                                absl::string_view token,
                                absl::string_view timestamp,
                                absl::string_view nonce,
                                absl::string_view encrypt);

// Returns OK if `received` is the signature of the three values; errors as
// VerifyMsgSignature.
absl::Status VerifyUrlSignature(absl::string_view received,
                                absl::string_view token,
                                absl::string_view timestamp,
                                absl::string_view nonce);

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_CRYPTO_SIGNATURE_H_
