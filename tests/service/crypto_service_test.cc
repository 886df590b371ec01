// Handler semantics and the admission queue without a network; every RPC
// test against the real binary (tests/integration).
#include "server/service/crypto_service.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/test/default_reactor_test_peer.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/config/config.h"
#include "server/crypto/aes_cbc.h"
#include "server/crypto/message_crypt.h"
#include "server/crypto/signature.h"
#include "server/envelope/envelope.h"
#include "tests/testing/byte_buffer.h"
#include "tests/testing/status_matchers.h"

namespace wxcrypto {
namespace {

using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::WxStatusIs;

constexpr char kKey[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
constexpr char kOldKey[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
constexpr char kApp[] = "wx2c2769f8efd9abc2";
constexpr char kMessage[] = "<xml><MsgType><![CDATA[text]]></MsgType></xml>";

// The end of a call made directly on a raw callback method.
struct DirectCall {
  grpc::Status status;
  std::thread::id finished_on;
  grpc::ByteBuffer response;
};

// Calls raw callback methods directly, as gRPC would, and waits for the
// status each finishes with (on a worker thread, or at once when refused).
// Owns the calls' server contexts and buffers: it must outlive the
// service, whose destructor waits for its workers to be done with them.
class DirectCalls {
 public:
  // Starts a call; Wait(id) returns how it ended.
  template <typename Method>
  std::size_t Start(CryptoServiceImpl& service, Method method,
                    const grpc::ByteBuffer& request) {
    auto state = std::make_unique<State>();
    state->request = request;
    State* call = state.get();
    states_.push_back(std::move(state));
    grpc::testing::DefaultReactorTestPeer peer(
        &call->context, [call](grpc::Status status) {
          call->finished.set_value({status, std::this_thread::get_id()});
        });
    EXPECT_EQ(
        (service.*method)(&call->context, &call->request, &call->response),
        peer.reactor());
    return states_.size() - 1;
  }

  DirectCall Wait(std::size_t id) {
    State& call = *states_[id];
    DirectCall result;
    std::future<std::pair<grpc::Status, std::thread::id>> done =
        call.finished.get_future();
    if (done.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      ADD_FAILURE() << "the call was not finished within 30 s";
      result.status = grpc::Status(grpc::StatusCode::UNKNOWN, "not finished");
      return result;
    }
    std::tie(result.status, result.finished_on) = done.get();
    result.response = call.response;
    return result;
  }

  template <typename Method>
  DirectCall Call(CryptoServiceImpl& service, Method method,
                  const grpc::ByteBuffer& request) {
    return Wait(Start(service, method, request));
  }

 private:
  struct State {
    grpc::CallbackServerContext context;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
    std::promise<std::pair<grpc::Status, std::thread::id>> finished;
  };
  std::vector<std::unique_ptr<State>> states_;
};

class CryptoServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::shared_ptr<const Config>> config = Config::FromJson(
        std::string(R"({"apps":[{"app_id":")") + kApp +
        R"(","token":"spamtest","encoding_aes_key":")" + kKey +
        R"(","previous_encoding_aes_keys":[")" + kOldKey +
        R"("],"mode":"MODE_SECURE","max_timestamp_skew_seconds":300}]})");
    ASSERT_THAT(config, IsOk());
    store_.Set(*config);
    ServiceOptions options;
    options.now_unix_seconds = [] { return std::int64_t{1700000000}; };
    service_ = std::make_unique<CryptoServiceImpl>(&store_, nullptr, options);
  }

  v1::DecryptPushRequest Push(const std::string& key) {
    return PushOf(key, kMessage);
  }

  v1::DecryptPushRequest PushOf(const std::string& key,
                                const std::string& message) {
    absl::StatusOr<MessageCrypt> crypt = MessageCrypt::Create({key}, kApp);
    const std::string encrypt = *crypt->Encrypt(message);
    v1::DecryptPushRequest request;
    request.set_app_id(kApp);
    request.set_timestamp("1700000010");
    request.set_nonce("77");
    request.set_encrypt_type("aes");
    request.set_msg_signature(
        ComputeMsgSignature("spamtest", "1700000010", "77", encrypt));
    request.set_body(*BuildPushEnvelope(EnvelopeFormat::kXml, "gh", encrypt));
    return request;
  }

  DirectCalls calls_;  // outlives service_
  ConfigStore store_;
  std::unique_ptr<CryptoServiceImpl> service_;
};

TEST_F(CryptoServiceTest, DecryptPushReportsPreviousKeyIndex) {
  v1::DecryptPushResponse response;
  ASSERT_THAT(service_->HandleDecryptPush(Push(kOldKey), response), IsOk());
  EXPECT_EQ(response.message(), kMessage);
  EXPECT_EQ(response.key_index(), 1u);
  EXPECT_EQ(response.fields().at("MsgType"), "text");
}

