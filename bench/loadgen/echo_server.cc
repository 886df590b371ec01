// wxcrypto-echo-server: the gRPC floor. Same API flavour (callback), same
// ServerSettings and the same health service as wxcrypto-server; each call
// copies the request payload into the response and finishes inline.
//
//   wxcrypto-echo-server [--listen 127.0.0.1:0]
//                        [--api callback|async] [--cqs 1] [--threads-per-cq 1]
//                        [--mutex-deadlock-detection=true|false] [--work-ns 0]
//
// The defaults are exactly wxcrypto-server's configuration, which is what
// bench/run.sh measures against. The other settings exist for the
// threading experiments of bench/NOTES.md: --api async serves the same
// calls from a completion-queue server with --cqs queues, each polled by
// --threads-per-cq threads; --mutex-deadlock-detection=false turns off
// Abseil's lock-order graph, which Debian's Abseil (built without NDEBUG)
// keeps on; --work-ns makes each call spin that long first, to see how the
// models behave with a handler that does some work.
//
// Prints {"msg":"serving","grpc_port":N} on stderr once ready; stops on
// SIGTERM or SIGINT.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/synchronization/mutex.h"
#include "bench/echo.grpc.pb.h"
#include "server/flags/dashed_flags.h"
#include "server/service/server_settings.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "gRPC listen address");
ABSL_FLAG(std::string, api, "callback",
          "callback (as wxcrypto-server) or async (completion queues)");
ABSL_FLAG(int, cqs, 1, "--api async: completion queues");
ABSL_FLAG(int, threads_per_cq, 1, "--api async: threads polling each queue");
ABSL_FLAG(bool, mutex_deadlock_detection, true,
          "leave Abseil's mutex deadlock detection at its default");
ABSL_FLAG(int, work_ns, 0,
          "CPU time each call spends before answering (a stand-in for a "
          "handler's work)");

namespace {

using ::wxcrypto::bench::Echo;

// Spins for --work-ns of wall time (on a pinned, otherwise idle core: CPU).
void Work() {
  static const auto kWork =
      std::chrono::nanoseconds(absl::GetFlag(FLAGS_work_ns));
  if (kWork.count() == 0) return;
  const auto until = std::chrono::steady_clock::now() + kWork;
  while (std::chrono::steady_clock::now() < until) {
  }
}
using ::wxcrypto::bench::EchoRequest;
using ::wxcrypto::bench::EchoResponse;

class CallbackEcho final : public Echo::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const EchoRequest* request,
                                 EchoResponse* response) override {
    Work();
    response->set_payload(request->payload());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// One call of the completion-queue server: requested, then answered, then
// deleted; each step is one completion-queue event.
class AsyncCall {
 public:
  AsyncCall(Echo::AsyncService* service, grpc::ServerCompletionQueue* cq)
      : service_(service), cq_(cq), responder_(&context_) {
    service_->RequestEcho(&context_, &request_, &responder_, cq_, cq_, this);
  }
  // Advances the call after its pending event completed.
  void Proceed(bool ok) {
    if (answered_ || !ok) {
      delete this;
      return;
    }
    new AsyncCall(service_, cq_);  // Serve the next call on this queue.
    Work();
    response_.set_payload(request_.payload());
    answered_ = true;
    responder_.Finish(response_, grpc::Status::OK, this);
  }

 private:
  Echo::AsyncService* service_;
  grpc::ServerCompletionQueue* cq_;
  grpc::ServerContext context_;
  EchoRequest request_;
  EchoResponse response_;
  grpc::ServerAsyncResponseWriter<EchoResponse> responder_;
  bool answered_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  wxcrypto::ParseDashedCommandLine(argc, argv);
  if (!absl::GetFlag(FLAGS_mutex_deadlock_detection)) {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const bool async = absl::GetFlag(FLAGS_api) == "async";
  CallbackEcho callback_service;
  Echo::AsyncService async_service;
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen),
                           grpc::InsecureServerCredentials(), &port);
  if (async) {
    builder.RegisterService(&async_service);
  } else {
    builder.RegisterService(&callback_service);
  }
  wxcrypto::ApplyServerSettings(wxcrypto::ServerSettings{}, builder);
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> cqs;
  if (async) {
    for (int i = 0; i < absl::GetFlag(FLAGS_cqs); ++i) {
      cqs.push_back(builder.AddCompletionQueue());
    }
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "{\"msg\":\"cannot listen\"}\n");
    return 1;
  }
  std::vector<std::thread> pollers;
  for (auto& cq : cqs) {
    // Enough outstanding requests that no call waits for one.
    for (int i = 0; i < 64; ++i) new AsyncCall(&async_service, cq.get());
    for (int t = 0; t < absl::GetFlag(FLAGS_threads_per_cq); ++t) {
      pollers.emplace_back([queue = cq.get()] {
        void* tag = nullptr;
        bool ok = false;
        while (queue->Next(&tag, &ok))
          static_cast<AsyncCall*>(tag)->Proceed(ok);
      });
    }
  }
  std::fprintf(stderr, "{\"msg\":\"serving\",\"grpc_port\":%d}\n", port);
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  server->Shutdown();
  for (auto& cq : cqs) cq->Shutdown();
  for (auto& poller : pollers) poller.join();
  return 0;
}
