#include "server/service/errors.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/test/server_context_test_spouse.h>

#include <map>
#include <string>

#include "gtest/gtest.h"
#include "server/crypto/error.h"

namespace wxcrypto {
namespace {

// A ServerContext whose trailing metadata is read back through gRPC's
// test spouse.
class RecordingContext : public grpc::ServerContext {
 public:
  std::string Trailer(const std::string& key) {
    const auto all = trailers();
    auto it = all.find(key);
    return it == all.end() ? "" : it->second;
  }
  std::multimap<std::string, std::string> trailers() {
    return grpc::testing::ServerContextTestSpouse(this).GetTrailingMetadata();
  }
};

TEST(ErrorsTest, ConvertsCodeMessageAndMetadata) {
  RecordingContext context;
  grpc::Status status = ToGrpcStatus(
      WxError(absl::StatusCode::kUnauthenticated,
              WxErrorCode::kValidateSignatureError, reason::kSignatureMismatch,
              "signature does not match"),
      &context);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), "signature does not match");
  EXPECT_EQ(context.Trailer("wx-error-code"), "-40001");
  EXPECT_EQ(context.Trailer("error-reason"), "SIGNATURE_MISMATCH");
}

TEST(ErrorsTest, StatusWithoutPayloadBecomesInternalWithoutItsMessage) {
  RecordingContext context;
  grpc::Status status = ToGrpcStatus(
      absl::InvalidArgumentError("detail that may be sensitive"), &context);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(status.error_message(), "internal error");
  EXPECT_EQ(context.Trailer("wx-error-code"), "-1");
  EXPECT_EQ(context.Trailer("error-reason"), "INTERNAL");
}

TEST(ErrorsTest, OkHasNoMetadata) {
  RecordingContext context;
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus(), &context).ok());
  EXPECT_TRUE(context.trailers().empty());
}

TEST(ErrorsTest, ServiceErrorUsesSystemBusyCode) {
  absl::Status status = ServiceError(absl::StatusCode::kResourceExhausted,
                                     reason::kOverloaded, "busy");
  EXPECT_EQ(static_cast<int>(GetWxErrorCode(status)), -1);
  EXPECT_EQ(GetErrorReason(status), "OVERLOADED");
}

}  // namespace
}  // namespace wxcrypto