TEST_F(CryptoServiceTest, DecryptPushDoesNoAesWorkWhenSignatureIsWrong) {
  v1::DecryptPushRequest request = Push(kKey);
  request.set_msg_signature(std::string(40, '0'));
  const std::uint64_t before = AesCbcOperationCount();
  v1::DecryptPushResponse response;
  EXPECT_THAT(service_->HandleDecryptPush(request, response),
              WxStatusIs(absl::StatusCode::kUnauthenticated,
                         WxErrorCode::kValidateSignatureError,
                         reason::kSignatureMismatch));
  EXPECT_EQ(AesCbcOperationCount(), before);
}

TEST_F(CryptoServiceTest, DecryptPushChecksTimestampWindowBeforeAnythingElse) {
  v1::DecryptPushRequest request = Push(kKey);
  request.set_timestamp("1699999000");
  v1::DecryptPushResponse response;
  EXPECT_THAT(service_->HandleDecryptPush(request, response),
              WxStatusIs(absl::StatusCode::kUnauthenticated,
                         WxErrorCode::kValidateSignatureError,
                         "TIMESTAMP_OUT_OF_WINDOW"));
}

TEST_F(CryptoServiceTest, TimestampWithAnythingButDigitsIsInvalid) {
  for (const char* timestamp : {"1700000010 ", " 1700000010", "1700000010\n",
                                "+1700000010", "1700000010x", "17000000.1"}) {
    v1::DecryptPushRequest request = Push(kKey);
    request.set_timestamp(timestamp);
    v1::DecryptPushResponse response;
    EXPECT_THAT(
        service_->HandleDecryptPush(request, response),
        WxStatusIs(absl::StatusCode::kUnauthenticated,
                   WxErrorCode::kValidateSignatureError, "TIMESTAMP_INVALID"))
        << timestamp;
  }
}

TEST_F(CryptoServiceTest, SecureAppRefusesPlaintextPush) {
  v1::DecryptPushRequest request = Push(kKey);
  request.set_encrypt_type("raw");
  request.set_signature(
      ComputeUrlSignature("spamtest", request.timestamp(), request.nonce()));
  v1::DecryptPushResponse response;
  EXPECT_THAT(service_->HandleDecryptPush(request, response),
              WxStatusIs(absl::StatusCode::kFailedPrecondition,
                         WxErrorCode::kValidateSignatureError,
                         "PLAINTEXT_NOT_ALLOWED"));
}

TEST_F(CryptoServiceTest, ReplyWithKeyIndexIsOpenedByThatKeyOnly) {
  v1::BuildEncryptedReplyRequest request;
  request.set_app_id(kApp);
  request.set_message("reply");
  request.set_envelope_format(v1::ENVELOPE_FORMAT_XML);
  request.set_key_index(1);
  v1::BuildEncryptedReplyResponse response;
  ASSERT_THAT(service_->HandleBuildEncryptedReply(request, response), IsOk());
  EXPECT_EQ(response.timestamp(), "1700000000");
  EXPECT_EQ(response.nonce().size(), 10u);
  absl::StatusOr<DecryptedMessage> opened =
      (*MessageCrypt::Create({kOldKey}, kApp)).Decrypt(response.encrypt());
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(opened->message, "reply");
  EXPECT_FALSE(
      (*MessageCrypt::Create({kKey}, kApp)).Decrypt(response.encrypt()).ok());
}

TEST_F(CryptoServiceTest, UnknownAppIsNotFound) {
  v1::DecryptPushRequest request = Push(kKey);
  request.set_app_id("wxnope");
  v1::DecryptPushResponse response;
  EXPECT_THAT(
      service_->HandleDecryptPush(request, response),
      WxStatusIs(absl::StatusCode::kNotFound,
                 WxErrorCode::kValidateReceiveIdError, "APP_NOT_FOUND"));
}

TEST_F(CryptoServiceTest, VerifyRawDataRequiresSessionKey) {
  v1::VerifyRawDataRequest request;
  request.set_raw_data("{}");
  request.set_signature(std::string(40, 'a'));
  v1::VerifyRawDataResponse response;
  EXPECT_THAT(
      service_->HandleVerifyRawData(request, response),
      WxStatusIs(absl::StatusCode::kInvalidArgument,
                 WxErrorCode::kUserDataIllegalAesKey, "SESSION_KEY_INVALID"));
}

