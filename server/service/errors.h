// Service-level errors: the reasons and WeChat codes that the crypto core
// does not produce itself, and the one conversion from absl::Status to
// grpc::Status (with `wx-error-code` and `error-reason` trailing metadata).
#ifndef WXCRYPTO_SERVER_SERVICE_ERRORS_H_
#define WXCRYPTO_SERVER_SERVICE_ERRORS_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace wxcrypto {

// WeChat's global "system busy" code, for failures that are the service's
// own (overload, draining, internal) and have no message-crypt equivalent.
inline constexpr int kSystemBusyCode = -1;

namespace reason {
inline constexpr absl::string_view kAppNotFound = "APP_NOT_FOUND";
inline constexpr absl::string_view kArgumentInvalid = "ARGUMENT_INVALID";
inline constexpr absl::string_view kEncryptTypeInvalid = "ENCRYPT_TYPE_INVALID";
inline constexpr absl::string_view kEnvelopeFormatInvalid =
    "ENVELOPE_FORMAT_INVALID";
inline constexpr absl::string_view kEncryptMissing = "ENCRYPT_MISSING";
inline constexpr absl::string_view kPlaintextNotAllowed =
    "PLAINTEXT_NOT_ALLOWED";
inline constexpr absl::string_view kAesKeyNotConfigured =
    "AES_KEY_NOT_CONFIGURED";
inline constexpr absl::string_view kTimestampInvalid = "TIMESTAMP_INVALID";
inline constexpr absl::string_view kTimestampOutOfWindow =
    "TIMESTAMP_OUT_OF_WINDOW";
inline constexpr absl::string_view kEchostrMissing = "ECHOSTR_MISSING";
inline constexpr absl::string_view kRequestTooLarge = "REQUEST_TOO_LARGE";
inline constexpr absl::string_view kRequestInvalid = "REQUEST_INVALID";
inline constexpr absl::string_view kOverloaded = "OVERLOADED";
inline constexpr absl::string_view kDraining = "DRAINING";
inline constexpr absl::string_view kDeadlineExceeded = "DEADLINE_EXCEEDED";
inline constexpr absl::string_view kCancelled = "CANCELLED";
inline constexpr absl::string_view kInternal = "INTERNAL";
}  // namespace reason

// Returns a status with the service's own reason and the "system busy" code.
absl::Status ServiceError(absl::StatusCode code, absl::string_view reason_word,
                          absl::string_view message);

// Converts `status` for the wire and adds its trailing metadata to
// `context`. A status without a WeChat code or reason (which the handlers
// never return) becomes INTERNAL with reason INTERNAL, so no client fault is
// ever reported as UNKNOWN.
grpc::Status ToGrpcStatus(const absl::Status& status,
                          grpc::ServerContextBase* context);

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_SERVICE_ERRORS_H_
