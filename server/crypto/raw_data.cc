#include "server/crypto/raw_data.h"

#include "absl/strings/string_view.h"
#include "server/crypto/signature.h"

namespace wxcrypto {

bool VerifyRawData(absl::string_view raw_data, absl::string_view signature,
                   absl::string_view session_key) {
  // sha1(rawData + session_key): unsorted, unlike the webhook signatures.
  const absl::string_view parts[] = {raw_data, session_key};
  return SignatureMatches(signature, Sha1HexOfConcatenation(parts));
}

}  // namespace wxcrypto