TEST_F(CryptoServiceTest,
       AdmitRefusesPassedDeadlineOversizeOverloadAndDraining) {
  const auto later = std::chrono::system_clock::now() + std::chrono::seconds(5);
  const auto passed =
      std::chrono::system_clock::now() - std::chrono::milliseconds(1);
  EXPECT_THAT(service_->Admit(later, 100, 1), IsOk());
  EXPECT_THAT(service_->Admit(passed, 100, 1),
              WxStatusIs(absl::StatusCode::kDeadlineExceeded,
                         static_cast<WxErrorCode>(-1), "DEADLINE_EXCEEDED"));
  EXPECT_THAT(service_->Admit(later, (1 << 20) + 1, 1),
              WxStatusIs(absl::StatusCode::kResourceExhausted,
                         WxErrorCode::kIllegalBuffer, "REQUEST_TOO_LARGE"));
  EXPECT_THAT(service_->Admit(later, 100, 257),
              WxStatusIs(absl::StatusCode::kResourceExhausted,
                         static_cast<WxErrorCode>(-1), "OVERLOADED"));
  service_->StopAcceptingRequests();
  EXPECT_THAT(service_->Admit(later, 100, 1),
              WxStatusIs(absl::StatusCode::kUnavailable,
                         static_cast<WxErrorCode>(-1), "DRAINING"));
}

TEST_F(CryptoServiceTest, AdmitQueuedRefusesPassedDeadlineCancelledAndLate) {
  const auto later = std::chrono::system_clock::now() + std::chrono::seconds(5);
  const auto passed =
      std::chrono::system_clock::now() - std::chrono::milliseconds(1);
  const absl::Duration waited = absl::Milliseconds(150);
  EXPECT_THAT(service_->AdmitQueued(later, waited, /*late=*/false,
                                    /*cancelled=*/false),
              IsOk());
  EXPECT_THAT(service_->AdmitQueued(passed, waited, /*late=*/false,
                                    /*cancelled=*/false),
              WxStatusIs(absl::StatusCode::kDeadlineExceeded,
                         static_cast<WxErrorCode>(-1), "DEADLINE_EXCEEDED"));
  // A passed deadline is what the caller sees, whatever else holds.
  EXPECT_THAT(service_->AdmitQueued(passed, waited, /*late=*/true,
                                    /*cancelled=*/true),
              WxStatusIs(absl::StatusCode::kDeadlineExceeded,
                         static_cast<WxErrorCode>(-1), "DEADLINE_EXCEEDED"));
  EXPECT_THAT(service_->AdmitQueued(later, waited, /*late=*/true,
                                    /*cancelled=*/true),
              WxStatusIs(absl::StatusCode::kCancelled,
                         static_cast<WxErrorCode>(-1), "CANCELLED"));
  EXPECT_THAT(service_->AdmitQueued(later, waited, /*late=*/true,
                                    /*cancelled=*/false),
              WxStatusIs(absl::StatusCode::kResourceExhausted,
                         static_cast<WxErrorCode>(-1), "OVERLOADED"));
}

