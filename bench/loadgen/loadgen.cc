// wxcrypto-loadgen: drives one RPC of wxcrypto-server (or the echo floor)
// and prints one JSON line with achieved RPS, latency percentiles and error
// counts. Every non-OK status counts as an error (unlike h2load, which only
// sees HTTP/2).
//
//   wxcrypto-loadgen --addr 127.0.0.1:50051 --rpc decrypt_push_xml
//       [--message-bytes 1024] [--duration-seconds 10] [--warmup-seconds 1]
//       [--rate 0] [--channels 2] [--concurrency 32] [--client cq|callback]
//
// --rate 0 saturates: every channel keeps --concurrency calls in flight
// (closed loop). --rate R sends R calls per second on a fixed schedule (open
// loop); latency is measured from each call's scheduled time, so a stalled
// server cannot hide queueing (no coordinated omission).
//
// RPCs: decrypt_push_xml, decrypt_push_json, build_reply, decrypt_user_data,
// verify_raw_data (against wxcrypto-server on its embedded demo config),
// echo (against wxcrypto-echo-server; payload = a DecryptPush body of the
// same size). Requests are serialized once and sent as bytes, and responses
// are not parsed (see Target): the JSON line also gives the generator's own
// CPU use, so that a result limited by the generator shows as such.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/echo.grpc.pb.h"
#include "server/crypto/aes_cbc.h"
#include "server/crypto/base64.h"
#include "server/crypto/message_crypt.h"
#include "server/crypto/signature.h"
#include "server/envelope/envelope.h"
#include "server/flags/dashed_flags.h"
#include "wxcrypto/v1/crypto_service.grpc.pb.h"

ABSL_FLAG(std::string, addr, "127.0.0.1:50051", "server address");
ABSL_FLAG(
    std::string, rpc, "decrypt_push_xml",
    "decrypt_push_xml, decrypt_push_json, build_reply, decrypt_user_data, "
    "verify_raw_data or echo");
ABSL_FLAG(int, message_bytes, 1024, "size of the message inside each request");
ABSL_FLAG(double, duration_seconds, 10, "measured time");
ABSL_FLAG(double, warmup_seconds, 1, "unmeasured time before it");
ABSL_FLAG(double, rate, 0, "calls per second; 0 = saturate (closed loop)");
ABSL_FLAG(int, channels, 2, "gRPC channels (separate connections)");
ABSL_FLAG(int, concurrency, 32, "calls in flight per channel when saturating");
ABSL_FLAG(double, deadline_seconds, 5, "deadline of every call");
ABSL_FLAG(std::string, client, "cq",
          "cq (completion queues, one thread each) or callback (gRPC's "
          "callback API)");

