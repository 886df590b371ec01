// Errors of the wxcrypto core.
//
// Every failure is an absl::Status whose canonical code tells the class of
// failure and which carries two payloads a gateway can rely on:
//   - the official WeChat numeric error code (e.g. -40001), as used by the
//     WXBizMsgCrypt and WXBizDataCrypt samples, and
//   - a stable UPPER_SNAKE reason word (e.g. SIGNATURE_MISMATCH).
// The service layer copies both into gRPC trailing metadata (`wx-error-code`
// and `error-reason`). Messages never contain keys, tokens, session keys or
// plaintext.
#ifndef WXCRYPTO_SERVER_CRYPTO_ERROR_H_
#define WXCRYPTO_SERVER_CRYPTO_ERROR_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace wxcrypto {

// Numeric error codes of WeChat's official message-crypt samples
// (WXBizMsgCrypt, ierror.h) and open-data samples (WXBizDataCrypt).
enum class WxErrorCode : int {
  kOk = 0,
  kValidateSignatureError = -40001,
  kParseXmlError = -40002,
  kComputeSignatureError = -40003,
  kIllegalAesKey = -40004,
  kValidateReceiveIdError = -40005,
  kEncryptAesError = -40006,
  kDecryptAesError = -40007,
  kIllegalBuffer = -40008,
  kEncodeBase64Error = -40009,
  kDecodeBase64Error = -40010,
  kGenReturnXmlError = -40011,
  kUserDataIllegalAesKey = -41001,
  kUserDataIllegalIv = -41002,
  kUserDataIllegalBuffer = -41003,
  kUserDataDecodeBase64Error = -41004,
};

// Stable reason words. They are part of the public API (the `error-reason`
// trailing metadata); never rename one.
namespace reason {
inline constexpr absl::string_view kSignatureMismatch = "SIGNATURE_MISMATCH";
inline constexpr absl::string_view kSignatureMissing = "SIGNATURE_MISSING";
inline constexpr absl::string_view kEnvelopeInvalid = "ENVELOPE_INVALID";
inline constexpr absl::string_view kEnvelopeTooLarge = "ENVELOPE_TOO_LARGE";
inline constexpr absl::string_view kMessageInvalid = "MESSAGE_INVALID";
inline constexpr absl::string_view kAesKeyInvalid = "AES_KEY_INVALID";
inline constexpr absl::string_view kKeyIndexInvalid = "KEY_INDEX_INVALID";
inline constexpr absl::string_view kMessageTooLarge = "MESSAGE_TOO_LARGE";
inline constexpr absl::string_view kReceiveIdMismatch = "RECEIVE_ID_MISMATCH";
inline constexpr absl::string_view kDecryptFailed = "DECRYPT_FAILED";
inline constexpr absl::string_view kEncryptFailed = "ENCRYPT_FAILED";
inline constexpr absl::string_view kBufferInvalid = "BUFFER_INVALID";
inline constexpr absl::string_view kBase64Invalid = "BASE64_INVALID";
inline constexpr absl::string_view kReplyInvalid = "REPLY_INVALID";
inline constexpr absl::string_view kSessionKeyInvalid = "SESSION_KEY_INVALID";
inline constexpr absl::string_view kIvInvalid = "IV_INVALID";
inline constexpr absl::string_view kUserDataInvalid = "USER_DATA_INVALID";
inline constexpr absl::string_view kUserDataRejected = "USER_DATA_REJECTED";
}  // namespace reason

// Returns a status with `code`, `message` and both payloads attached.
// `message` must not contain secrets or plaintext.
absl::Status WxError(absl::StatusCode code, WxErrorCode wx_code,
                     absl::string_view reason, absl::string_view message);

// Returns the WeChat numeric code attached to `status`, or kOk if none is.
WxErrorCode GetWxErrorCode(const absl::Status& status);

// Returns the reason word attached to `status`, or "" if none is.
std::string GetErrorReason(const absl::Status& status);

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_CRYPTO_ERROR_H_