grpc::ByteBuffer NotAMessage() {
  // Field 1 (app_id) as a string that is not UTF-8: parsing refuses it.
  const std::string bytes("\x0a\x02\xff\xfe", 4);
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

ServiceOptions QueueOnly() {
  ServiceOptions options;
  options.now_unix_seconds = [] { return std::int64_t{1700000000}; };
  options.run_inline_when_idle = false;
  return options;
}

TEST_F(CryptoServiceTest, QueuedCallIsHandledAndFinishedByAWorker) {
  DirectCalls calls;  // outlives the service
  CryptoServiceImpl service(&store_, nullptr, QueueOnly());
  DirectCall call = calls.Call(service, &CryptoServiceImpl::DecryptPush,
                               testing::SerializeToByteBuffer(Push(kKey)));
  ASSERT_TRUE(call.status.ok()) << call.status.error_message();
  EXPECT_NE(call.finished_on, std::this_thread::get_id());
  v1::DecryptPushResponse response;
  ASSERT_TRUE(grpc::SerializationTraits<v1::DecryptPushResponse>::Deserialize(
                  &call.response, &response)
                  .ok());
  EXPECT_EQ(response.message(), kMessage);

  DirectCall invalid =
      calls.Call(service, &CryptoServiceImpl::DecryptPush, NotAMessage());
  EXPECT_EQ(invalid.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(invalid.finished_on, std::this_thread::get_id());
}

TEST_F(CryptoServiceTest, IdleServiceHandlesCallOnTheReceivingThread) {
  DirectCall call = calls_.Call(*service_, &CryptoServiceImpl::DecryptPush,
                                testing::SerializeToByteBuffer(Push(kKey)));
  ASSERT_TRUE(call.status.ok()) << call.status.error_message();
  EXPECT_EQ(call.finished_on, std::this_thread::get_id());
  v1::DecryptPushResponse response;
  ASSERT_TRUE(grpc::SerializationTraits<v1::DecryptPushResponse>::Deserialize(
                  &call.response, &response)
                  .ok());
  EXPECT_EQ(response.message(), kMessage);
}

TEST_F(CryptoServiceTest, LateCallIsOverloadedWithoutBeingParsedOrHandled) {
  ServiceOptions options = QueueOnly();
  options.worker_threads = 1;
  // Every wait for a worker exceeds it: once a call with others behind it
  // has been taken, the next ones with others behind them are late.
  options.max_queue_delay = absl::Nanoseconds(1);
  DirectCalls calls;  // outlives the service
  CryptoServiceImpl service(&store_, nullptr, options);
  // A push of 50 000 elements keeps the worker busy for tens of
  // milliseconds while the next four calls queue up behind it.
  std::string slow_message = "<xml>";
  for (int i = 0; i < 50000; ++i) absl::StrAppend(&slow_message, "<F", i, "/>");
  slow_message += "</xml>";
  const grpc::ByteBuffer slow =
      testing::SerializeToByteBuffer(PushOf(kKey, slow_message));
  const grpc::ByteBuffer push = testing::SerializeToByteBuffer(Push(kKey));
  const std::uint64_t aes_before = AesCbcOperationCount();
  // Taken alone (the worker wakes within microseconds): handled.
  const std::size_t first =
      calls.Start(service, &CryptoServiceImpl::DecryptPush, slow);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // Taken with others behind it: starts the interval, handled.
  const std::size_t second =
      calls.Start(service, &CryptoServiceImpl::DecryptPush, push);
  // Late: refused before any decryption...
  const std::size_t late_push =
      calls.Start(service, &CryptoServiceImpl::DecryptPush, push);
  // ... or parsing (unparsed, this one would be INVALID_ARGUMENT).
  const std::size_t late_invalid =
      calls.Start(service, &CryptoServiceImpl::DecryptPush, NotAMessage());
  // The last one has nothing behind it: never late.
  const std::size_t last =
      calls.Start(service, &CryptoServiceImpl::DecryptPush, push);

  EXPECT_TRUE(calls.Wait(first).status.ok());
  EXPECT_TRUE(calls.Wait(second).status.ok());
  for (const std::size_t id : {late_push, late_invalid}) {
    const DirectCall late = calls.Wait(id);
    EXPECT_EQ(late.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << late.status.error_message();
    EXPECT_THAT(late.status.error_message(), ::testing::HasSubstr("waited"));
  }
  EXPECT_TRUE(calls.Wait(last).status.ok());
  // One AES pass each for the three pushes handled, none for the late one.
  EXPECT_EQ(AesCbcOperationCount() - aes_before, 3u);
}

TEST_F(CryptoServiceTest, DrainingServiceRefusesCallsOnTheCallingThread) {
  service_->StopAcceptingRequests();
  DirectCall call =
      calls_.Call(*service_, &CryptoServiceImpl::VerifyRawData,
                  testing::SerializeToByteBuffer(v1::VerifyRawDataRequest()));
  EXPECT_EQ(call.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(call.finished_on, std::this_thread::get_id());
}

TEST_F(CryptoServiceTest, ManyCallsAtOnceAreEachFinishedOnce) {
  ServiceOptions options;
  options.now_unix_seconds = [] { return std::int64_t{1700000000}; };
  options.worker_threads = 3;
  options.max_concurrent_requests = 10000;
  // Everything the calls use outlives the service (declared before it).
  const grpc::ByteBuffer request = testing::SerializeToByteBuffer(Push(kKey));
  constexpr int kCalls = 300;
  std::vector<std::unique_ptr<grpc::CallbackServerContext>> contexts;
  std::vector<std::unique_ptr<grpc::testing::DefaultReactorTestPeer>> peers;
  std::vector<grpc::ByteBuffer> responses(kCalls);
  std::atomic<int> ok{0};
  std::atomic<int> finished{0};
  CryptoServiceImpl service(&store_, nullptr, options);
  EXPECT_EQ(service.worker_threads(), 3);
  for (int i = 0; i < kCalls; ++i) {
    contexts.push_back(std::make_unique<grpc::CallbackServerContext>());
    peers.push_back(std::make_unique<grpc::testing::DefaultReactorTestPeer>(
        contexts.back().get(), [&](grpc::Status status) {
          if (status.ok()) ++ok;
          ++finished;
        }));
  }
  std::vector<std::thread> callers;
  for (int t = 0; t < 3; ++t) {
    callers.emplace_back([&, t] {
      for (int i = t; i < kCalls; i += 3) {
        service.DecryptPush(contexts[i].get(), &request, &responses[i]);
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (finished.load() < kCalls &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(finished.load(), kCalls);
  EXPECT_EQ(ok.load(), kCalls);
}

}  // namespace
}  // namespace wxcrypto
