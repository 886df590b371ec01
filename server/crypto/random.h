// Randomness from the provider's CSPRNG.
#ifndef WXCRYPTO_SERVER_CRYPTO_RANDOM_H_
#define WXCRYPTO_SERVER_CRYPTO_RANDOM_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace wxcrypto {

// Returns `size` bytes from the provider's CSPRNG (RAND_bytes; requests of
// up to 64 bytes are served from a per-thread pool of its output, each byte
// once, see random.cc). Fails (Internal) only if the CSPRNG does.
// Thread-safe and fork-safe.
absl::StatusOr<std::string> RandomBytes(std::size_t size);

// Returns a nonce of `size` decimal digits, like the nonces WeChat sends.
absl::StatusOr<std::string> RandomNonce(std::size_t size = 10);

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_CRYPTO_RANDOM_H_
