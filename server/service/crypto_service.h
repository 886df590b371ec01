// wxcrypto.v1.CryptoService on gRPC's callback API.
//
// The gRPC thread that receives an RPC only admits it (Admit: draining,
// overload, deadline, size) and puts it in a bounded queue (WorkQueue); a
// pool of worker threads takes calls in arrival order, checks them again
// (AdmitQueued: a call that waited too long, whose deadline passed or whose
// client went away is answered without being parsed), then parses, runs
// the handler, serializes and finishes the call. So gRPC's threads keep
// reading the network under overload, and the backlog is in the queue,
// where it is bounded and measured, rather than in transport buffers. A
// call that finds the service idle (nothing queued or running) is handled
// on the receiving thread itself, which saves the hand-off.
//
// The work is bounded CPU (at most one AES pass per configured key over a
// bounded message) and never waits on I/O. The Handle* functions hold the
// RPC semantics with no gRPC types in their errors; the callback wrappers
// add the limits, the absl::Status -> grpc::Status conversion, metrics and
// logs.
#ifndef WXCRYPTO_SERVER_SERVICE_CRYPTO_SERVICE_H_
#define WXCRYPTO_SERVER_SERVICE_CRYPTO_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/config/config_store.h"
#include "server/metrics/metrics.h"
#include "server/service/work_queue.h"
#include "wxcrypto/v1/crypto_service.grpc.pb.h"

namespace wxcrypto {

struct ServiceOptions {
  // Largest serialized request handled; larger ones get RESOURCE_EXHAUSTED /
  // REQUEST_TOO_LARGE. (The transport limit is set above this so that the
  // service, not the transport, answers with full metadata.)
  std::size_t max_request_bytes = 1 << 20;
  // Most RPCs admitted at once, waiting in the queue or running; more get
  // RESOURCE_EXHAUSTED / OVERLOADED at once. With max_request_bytes this
  // bounds the memory held by admitted requests.
  int max_concurrent_requests = 256;
  // Threads that run handlers; 0 (or less) = one per CPU the process may
  // run on (WorkQueue::AvailableCpus), and at least 2: a single worker
  // costs about two context switches per call (bench/NOTES.md).
  int worker_threads = 0;
  // Whether a call that finds nothing queued or running is handled on the
  // gRPC thread that received it instead of a worker (cheaper when idle).
  // Tests turn it off to exercise the queue.
  bool run_inline_when_idle = true;
  // Once every call taken from the queue for this long has waited longer
  // than this (a standing queue, not a burst: WorkQueue's lateness), calls
  // that waited longer are answered RESOURCE_EXHAUSTED / OVERLOADED without
  // being parsed or handled, until one comes out under it: the backlog
  // takes longer to serve than callers should wait, and a quick refusal
  // lets them retry elsewhere.
  absl::Duration max_queue_delay = absl::Milliseconds(100);
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
  // `store` and `metrics` (may be null) must outlive the service. Starts the
  // worker threads. Thread-safe.
  CryptoServiceImpl(const ConfigStore* store, Metrics* metrics,
                    ServiceOptions options);
  // Stops the workers (StopWorkers).
  ~CryptoServiceImpl() override;

  // Once set, new RPCs fail with UNAVAILABLE / DRAINING.
  void StopAcceptingRequests() { refusing_.store(true); }

  // Runs every queued call to its end and joins the worker threads; calls
  // that arrive later are refused with UNAVAILABLE / DRAINING. Call it
  // after the gRPC server's Shutdown and Wait (which wait for the queued
  // calls, so the workers must still run then) and before the server is
  // destroyed, so that no worker touches gRPC after it is gone.
  // Idempotent.
  void StopWorkers() { queue_.Stop(); }

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
  // queued now, with `in_flight` requests (this one included) admitted
  // (queued or running); otherwise the status to answer with: UNAVAILABLE /
  // DRAINING once StopAcceptingRequests was called, RESOURCE_EXHAUSTED /
  // OVERLOADED above max_concurrent_requests, DEADLINE_EXCEEDED when the
  // deadline has passed (so no crypto is done for a caller that has given
  // up), and RESOURCE_EXHAUSTED / REQUEST_TOO_LARGE above max_request_bytes.
  absl::Status Admit(std::chrono::system_clock::time_point deadline,
                     std::size_t request_bytes, int in_flight) const;

  // Returns OK if a call taken from the queue after waiting `waited` may be
  // handled; otherwise the status to answer with, before any parsing:
  // DEADLINE_EXCEEDED when its deadline has passed, CANCELLED when the
  // client cancelled it (or went away), and RESOURCE_EXHAUSTED / OVERLOADED
  // when the queue says it is `late` (see max_queue_delay).
  absl::Status AdmitQueued(std::chrono::system_clock::time_point deadline,
                           absl::Duration waited, bool late,
                           bool cancelled) const;

  // Worker threads running handlers.
  int worker_threads() const { return queue_.workers(); }

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
  // One admitted call waiting in the queue (defined in the .cc file).
  template <typename Request, typename Response>
  class QueuedCall;

  // On the gRPC thread: admits the call and queues it (or, when the
  // service is idle, executes it here), or finishes it at once with the
  // refusal.
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Dispatch(
      Method method, grpc::CallbackServerContext* context,
      const grpc::ByteBuffer* request_bytes, grpc::ByteBuffer* response_bytes,
      absl::Status (CryptoServiceImpl::*handler)(const Request&, Response&)
          const);

  // On a worker (or the receiving thread): checks the call again
  // (AdmitQueued), parses the request, runs `handler`, serializes the
  // response and finishes the call.
  template <typename Request, typename Response>
  void Execute(const typename QueuedCall<Request, Response>::Parts& call,
               WorkQueue::Clock::duration waited, bool late);

  // Converts `status`, records metrics and the log line, releases the
  // call's admission and finishes it. `app_id` is for the log only.
  void Finish(Method method, grpc::CallbackServerContext* context,
              grpc::ServerUnaryReactor* reactor, const absl::Status& status,
              absl::string_view app_id, double handler_seconds);

  const ConfigStore* const store_;
  Metrics* const metrics_;
  const ServiceOptions options_;
  std::atomic<bool> refusing_{false};
  std::atomic<int> in_flight_{0};  // admitted calls, queued or running
  // Last member: destroyed (stopped) first, while everything its tasks use
  // is still alive.
  WorkQueue queue_;
};

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_SERVICE_CRYPTO_SERVICE_H_
