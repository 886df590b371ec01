// The real server past its capacity. Load beyond it is shed with
// RESOURCE_EXHAUSTED / OVERLOADED (never DEADLINE_EXCEEDED, UNAVAILABLE,
// INTERNAL...), memory stays bounded and throughput comes back after the
// burst; calls whose deadline passes while they wait behind other work are
// answered DEADLINE_EXCEEDED without being handled.
//
// The server gets a small capacity by configuration (one worker thread)
// and heavy requests: a push whose message has thousands of empty elements.
// Parsing them and building the response's field map costs far more per
// byte than receiving the request (one Release worker handles 300-800 such
// 41 KB pushes a second), so that five times its capacity can be offered,
// and refused, from the same two cores.
#include <grpc/grpc.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/crypto/message_crypt.h"
#include "server/crypto/signature.h"
#include "server/envelope/envelope.h"
#include "tests/integration/server_process.h"
#include "tests/testing/byte_buffer.h"
#include "tests/testing/status_matchers.h"
#include "wxcrypto/v1/crypto_service.grpc.pb.h"

namespace wxcrypto {
namespace {

using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::ProcStatus;
using ::wxcrypto::testing::ServerProcess;
using ::wxcrypto::testing::TempDir;
namespace v1 = ::wxcrypto::v1;
using Clock = std::chrono::steady_clock;

// Keeps gRPC initialized for the whole test binary. Otherwise destroying a
// test's last channel shuts gRPC down on the spot, which waits for its
// poller thread, asleep until its next timer (up to about 10 s).
const bool kGrpcKeptInitialized = [] {
  grpc_init();
  return true;
}();

constexpr char kApp[] = "wxoverload0000001";
constexpr char kToken[] = "overloadToken";
constexpr char kKey[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
constexpr char kDecryptPush[] = "/wxcrypto.v1.CryptoService/DecryptPush";
constexpr char kVerifyRawData[] = "/wxcrypto.v1.CryptoService/VerifyRawData";

std::string Config() {
  return absl::StrCat(R"({"apps":[{"app_id":")", kApp, R"(","token":")", kToken,
                      R"(","encoding_aes_key":")", kKey,
                      R"(","mode":"MODE_SECURE"}]})");
}

// A push whose message has `fields` empty elements <F0/>, <F1/>, ... after
// ToUserName: a valid message that is slow to handle for its size (each
// element becomes an entry of the response's field map).
v1::DecryptPushRequest HeavyPush(int fields) {
  std::string message = "<xml><ToUserName><![CDATA[gh_overload]]></ToUserName>";
  for (int i = 0; i < fields; ++i) absl::StrAppend(&message, "<F", i, "/>");
  message += "</xml>";
  const std::string encrypt =
      *(*MessageCrypt::Create({kKey}, kApp)).Encrypt(message);
  v1::DecryptPushRequest request;
  request.set_app_id(kApp);
  request.set_timestamp("1700000000");
  request.set_nonce("1");
  request.set_encrypt_type("aes");
  request.set_msg_signature(
      ComputeMsgSignature(kToken, "1700000000", "1", encrypt));
  request.set_body(
      *BuildPushEnvelope(EnvelopeFormat::kXml, "gh_overload", encrypt));
  return request;
}

// The value of the sample `series` (name and labels exactly as exposed,
// e.g. `wxcrypto_requests_total{code="OK",method="DecryptPush"}`) in the
// server's /metrics, or -1 if it has none.
double MetricValue(const ServerProcess& server, const std::string& series) {
  absl::StatusOr<std::string> metrics =
      testing::HttpGet(server.metrics_port(), "/metrics");
  if (!metrics.ok()) return -1;
  const std::string prefix = series + " ";
  std::size_t at = 0;
  while (at < metrics->size()) {
    std::size_t end = metrics->find('\n', at);
    if (end == std::string::npos) end = metrics->size();
    const std::string line = metrics->substr(at, end - at);
    double value = 0;
    if (line.rfind(prefix, 0) == 0 &&
        absl::SimpleAtod(line.substr(prefix.size()), &value)) {
      return value;
    }
    at = end + 1;
  }
  return -1;
}

