// Randomness from the provider's CSPRNG.
#ifndef WXCRYPTO_SERVER_CRYPTO_RANDOM_H_
#define WXCRYPTO_SERVER_CRYPTO_RANDOM_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace wxcrypto {

// Returns `size` bytes from RAND_bytes. Fails (Internal) only if the CSPRNG
// does.
absl::StatusOr<std::string> RandomBytes(std::size_t size);

// Returns a nonce of `size` decimal digits, like the nonces WeChat sends.
absl::StatusOr<std::string> RandomNonce(std::size_t size = 10);

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_CRYPTO_RANDOM_H_
