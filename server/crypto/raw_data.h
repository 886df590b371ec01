// The mini program rawData check: signature = hex(sha1(rawData + session_key)),
// where session_key is the base64 text as WeChat returned it.
#ifndef WXCRYPTO_SERVER_CRYPTO_RAW_DATA_H_
#define WXCRYPTO_SERVER_CRYPTO_RAW_DATA_H_

#include "absl/strings/string_view.h"

namespace wxcrypto {

// Returns true if `signature` (hex, any case) equals
// hex(sha1(raw_data + session_key)). Constant time in the signature bytes.
bool VerifyRawData(absl::string_view raw_data, absl::string_view signature,
                   absl::string_view session_key);

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_CRYPTO_RAW_DATA_H_
