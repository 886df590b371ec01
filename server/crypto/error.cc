#include "server/crypto/error.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace wxcrypto {
namespace {

// Payload type URLs; private to this file.
constexpr absl::string_view kWxCodeUrl = "type.wxcrypto/wx-error-code";
constexpr absl::string_view kReasonUrl = "type.wxcrypto/error-reason";

}  // namespace

absl::Status WxError(absl::StatusCode code, WxErrorCode wx_code,
                     absl::string_view reason, absl::string_view message) {
  absl::Status status(code, message);
  status.SetPayload(kWxCodeUrl,
                    absl::Cord(absl::StrCat(static_cast<int>(wx_code))));
  status.SetPayload(kReasonUrl, absl::Cord(reason));
  return status;
}

WxErrorCode GetWxErrorCode(const absl::Status& status) {
  auto payload = status.GetPayload(kWxCodeUrl);
  int value = 0;
  if (!payload.has_value() ||
      !absl::SimpleAtoi(std::string(*payload), &value)) {
    return WxErrorCode::kOk;
  }
  return static_cast<WxErrorCode>(value);
}

std::string GetErrorReason(const absl::Status& status) {
  auto payload = status.GetPayload(kReasonUrl);
  return payload.has_value() ? std::string(*payload) : std::string();
}

}  // namespace wxcrypto
