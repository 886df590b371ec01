// Small GoogleTest helpers for absl::Status (Abseil 20220623 ships none).
#ifndef WXCRYPTO_TESTS_TESTING_STATUS_MATCHERS_H_
#define WXCRYPTO_TESTS_TESTING_STATUS_MATCHERS_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/crypto/error.h"

namespace wxcrypto {
namespace testing {

inline const absl::Status& GetStatus(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// Matches an OK absl::Status or absl::StatusOr.
MATCHER(IsOk, "is OK") {
  const absl::Status& status = GetStatus(arg);
  if (!status.ok()) *result_listener << "status is " << status;
  return status.ok();
}

// Matches a status with the given canonical code.
MATCHER_P(StatusIs, code, "has status code " + absl::StatusCodeToString(code)) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code;
}

// Matches a status with the given canonical code, WeChat code and reason.
MATCHER_P3(WxStatusIs, code, wx_code, reason,
           "has status " + absl::StatusCodeToString(code) + " wx-error-code " +
               std::to_string(static_cast<int>(wx_code)) + " reason " +
               std::string(reason)) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code && GetWxErrorCode(status) == wx_code &&
         GetErrorReason(status) == reason;
}

}  // namespace testing
}  // namespace wxcrypto

#define WXCRYPTO_ASSERT_OK_AND_ASSIGN(lhs, expr)   \
  auto lhs##_or = (expr);                          \
  ASSERT_TRUE(lhs##_or.ok()) << lhs##_or.status(); \
  auto lhs = std::move(lhs##_or).value()

#endif  // WXCRYPTO_TESTS_TESTING_STATUS_MATCHERS_H_