namespace wxcrypto {
namespace {

using Clock = std::chrono::steady_clock;

// The demo config's documentation app (server/config/demo_config.cc).
constexpr char kAppId[] = "wxba5fad812f8e6fb9";
constexpr char kToken[] = "AAAAA";
constexpr char kKey[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

// `size` bytes of valid UTF-8 text, mixed ASCII and CJK.
std::string Filler(std::size_t size) {
  std::string text;
  while (text.size() + 13 <= size) text += "hello 你好 ";
  text.append(size - text.size(), 'x');
  return text;
}

std::string XmlMessage(std::size_t size) {
  return absl::StrCat(
      "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></"
      "ToUserName><MsgType><![CDATA[text]]>"
      "</MsgType><Content><![CDATA[",
      Filler(size > 120 ? size - 120 : 1), "]]></Content></xml>");
}

std::string JsonMessage(std::size_t size) {
  return absl::StrCat(
      R"({"ToUserName":"gh_97417a04a28d","MsgType":"text","Content":")",
      Filler(size > 80 ? size - 80 : 1), R"("})");
}

v1::DecryptPushRequest MakePush(std::size_t size, EnvelopeFormat format) {
  MessageCrypt crypt = *MessageCrypt::Create({kKey}, kAppId);
  const std::string message =
      format == EnvelopeFormat::kXml ? XmlMessage(size) : JsonMessage(size);
  const std::string encrypt = *crypt.Encrypt(message);
  v1::DecryptPushRequest request;
  request.set_app_id(kAppId);
  request.set_timestamp("1714112445");
  request.set_nonce("415670741");
  request.set_encrypt_type("aes");
  request.set_msg_signature(
      ComputeMsgSignature(kToken, "1714112445", "415670741", encrypt));
  request.set_body(*BuildPushEnvelope(format, "gh_97417a04a28d", encrypt));
  return request;
}

// Latencies and status counts of the measured window. Thread-safe.
class Recorder {
 public:
  void Record(Clock::time_point start, Clock::time_point end,
              grpc::StatusCode code) {
    if (start < measure_from_ || start >= measure_until_) return;
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(end - start)
            .count();
    std::lock_guard<std::mutex> lock(mu_);
    latencies_us_.push_back(
        static_cast<std::uint32_t>(std::min<std::int64_t>(micros, UINT32_MAX)));
    ++codes_[code];
  }
  void SetWindow(Clock::time_point from, Clock::time_point until) {
    measure_from_ = from;
    measure_until_ = until;
  }
  // `cpu_busy`: the generator's own CPU time over the run's wall time (1.0 =
  // one core fully busy), to tell a saturated server from a saturated
  // generator.
  std::string Json(const std::string& rpc, double seconds, double cpu_busy) {
    std::lock_guard<std::mutex> lock(mu_);
    std::sort(latencies_us_.begin(), latencies_us_.end());
    auto percentile = [&](double p) -> std::uint32_t {
      if (latencies_us_.empty()) return 0;
      std::size_t index =
          static_cast<std::size_t>(p * (latencies_us_.size() - 1));
      return latencies_us_[index];
    };
    std::int64_t ok = codes_[grpc::StatusCode::OK];
    std::int64_t errors = static_cast<std::int64_t>(latencies_us_.size()) - ok;
    std::string error_codes;
    for (const auto& [code, count] : codes_) {
      if (code == grpc::StatusCode::OK) continue;
      absl::StrAppend(&error_codes, error_codes.empty() ? "" : ",", "\"", code,
                      "\":", count);
    }
    return absl::StrFormat(
        R"({"rpc":"%s","message_bytes":%d,"rate":%g,"channels":%d,"concurrency":%d,)"
        R"("duration_s":%.3f,"requests":%d,"ok":%d,"errors":%d,"error_codes":{%s},)"
        R"("rps":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,)"
        R"("loadgen_cpu_busy":%.3f})",
        rpc, absl::GetFlag(FLAGS_message_bytes), absl::GetFlag(FLAGS_rate),
        absl::GetFlag(FLAGS_channels), absl::GetFlag(FLAGS_concurrency),
        seconds, static_cast<std::int64_t>(latencies_us_.size()), ok, errors,
        error_codes, static_cast<double>(latencies_us_.size()) / seconds,
        percentile(0.50), percentile(0.90), percentile(0.99), percentile(0.999),
        latencies_us_.empty() ? 0u : latencies_us_.back(), cpu_busy);
  }

 private:
  Clock::time_point measure_from_;
  Clock::time_point measure_until_;
  std::mutex mu_;
  std::vector<std::uint32_t> latencies_us_;
  std::map<grpc::StatusCode, std::int64_t> codes_;
};

// Issues one call on channel `c`; `done(code)` runs on completion.
using CallFn =
    std::function<void(int c, std::function<void(grpc::StatusCode)> done)>;

// The request of every call, serialized once, and the method it goes to.
// Calls go through a generic stub with byte buffers: the generator neither
// serializes requests nor parses responses, so that its cost per call is
// the same for every RPC (a DecryptPushResponse with its field map costs
// several times an EchoResponse to parse) and as low as it can be: with two
// cores, the generator must not be what saturates first.
struct Target {
  std::string method;
  grpc::ByteBuffer request;
};

template <typename Request>
Target MakeTarget(std::string method, const Request& request) {
  Target target;
  target.method = std::move(method);
  bool own_buffer = false;
  if (!grpc::SerializationTraits<Request>::Serialize(request, &target.request,
                                                     &own_buffer)
           .ok()) {
    std::fprintf(stderr, "cannot serialize the request\n");
    std::exit(2);
  }
  return target;
}

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() +
         std::chrono::milliseconds(
             static_cast<int>(absl::GetFlag(FLAGS_deadline_seconds) * 1000));
}