// How a set of calls ended.
struct Outcome {
  std::int64_t started = 0;
  std::int64_t ok = 0;
  // RESOURCE_EXHAUSTED with wx-error-code -1 and error-reason OVERLOADED.
  std::int64_t overloaded = 0;
  // Every other end, by "code reason: message".
  std::map<std::string, std::int64_t> others;
  std::map<grpc::StatusCode, std::int64_t> codes;
  double seconds = 0;
  Clock::duration slowest{};

  std::int64_t count(grpc::StatusCode code) const {
    const auto found = codes.find(code);
    return found == codes.end() ? 0 : found->second;
  }
  std::int64_t other_count() const {
    std::int64_t count = 0;
    for (const auto& [_, n] : others) count += n;
    return count;
  }
  std::string Describe() const {
    std::vector<std::string> parts;
    for (const auto& [what, n] : others) {
      parts.push_back(absl::StrCat(n, " x ", what));
    }
    return absl::StrCat(
        "started ", started, " in ", seconds, " s: OK ", ok, ", OVERLOADED ",
        overloaded, ", slowest ",
        std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count(),
        " ms, others {", absl::StrJoin(parts, "; "), "}");
  }
};

// Calls in flight and how they ended. Thread-safe.
class Calls {
 public:
  void Add() {
    std::lock_guard<std::mutex> lock(mu_);
    ++outcome_.started;
    ++outstanding_;
  }
  void Done(const grpc::Status& status, const std::string& wx_code,
            const std::string& reason, Clock::duration took) {
    std::lock_guard<std::mutex> lock(mu_);
    outcome_.slowest = std::max(outcome_.slowest, took);
    ++outcome_.codes[status.error_code()];
    if (status.ok()) {
      ++outcome_.ok;
    } else if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
               wx_code == "-1" && reason == "OVERLOADED") {
      ++outcome_.overloaded;
    } else {
      ++outcome_.others[absl::StrCat(status.error_code(), " ", reason, ": ",
                                     status.error_message())];
    }
    if (--outstanding_ == 0) done_.notify_all();
  }
  // Waits for every call to end (their deadlines bound the wait).
  Outcome Wait(double seconds) {
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return outstanding_ == 0; });
    outcome_.seconds = seconds;
    return outcome_;
  }

 private:
  std::mutex mu_;
  std::condition_variable done_;
  std::int64_t outstanding_ = 0;
  Outcome outcome_;
};

