#include "server/service/errors.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "server/crypto/error.h"

namespace wxcrypto {

absl::Status ServiceError(absl::StatusCode code, absl::string_view reason_word,
                          absl::string_view message) {
  return WxError(code, static_cast<WxErrorCode>(kSystemBusyCode), reason_word,
                 message);
}

grpc::Status ToGrpcStatus(const absl::Status& status,
                          grpc::ServerContextBase* context) {
  if (status.ok()) return grpc::Status::OK;
  std::string reason_word = GetErrorReason(status);
  WxErrorCode wx_code = GetWxErrorCode(status);
  auto code = static_cast<grpc::StatusCode>(status.code());
  std::string message(status.message());
  if (reason_word.empty() || wx_code == WxErrorCode::kOk ||
      status.code() == absl::StatusCode::kUnknown) {
    reason_word = std::string(reason::kInternal);
    wx_code = static_cast<WxErrorCode>(kSystemBusyCode);
    code = grpc::StatusCode::INTERNAL;
    message = "internal error";
  }
  context->AddTrailingMetadata("wx-error-code",
                               absl::StrCat(static_cast<int>(wx_code)));
  context->AddTrailingMetadata("error-reason", reason_word);
  return grpc::Status(code, message);
}

}  // namespace wxcrypto
