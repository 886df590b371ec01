// wxcrypto.v1.CryptoService on gRPC's callback API.
//
// Each RPC runs inline on the gRPC thread that received it and finishes
// before returning: the work is bounded CPU (at most one AES pass per
// configured key over a bounded message) and never waits on I/O, so no
// handler blocks. The Handle* functions hold the RPC semantics with no gRPC
// types in their errors; the callback wrappers add the limits, the
// absl::Status -> grpc::Status conversion, metrics and logs.
#ifndef WXCRYPTO_SERVER_SERVICE_CRYPTO_SERVICE_H_
#define WXCRYPTO_SERVER_SERVICE_CRYPTO_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "server/config/config_store.h"
#include "server/metrics/metrics.h"
#include "wxcrypto/v1/crypto_service.grpc.pb.h"

namespace wxcrypto {

struct ServiceOptions {
  // Largest serialized request handled; larger ones get RESOURCE_EXHAUSTED /
  // REQUEST_TOO_LARGE. (The transport limit is set above this so that the
  // service, not the transport, answers with full metadata.)
  std::size_t max_request_bytes = 1 << 20;
  // Most RPCs in a handler at once; more get RESOURCE_EXHAUSTED / OVERLOADED.
  int max_concurrent_requests = 256;
  // Current Unix time in seconds; replaceable for tests.
  std::function<std::int64_t()> now_unix_seconds;
};

// The generated service with every method in its raw (ByteBuffer) callback
// form: the service measures and parses requests itself, so that an
// oversized request or one gRPC's parser would refuse (e.g. a string field
// that is not UTF-8) still gets a documented status with its metadata.
using RawCryptoService =
    wxcrypto::v1::CryptoService::WithRawCallbackMethod_DecryptPush<
        wxcrypto::v1::CryptoService::WithRawCallbackMethod_BuildEncryptedReply<
            wxcrypto::v1::CryptoService::WithRawCallbackMethod_DecryptUserData<
                wxcrypto::v1::CryptoService::
                    WithRawCallbackMethod_VerifyRawData<
                        wxcrypto::v1::CryptoService::
                            WithRawCallbackMethod_VerifyUrl<
                                wxcrypto::v1::CryptoService::Service>>>>>;

class CryptoServiceImpl final : public RawCryptoService {
 public:
  // `store` and `metrics` must outlive the service. Thread-safe.
  CryptoServiceImpl(const ConfigStore* store, Metrics* metrics,
                    ServiceOptions options);

  // Once set, new RPCs fail with UNAVAILABLE / DRAINING.
  void StopAcceptingRequests() { refusing_.store(true); }

  grpc::ServerUnaryReactor* DecryptPush(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* BuildEncryptedReply(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* DecryptUserData(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* VerifyRawData(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* VerifyUrl(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;

  // Returns OK if a request of `request_bytes` with `deadline` may be
  // handled now, with `in_flight` requests (this one included) in handlers;
  // otherwise the status to answer with: UNAVAILABLE / DRAINING once
  // StopAcceptingRequests was called, RESOURCE_EXHAUSTED / OVERLOADED above
  // max_concurrent_requests, DEADLINE_EXCEEDED when the deadline has passed
  // (so no crypto is done for a caller that has given up), and
  // RESOURCE_EXHAUSTED / REQUEST_TOO_LARGE above max_request_bytes.
  absl::Status Admit(std::chrono::system_clock::time_point deadline,
                     std::size_t request_bytes, int in_flight) const;

  // The RPC semantics, without transport concerns. Public for tests.
  absl::Status HandleDecryptPush(
      const wxcrypto::v1::DecryptPushRequest& request,
      wxcrypto::v1::DecryptPushResponse& response) const;
  absl::Status HandleBuildEncryptedReply(
      const wxcrypto::v1::BuildEncryptedReplyRequest& request,
      wxcrypto::v1::BuildEncryptedReplyResponse& response) const;
  absl::Status HandleDecryptUserData(
      const wxcrypto::v1::DecryptUserDataRequest& request,
      wxcrypto::v1::DecryptUserDataResponse& response) const;
  absl::Status HandleVerifyRawData(
      const wxcrypto::v1::VerifyRawDataRequest& request,
      wxcrypto::v1::VerifyRawDataResponse& response) const;
  absl::Status HandleVerifyUrl(const wxcrypto::v1::VerifyUrlRequest& request,
                               wxcrypto::v1::VerifyUrlResponse& response) const;

 private:
  // Parses the request, runs `handler` under the service's limits,
  // serializes the response and finishes the RPC.
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Run(
      Method method, grpc::CallbackServerContext* context,
      const grpc::ByteBuffer* request_bytes, grpc::ByteBuffer* response_bytes,
      absl::Status (CryptoServiceImpl::*handler)(const Request&, Response&)
          const);

  const ConfigStore* const store_;
  Metrics* const metrics_;
  const ServiceOptions options_;
  std::atomic<bool> refusing_{false};
  std::atomic<int> in_flight_{0};
};

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_SERVICE_CRYPTO_SERVICE_H_