// Calls one method with one pre-serialized request through generic stubs
// (callback API) over `channels` connections, in a closed or open loop.
class LoadClient {
 public:
  LoadClient(const std::string& address, int channels, std::string method,
             grpc::ByteBuffer request)
      : method_(std::move(method)), request_(std::move(request)) {
    for (int c = 0; c < channels; ++c) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // own connection
      stubs_.push_back(
          std::make_unique<grpc::GenericStub>(grpc::CreateCustomChannel(
              address, grpc::InsecureChannelCredentials(), args)));
    }
  }

  // Keeps `concurrency` calls in flight for `duration`.
  Outcome ClosedLoop(int concurrency, Clock::duration duration,
                     std::chrono::milliseconds deadline) {
    Calls calls;
    const Clock::time_point stop = Clock::now() + duration;
    std::function<void(int)> issue = [&](int n) {
      if (Clock::now() >= stop) return;
      Start(calls, n, deadline, [&issue, n] { issue(n); });
    };
    for (int i = 0; i < concurrency; ++i) issue(i);
    std::this_thread::sleep_until(stop);
    return calls.Wait(std::chrono::duration<double>(duration).count());
  }

  // Starts calls at `rate` per second for `duration` on a fixed schedule:
  // every millisecond it starts all the calls due by then, whatever the
  // server does.
  Outcome OpenLoop(double rate, Clock::duration duration,
                   std::chrono::milliseconds deadline) {
    Calls calls;
    const Clock::time_point start = Clock::now();
    const Clock::time_point stop = start + duration;
    std::int64_t issued = 0;
    for (Clock::time_point now = start; now < stop; now = Clock::now()) {
      const auto due = static_cast<std::int64_t>(
          rate * std::chrono::duration<double>(now - start).count());
      for (; issued < due; ++issued) {
        Start(calls, static_cast<int>(issued), deadline, nullptr);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return calls.Wait(
        std::chrono::duration<double>(Clock::now() - start).count());
  }

  // Starts `count` calls now; `calls` must outlive them (Calls::Wait).
  void StartAll(Calls& calls, int count, std::chrono::milliseconds deadline) {
    for (int i = 0; i < count; ++i) Start(calls, i, deadline, nullptr);
  }

 private:
  struct Call {
    grpc::ClientContext context;
    grpc::ByteBuffer response;
    Clock::time_point start;
  };

  // Starts one call on channel n % channels; runs `then` when it ends.
  void Start(Calls& calls, int n, std::chrono::milliseconds deadline,
             std::function<void()> then) {
    auto* call = new Call();
    call->start = Clock::now();
    call->context.set_deadline(std::chrono::system_clock::now() + deadline);
    calls.Add();
    stubs_[static_cast<std::size_t>(n) % stubs_.size()]->UnaryCall(
        &call->context, method_, grpc::StubOptions(), &request_,
        &call->response,
        [&calls, call, then = std::move(then)](grpc::Status status) {
          std::string wx_code;
          std::string reason;
          for (const auto& [key, value] :
               call->context.GetServerTrailingMetadata()) {
            if (key == "wx-error-code") {
              wx_code.assign(value.data(), value.size());
            }
            if (key == "error-reason") {
              reason.assign(value.data(), value.size());
            }
          }
          const Clock::duration took = Clock::now() - call->start;
          delete call;
          // Before Done: `calls` must still be waited for if `then` starts
          // another call.
          if (then) then();
          calls.Done(status, wx_code, reason, took);
        });
  }

  const std::string method_;
  const grpc::ByteBuffer request_;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs_;
};

// The server's delay bound: the default, except under sanitizers, whose
// handlers run 10 to 30 times slower (so every queued call would wait
// longer than 100 ms even below capacity).
std::string MaxQueueDelayFlag() {
#if defined(WXCRYPTO_SANITIZED)
  return "--max-queue-delay-ms=1000";
#else
  return "--max-queue-delay-ms=100";
#endif
}

// The deadline of every call under load. WeChat waits 5 s for a webhook's
// answer, so a gateway's deadline is less. Under sanitizers the client and
// the server's transport are slowed too, and on a loaded machine calls can
// wait seconds before the service even sees them: there the test checks
// the statuses, not the latency.
std::chrono::milliseconds CallDeadline() {
#if defined(WXCRYPTO_SANITIZED)
  return std::chrono::seconds(30);
#else
  return std::chrono::seconds(5);
#endif
}

TEST(OverloadTest, FiveTimesCapacityIsShedWithOverloadedAndThroughputRecovers) {
  TempDir dir;
  dir.WriteFile("config.json", Config());
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
      {"--config=" + dir.path() + "/config.json", "--drain-seconds=0",
       "--worker-threads=1", MaxQueueDelayFlag()});
  ASSERT_THAT(server, IsOk());
  const pid_t pid = (*server)->pid();
  // About 41 KB, 1-3 ms of one worker in a Release build.
  LoadClient client((*server)->grpc_address(), /*channels=*/2, kDecryptPush,
                    testing::SerializeToByteBuffer(HeavyPush(4000)));
  const std::chrono::milliseconds deadline = CallDeadline();

  // Capacity: a closed loop that keeps the worker busy (a call always
  // queued behind the running one, but not for long), after a warm-up.
  constexpr int kClosedLoopCalls = 3;
  const Outcome warmup = client.ClosedLoop(
      kClosedLoopCalls, std::chrono::milliseconds(500), deadline);
  ASSERT_EQ(warmup.ok, warmup.started) << warmup.Describe();
  const Outcome closed =
      client.ClosedLoop(kClosedLoopCalls, std::chrono::seconds(2), deadline);
  ASSERT_EQ(closed.ok, closed.started) << closed.Describe();
  const double capacity = static_cast<double>(closed.ok) / closed.seconds;
  ASSERT_GT(capacity, 5) << closed.Describe();
  const std::int64_t rss_before_kb = ProcStatus(pid, "VmRSS");

  // The burst: six times the capacity for 3 s, open loop, sampling the
  // server's RSS meanwhile.
  std::atomic<bool> sampling{true};
  std::atomic<std::int64_t> rss_max_kb{0};
  std::thread sampler([&] {
    while (sampling.load()) {
      rss_max_kb = std::max(rss_max_kb.load(), ProcStatus(pid, "VmRSS"));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  const Outcome burst =
      client.OpenLoop(6 * capacity, std::chrono::seconds(3), deadline);
  sampling = false;
  sampler.join();
  const std::string summary = absl::StrCat(
      "capacity ", static_cast<int>(capacity), "/s; burst ", burst.Describe(),
      "; RSS ", rss_before_kb, " kB before, ", rss_max_kb.load(), " kB max");
  std::printf("%s\n", summary.c_str());

  // The client really offered at least five times the capacity...
  EXPECT_GE(static_cast<double>(burst.started) / burst.seconds, 5 * capacity)
      << summary;
  // ... and every call was served or shed, with the documented status and
  // metadata, none timed out.
  EXPECT_EQ(burst.other_count(), 0) << summary;
  EXPECT_GT(burst.overloaded, burst.started / 2) << summary;
  EXPECT_GT(burst.ok, 0) << summary;
#if !defined(WXCRYPTO_SANITIZED)
  // Bounded memory: admitted requests are at most --max-concurrent-requests
  // (256) of 41 KB; the rest is gRPC's buffers. (Sanitizer runtimes keep
  // freed memory or shadow it, so RSS says nothing there.)
  EXPECT_LT(rss_max_kb.load(), 160 * 1024) << summary;
#endif

  // Recovery: a closed loop is back to 70% of the capacity within 5 s.
  const Clock::time_point burst_end = Clock::now();
  double recovered = 0;
  while (Clock::now() - burst_end < std::chrono::seconds(5)) {
    const Outcome after = client.ClosedLoop(
        kClosedLoopCalls, std::chrono::milliseconds(500), deadline);
    EXPECT_EQ(after.other_count(), 0) << after.Describe();
    recovered = static_cast<double>(after.ok) / after.seconds;
    if (recovered >= 0.7 * capacity) break;
  }
  EXPECT_GE(recovered, 0.7 * capacity) << summary;

  // The service counted what it shed.
  EXPECT_GE(
      MetricValue(**server, R"(wxcrypto_failures_total{)"
                            R"(method="DecryptPush",reason="OVERLOADED"})"),
      static_cast<double>(burst.overloaded));
}

TEST(OverloadTest, SigtermUnderOverloadFinishesQueuedCallsAndExitsZero) {
  TempDir dir;
  dir.WriteFile("config.json", Config());
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start({"--config=" + dir.path() + "/config.json",
                            "--drain-seconds=0", "--shutdown-timeout-seconds=5",
                            "--worker-threads=1", MaxQueueDelayFlag()});
  ASSERT_THAT(server, IsOk());
  LoadClient client((*server)->grpc_address(), /*channels=*/2, kDecryptPush,
                    testing::SerializeToByteBuffer(HeavyPush(4000)));
  // Far more than one worker handles (a few hundred a second), so that the
  // queue is full when the signal comes. No call starts after it: those
  // would only be refused by the stopping transport.
  Outcome burst;
  std::thread load([&] {
    burst = client.OpenLoop(3000, std::chrono::seconds(1), CallDeadline());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  const Clock::time_point signalled = Clock::now();
  (*server)->Signal(SIGTERM);
  absl::StatusOr<int> exit_code =
      (*server)->WaitForExit(std::chrono::seconds(30));
  const double exit_seconds =
      std::chrono::duration<double>(Clock::now() - signalled).count();
  load.join();
  std::printf("exit %.1f s after SIGTERM; burst %s\n", exit_seconds,
              burst.Describe().c_str());
  ASSERT_THAT(exit_code, IsOk()) << burst.Describe();
  // Exit status 0 (also: no ThreadSanitizer report in the server).
  EXPECT_EQ(*exit_code, 0) << burst.Describe() << "\nserver log:\n"
                           << absl::StrJoin((*server)->LogLines(), "");
  // The queued calls were finished (or, past --shutdown-timeout-seconds,
  // cancelled) instead of holding the shutdown up: 5 s at most, plus room
  // for a loaded machine.
  EXPECT_LT(exit_seconds, 15) << burst.Describe();
  EXPECT_GT(burst.ok, 0) << burst.Describe();
  // Served, shed, or refused by the stopping transport (UNAVAILABLE, or
  // CANCELLED for a stream that raced the shutdown): never a failure of
  // the service.
  for (const auto& [code, count] : burst.codes) {
    EXPECT_THAT(code, ::testing::AnyOf(grpc::StatusCode::OK,
                                       grpc::StatusCode::RESOURCE_EXHAUSTED,
                                       grpc::StatusCode::UNAVAILABLE,
                                       grpc::StatusCode::CANCELLED))
        << count << " calls; " << burst.Describe();
  }
}

TEST(OverloadTest, CallsWhoseDeadlinePassesWhileQueuedAreNeverHandled) {
  TempDir dir;
  dir.WriteFile("config.json", Config());
  // One worker; no lateness, so only deadlines refuse anything.
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
      {"--config=" + dir.path() + "/config.json", "--drain-seconds=0",
       "--worker-threads=1", "--max-queue-delay-ms=600000"});
  ASSERT_THAT(server, IsOk());
  // 80 pushes of about 10 ms each (Release) keep the worker busy for most
  // of a second.
  constexpr int kHeavy = 80;
  LoadClient heavy((*server)->grpc_address(), /*channels=*/1, kDecryptPush,
                   testing::SerializeToByteBuffer(HeavyPush(16000)));
  v1::VerifyRawDataRequest verify;
  verify.set_raw_data("{}");
  verify.set_session_key("HyVFkGl5F5OQWJZZaNzBBg==");
  verify.set_signature(std::string(40, '0'));
  LoadClient light((*server)->grpc_address(), /*channels=*/1, kVerifyRawData,
                   testing::SerializeToByteBuffer(verify));
  {
    // Connect first, so that the light calls below start at once.
    Calls connect;
    light.StartAll(connect, 1, std::chrono::seconds(30));
    ASSERT_EQ(connect.Wait(0).ok, 1);
  }

  Calls heavy_calls;
  heavy.StartAll(heavy_calls, kHeavy, std::chrono::seconds(120));
  // Once the worker has finished ten, the requests (16 MB on one
  // connection, which arrive faster than the worker handles them) are
  // through or nearly so: what remains in the queue is hundreds of
  // milliseconds of work.
  const std::string heavy_ok_series =
      R"(wxcrypto_requests_total{code="OK",method="DecryptPush"})";
  const Clock::time_point give_up = Clock::now() + std::chrono::seconds(60);
  while (MetricValue(**server, heavy_ok_series) < 10 &&
         Clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_GE(MetricValue(**server, heavy_ok_series), 10);
  ASSERT_LT(MetricValue(**server, heavy_ok_series), kHeavy / 2);
  // Calls that give up after 50 ms, queued behind that backlog.
  constexpr int kLight = 20;
  Calls light_calls;
  light.StartAll(light_calls, kLight, std::chrono::milliseconds(50));
  const Outcome light_outcome = light_calls.Wait(0);
  const Outcome heavy_outcome = heavy_calls.Wait(0);

  EXPECT_EQ(heavy_outcome.ok, kHeavy) << heavy_outcome.Describe();
  EXPECT_EQ(light_outcome.count(grpc::StatusCode::DEADLINE_EXCEEDED), kLight)
      << light_outcome.Describe();
  // When the worker reached them, the service answered DEADLINE_EXCEEDED
  // and did not handle them: not one VerifyRawData succeeded or failed in
  // any other way.
  const std::string deadline_series =
      R"(wxcrypto_requests_total{code="DEADLINE_EXCEEDED",method="VerifyRawData"})";
  const Clock::time_point until = Clock::now() + std::chrono::seconds(30);
  while (MetricValue(**server, deadline_series) < kLight &&
         Clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(MetricValue(**server, deadline_series), kLight);
  EXPECT_EQ(MetricValue(**server, R"(wxcrypto_failures_total{)"
                                  R"(method="VerifyRawData",)"
                                  R"(reason="DEADLINE_EXCEEDED"})"),
            kLight);
  EXPECT_EQ(MetricValue(
                **server,
                R"(wxcrypto_requests_total{code="OK",method="VerifyRawData"})"),
            1);  // the connecting call only
  EXPECT_EQ(
      MetricValue(**server, R"(wxcrypto_requests_total{)"
                            R"(code="CANCELLED",method="VerifyRawData"})"),
      0);
}

}  // namespace
}  // namespace wxcrypto
