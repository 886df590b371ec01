// Mini program open data (wx.getUserInfo, getPhoneNumber, share info, ...):
// `encryptedData` is base64 of AES-128-CBC with PKCS#7 (16-byte blocks), key
// = base64 decode of the user's session_key, IV = base64 decode of `iv`. The
// plaintext is JSON carrying a watermark:
//
//   {..., "watermark": {"appid": "wx4f4bc4dec97d474b",
//                       "timestamp": 1477314187}}
//
// Once decryption starts, every failure (padding, not JSON, no or wrong
// watermark, too old) returns the same status with the same message and
// payloads, and the work up to the outcome (padding check, JSON validation,
// watermark lookup and comparison: server/crypto/ct_json.h) takes time that
// depends only on the ciphertext's length; anything else would make a
// gateway a padding oracle for whoever controls encryptedData and iv.
#ifndef WXCRYPTO_SERVER_CRYPTO_USER_DATA_H_
#define WXCRYPTO_SERVER_CRYPTO_USER_DATA_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wxcrypto {

// Upper bound on encryptedData (base64 characters).
inline constexpr std::size_t kMaxEncryptedUserDataSize = 1 << 20;

struct UserData {
  // The decrypted JSON, unpadded, exactly as WeChat encrypted it.
  std::string data;
  std::string watermark_app_id;
  std::int64_t watermark_timestamp = 0;
};

struct UserDataRequest {
  // Must equal watermark.appid.
  absl::string_view app_id;
  absl::string_view session_key;     // base64 of 16 bytes
  absl::string_view encrypted_data;  // base64
  absl::string_view iv;              // base64 of 16 bytes
  // 0: no age check. Otherwise |now - watermark.timestamp| must not exceed it.
  std::int64_t max_age_seconds = 0;
  std::int64_t now_unix_seconds = 0;
};

// Decrypts and checks open data: the plaintext must be a JSON object
// (RFC 8259, as CtJsonScanWatermark accepts it) whose first "watermark"
// member holds an "appid" equal to request.app_id, written without escapes,
// and an int64 "timestamp". Errors before decryption (distinct, all
// InvalidArgument): -41001 SESSION_KEY_INVALID, -41002 IV_INVALID, -41004
// BASE64_INVALID (encryptedData empty, too large or not base64), -41003
// BUFFER_INVALID (encryptedData not a multiple of 16 bytes, negative
// max_age_seconds). Every failure after decryption starts: InvalidArgument
// -41003 USER_DATA_INVALID with one fixed message (UserDataRejectedStatus()).
absl::StatusOr<UserData> DecryptUserData(const UserDataRequest& request);

// What DecryptUserDataConstantTime leaves.
struct UserDataOutcome {
  // All ones if the data decrypted, was padded and verified; zero if not. A
  // mask, so that code can combine it without branching.
  std::uint64_t ok_mask = 0;
  // On success, what DecryptUserData returns. On failure, `data` holds the
  // wiped plaintext (zero bytes, one fewer than were decrypted) and the
  // watermark fields hold request.app_id and 0: never pass them on.
  UserData data;
};

// The constant-time part of DecryptUserData, which returns its outcome as a
// value rather than branching on it. Returns the errors before decryption
// (as DecryptUserData); otherwise OK, whether or not the data verified:
// `outcome->ok_mask` says. From decryption to the return, and in destroying
// `*outcome` (the same buffers, of the same sizes, for both outcomes), the
// work depends only on the ciphertext's length. DecryptUserData is this
// followed by the branch on the outcome; bench/timing measures this.
absl::Status DecryptUserDataConstantTime(const UserDataRequest& request,
                                         UserDataOutcome* outcome);

// The single status every post-decryption failure returns.
absl::Status UserDataRejectedStatus();

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_CRYPTO_USER_DATA_H_