// --client callback: gRPC's callback API.
CallFn CallbackCaller(std::vector<std::unique_ptr<grpc::GenericStub>>& stubs,
                      const Target& target) {
  struct Call {
    grpc::ClientContext context;
    grpc::ByteBuffer response;
  };
  return [&stubs, &target](int c, std::function<void(grpc::StatusCode)> done) {
    auto* call = new Call();
    call->context.set_deadline(Deadline());
    stubs[c]->UnaryCall(&call->context, target.method, grpc::StubOptions(),
                        &target.request, &call->response,
                        [call, done](grpc::Status status) {
                          done(status.error_code());
                          delete call;
                        });
  };
}

// --client cq: one completion queue per channel, each drained by its own
// thread, which also issues the next call of a closed loop.
class CqClient {
 public:
  CqClient(std::vector<std::unique_ptr<grpc::GenericStub>>& stubs,
           const Target& target)
      : stubs_(stubs), target_(target) {
    for (std::size_t c = 0; c < stubs.size(); ++c) {
      queues_.push_back(std::make_unique<grpc::CompletionQueue>());
    }
    for (auto& queue : queues_) {
      pollers_.emplace_back([q = queue.get()] {
        void* tag = nullptr;
        bool ok = false;
        while (q->Next(&tag, &ok)) {
          auto* call = static_cast<Call*>(tag);
          call->done(call->status.error_code());
          delete call;
        }
      });
    }
  }
  ~CqClient() {
    for (auto& queue : queues_) queue->Shutdown();
    for (auto& poller : pollers_) poller.join();
  }
  CallFn Caller() {
    return [this](int c, std::function<void(grpc::StatusCode)> done) {
      auto* call = new Call();
      call->done = std::move(done);
      call->context.set_deadline(Deadline());
      call->reader = stubs_[c]->PrepareUnaryCall(
          &call->context, target_.method, target_.request, queues_[c].get());
      call->reader->StartCall();
      call->reader->Finish(&call->response, &call->status, call);
    };
  }

 private:
  struct Call {
    grpc::ClientContext context;
    grpc::ByteBuffer response;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<grpc::ByteBuffer>> reader;
    std::function<void(grpc::StatusCode)> done;
  };
  std::vector<std::unique_ptr<grpc::GenericStub>>& stubs_;
  const Target& target_;
  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues_;
  std::vector<std::thread> pollers_;
};

