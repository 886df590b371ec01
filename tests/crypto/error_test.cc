#include "server/crypto/error.h"

#include "gtest/gtest.h"

namespace wxcrypto {
namespace {

TEST(ErrorTest, CarriesCodeReasonAndMessage) {
  absl::Status status = WxError(
      absl::StatusCode::kUnauthenticated, WxErrorCode::kValidateSignatureError,
      reason::kSignatureMismatch, "signature does not match");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(status.message(), "signature does not match");
  EXPECT_EQ(GetWxErrorCode(status), WxErrorCode::kValidateSignatureError);
  EXPECT_EQ(static_cast<int>(GetWxErrorCode(status)), -40001);
  EXPECT_EQ(GetErrorReason(status), "SIGNATURE_MISMATCH");
}

TEST(ErrorTest, PlainStatusHasNoCodeOrReason) {
  absl::Status status = absl::InvalidArgumentError("plain");
  EXPECT_EQ(GetWxErrorCode(status), WxErrorCode::kOk);
  EXPECT_EQ(GetErrorReason(status), "");
  EXPECT_EQ(GetWxErrorCode(absl::OkStatus()), WxErrorCode::kOk);
}

TEST(ErrorTest, OfficialNumbersMatchTheSamples) {
  EXPECT_EQ(static_cast<int>(WxErrorCode::kParseXmlError), -40002);
  EXPECT_EQ(static_cast<int>(WxErrorCode::kIllegalAesKey), -40004);
  EXPECT_EQ(static_cast<int>(WxErrorCode::kValidateReceiveIdError), -40005);
  EXPECT_EQ(static_cast<int>(WxErrorCode::kDecryptAesError), -40007);
  EXPECT_EQ(static_cast<int>(WxErrorCode::kIllegalBuffer), -40008);
  EXPECT_EQ(static_cast<int>(WxErrorCode::kDecodeBase64Error), -40010);
  EXPECT_EQ(static_cast<int>(WxErrorCode::kUserDataIllegalAesKey), -41001);
  EXPECT_EQ(static_cast<int>(WxErrorCode::kUserDataIllegalIv), -41002);
  EXPECT_EQ(static_cast<int>(WxErrorCode::kUserDataIllegalBuffer), -41003);
  EXPECT_EQ(static_cast<int>(WxErrorCode::kUserDataDecodeBase64Error), -41004);
}

}  // namespace
}  // namespace wxcrypto
