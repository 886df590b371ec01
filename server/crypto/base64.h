// Standard base64 (RFC 4648 section 4, alphabet A-Z a-z 0-9 + /, '='
// padding), as WeChat uses for Encrypt, EncodingAESKey, session_key, iv and
// encryptedData.
//
// Decoding is strict: the length must be a multiple of 4, padding is only
// allowed as the last one or two characters, and no whitespace or other
// character is accepted. As in every mainstream decoder, the unused low bits
// of the last symbol are ignored (WeChat's own sample EncodingAESKey ends in a
// symbol with non-zero unused bits).
//
// Decoding never indexes a table with a character, nor branches on one but
// to tell padding and invalid input: what a cache-timing observer sees does
// not depend on the decoded bytes, which are often secrets (session_key,
// EncodingAESKey).
#ifndef WXCRYPTO_SERVER_CRYPTO_BASE64_H_
#define WXCRYPTO_SERVER_CRYPTO_BASE64_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/crypto/secret_data.h"

namespace wxcrypto {

// Returns the padded base64 encoding of `data`.
std::string Base64Encode(absl::string_view data);

// Appends the padded base64 encoding of `data` to `out`.
void Base64EncodeAppend(absl::string_view data, std::string& out);

// Decodes strict padded base64. Returns InvalidArgument (with no payload; the
// caller attaches its own WeChat code) on any malformed input.
absl::StatusOr<std::string> Base64Decode(absl::string_view encoded);

// Like Base64Decode, for secrets: the decoded bytes never touch a buffer that
// is not wiped on release.
absl::StatusOr<SecretData> Base64DecodeSecret(absl::string_view encoded);

namespace internal {
// Base64Decode without the SSSE3 path it takes on x86-64 CPUs that have it:
// one group of four characters at a time. Exposed so that tests can compare
// the two.
absl::StatusOr<std::string> Base64DecodePortable(absl::string_view encoded);
}  // namespace internal

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_CRYPTO_BASE64_H_