int Run() {
  const std::string rpc = absl::GetFlag(FLAGS_rpc);
  const auto size =
      static_cast<std::size_t>(absl::GetFlag(FLAGS_message_bytes));
  const int channels = std::max(1, absl::GetFlag(FLAGS_channels));
  std::vector<std::shared_ptr<grpc::Channel>> pool;
  for (int c = 0; c < channels; ++c) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one connection each
    args.SetInt("wxcrypto.loadgen.channel", c);
    pool.push_back(grpc::CreateCustomChannel(
        absl::GetFlag(FLAGS_addr), grpc::InsecureChannelCredentials(), args));
  }
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  for (auto& channel : pool)
    stubs.push_back(std::make_unique<grpc::GenericStub>(channel));

  constexpr char kService[] = "/wxcrypto.v1.CryptoService/";
  Target target;
  if (rpc == "decrypt_push_xml" || rpc == "decrypt_push_json") {
    target = MakeTarget(
        absl::StrCat(kService, "DecryptPush"),
        MakePush(size, rpc == "decrypt_push_xml" ? EnvelopeFormat::kXml
                                                 : EnvelopeFormat::kJson));
  } else if (rpc == "build_reply") {
    v1::BuildEncryptedReplyRequest request;
    request.set_app_id(kAppId);
    request.set_message(XmlMessage(size));
    request.set_envelope_format(v1::ENVELOPE_FORMAT_XML);
    target = MakeTarget(absl::StrCat(kService, "BuildEncryptedReply"), request);
  } else if (rpc == "decrypt_user_data") {
    const std::string key(16, 'k');
    const std::string iv(16, 'i');
    const std::string plaintext = absl::StrCat(
        R"({"nickName":")", Filler(size > 80 ? size - 80 : 1),
        R"(","watermark":{"appid":"wx4f4bc4dec97d474b","timestamp":1477314187}})");
    v1::DecryptUserDataRequest request;
    request.set_app_id("wx4f4bc4dec97d474b");
    request.set_session_key(Base64Encode(key));
    request.set_iv(Base64Encode(iv));
    request.set_encrypted_data(
        Base64Encode(*AesCbcPkcs7Encrypt(key, iv, plaintext)));
    target = MakeTarget(absl::StrCat(kService, "DecryptUserData"), request);
  } else if (rpc == "verify_raw_data") {
    v1::VerifyRawDataRequest request;
    request.set_raw_data(JsonMessage(size));
    request.set_session_key("HyVFkGl5F5OQWJZZaNzBBg==");
    request.set_signature(Sha1Hex(request.raw_data() + request.session_key()));
    target = MakeTarget(absl::StrCat(kService, "VerifyRawData"), request);
  } else if (rpc == "echo") {
    bench::EchoRequest request;
    request.set_payload(MakePush(size, EnvelopeFormat::kXml).body());
    target = MakeTarget("/wxcrypto.bench.Echo/Echo", request);
  } else {
    std::fprintf(stderr, "unknown --rpc %s\n", rpc.c_str());
    return 2;
  }
  std::unique_ptr<CqClient> cq_client;
  CallFn call;
  if (absl::GetFlag(FLAGS_client) == "cq") {
    cq_client = std::make_unique<CqClient>(stubs, target);
    call = cq_client->Caller();
  } else if (absl::GetFlag(FLAGS_client) == "callback") {
    call = CallbackCaller(stubs, target);
  } else {
    std::fprintf(stderr, "unknown --client %s\n",
                 absl::GetFlag(FLAGS_client).c_str());
    return 2;
  }

  Recorder recorder;
  rusage setup_usage{};
  getrusage(RUSAGE_SELF, &setup_usage);
  const double setup_cpu = static_cast<double>(setup_usage.ru_utime.tv_sec +
                                               setup_usage.ru_stime.tv_sec) +
                           static_cast<double>(setup_usage.ru_utime.tv_usec +
                                               setup_usage.ru_stime.tv_usec) /
                               1e6;
  const auto warmup = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(absl::GetFlag(FLAGS_warmup_seconds)));
  const auto duration = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(absl::GetFlag(FLAGS_duration_seconds)));
  const Clock::time_point start = Clock::now();
  const Clock::time_point measure_from = start + warmup;
  const Clock::time_point stop_at = measure_from + duration;
  recorder.SetWindow(measure_from, stop_at);

  std::atomic<std::int64_t> outstanding{0};
  std::mutex mu;
  std::condition_variable drained;
  auto finished = [&] {
    if (outstanding.fetch_sub(1) == 1) {
      std::lock_guard<std::mutex> lock(mu);
      drained.notify_all();
    }
  };

  const double rate = absl::GetFlag(FLAGS_rate);
  // Closed loop: each completion starts the next call on its channel. Lives
  // until every call has finished.
  std::function<void(int)> issue;
  if (rate <= 0) {
    issue = [&](int c) {
      const Clock::time_point sent = Clock::now();
      if (sent >= stop_at) return;
      ++outstanding;
      call(c, [&, c, sent](grpc::StatusCode code) {
        recorder.Record(sent, Clock::now(), code);
        issue(c);
        finished();
      });
    };
    for (int c = 0; c < channels; ++c) {
      for (int i = 0; i < absl::GetFlag(FLAGS_concurrency); ++i) issue(c);
    }
  } else {
    // Open loop on a fixed schedule; latency from the scheduled time.
    const auto interval = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(1.0 / rate));
    std::int64_t n = 0;
    for (Clock::time_point next = start; next < stop_at;
         next += interval, ++n) {
      std::this_thread::sleep_until(next);
      ++outstanding;
      const Clock::time_point scheduled = next;
      call(static_cast<int>(n % channels),
           [&, scheduled](grpc::StatusCode code) {
             recorder.Record(scheduled, Clock::now(), code);
             finished();
           });
    }
  }
  std::this_thread::sleep_until(stop_at);
  {
    std::unique_lock<std::mutex> lock(mu);
    drained.wait_for(lock, std::chrono::seconds(30),
                     [&] { return outstanding.load() == 0; });
  }
  const double wall =
      std::chrono::duration<double>(Clock::now() - start).count();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double cpu =
      static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
      static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) /
          1e6;
  std::printf("%s\n",
              recorder
                  .Json(rpc, std::chrono::duration<double>(duration).count(),
                        wall > 0 ? (cpu - setup_cpu) / wall : 0)
                  .c_str());
  return 0;
}

}  // namespace
}  // namespace wxcrypto

int main(int argc, char** argv) {
  wxcrypto::ParseDashedCommandLine(argc, argv);
  return wxcrypto::Run();
}
