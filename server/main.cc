// wxcrypto-server: flags, wiring, signals.
//
//   wxcrypto-server [--config FILE] [--listen ADDR] [--metrics-listen ADDR]
//                   [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]
//
// Without --config the server runs on an embedded demo config holding the
// public documentation's test apps, and says so loudly. On SIGTERM or SIGINT
// the health service reports NOT_SERVING at once, the server keeps serving
// for --drain-seconds so load balancers can move traffic away, then shuts
// down, giving in-flight calls up to --shutdown-timeout-seconds; exit 0.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/config/config.h"
#include "server/config/config_store.h"
#include "server/config/config_watcher.h"
#include "server/config/demo_config.h"
#include "server/crypto/ssl_util.h"
#include "server/flags/dashed_flags.h"
#include "server/log/log.h"
#include "server/metrics/metrics.h"
#include "server/service/crypto_service.h"
#include "server/service/server_settings.h"

ABSL_FLAG(std::string, config, "",
          "JSON config file (wxcrypto.v1.Config); reloaded when it changes. "
          "Empty: the embedded demo config (public test keys, never for "
          "production).");
ABSL_FLAG(std::string, listen, "0.0.0.0:50051", "gRPC listen address");
ABSL_FLAG(std::string, metrics_listen, "0.0.0.0:9464",
          "Prometheus /metrics listen address; empty disables it");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain: serve TLS");
ABSL_FLAG(std::string, tls_key, "", "PEM private key for --tls-cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle: require client certificates signed by it (mTLS)");
ABSL_FLAG(int, tls_refresh_seconds, 10,
          "How often the TLS files are checked for a rotated certificate");
ABSL_FLAG(bool, reflection, false, "Serve gRPC server reflection");
ABSL_FLAG(std::int64_t, max_request_bytes, 1 << 20,
          "Largest request handled; larger ones get RESOURCE_EXHAUSTED");
ABSL_FLAG(int, max_concurrent_requests, 256,
          "Most requests admitted at once, waiting for a worker or running; "
          "more get RESOURCE_EXHAUSTED (OVERLOADED) at once");
ABSL_FLAG(int, worker_threads, 0,
          "Threads running the handlers; 0 = one per CPU the process may "
          "run on, at least 2");
ABSL_FLAG(double, max_queue_delay_ms, 100,
          "Once every request taken from the queue for this long has waited "
          "longer than this for a worker (a standing queue, not a burst), "
          "requests that waited longer get RESOURCE_EXHAUSTED (OVERLOADED) "
          "instead of being handled");
ABSL_FLAG(double, drain_seconds, 5,
          "On SIGTERM, seconds to keep serving while health says NOT_SERVING");
ABSL_FLAG(double, shutdown_timeout_seconds, 10,
          "After draining, seconds in-flight calls get before cancellation");
ABSL_FLAG(double, config_poll_seconds, 1,
          "How often the config file is checked");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");

namespace wxcrypto {
namespace {

constexpr char kServiceName[] = "wxcrypto.v1.CryptoService";

#ifndef WXCRYPTO_VERSION
#define WXCRYPTO_VERSION "dev"
#endif

std::vector<std::string> AppIds(const Config& config) {
  return config.app_ids();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeCredentials() {
  const std::string cert = absl::GetFlag(FLAGS_tls_cert);
  const std::string key = absl::GetFlag(FLAGS_tls_key);
  const std::string client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  if (cert.empty() && key.empty()) {
    if (!client_ca.empty()) {
      return absl::InvalidArgumentError(
          "--tls-client-ca needs --tls-cert and --tls-key");
    }
    return grpc::InsecureServerCredentials();
  }
  if (cert.empty() || key.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key must be given together");
  }
  // The provider re-reads the files when they change, so a rotated
  // certificate (cert-manager) is served without a restart.
  const int refresh_seconds = absl::GetFlag(FLAGS_tls_refresh_seconds);
  if (refresh_seconds < 1) {
    return absl::InvalidArgumentError(
        "--tls-refresh-seconds must be at least 1");
  }
  const auto refresh_interval = static_cast<unsigned int>(refresh_seconds);
  auto provider = client_ca.empty()
                      ? std::make_shared<
                            grpc::experimental::FileWatcherCertificateProvider>(
                            key, cert, refresh_interval)
                      : std::make_shared<
                            grpc::experimental::FileWatcherCertificateProvider>(
                            key, cert, client_ca, refresh_interval);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!client_ca.empty()) {
    options.watch_root_certs();
    options.set_cert_request_type(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

int Serve() {
  LogLevel level = LogLevel::kInfo;
  if (!ParseLogLevel(absl::GetFlag(FLAGS_log_level), level)) {
    Log(LogLevel::kError, "invalid --log-level",
        {{"value", absl::GetFlag(FLAGS_log_level)}});
    return 2;
  }
  SetLogLevel(level);

  // Signals are taken synchronously by sigwait below; block them before any
  // thread starts so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Metrics metrics(WXCRYPTO_VERSION, CryptoProviderName());
  ConfigStore store;
  std::unique_ptr<ConfigWatcher> watcher;
  const std::string config_path = absl::GetFlag(FLAGS_config);
  if (config_path.empty()) {
    absl::StatusOr<std::shared_ptr<const Config>> demo =
        Config::FromJson(DemoConfigJson());
    if (!demo.ok()) {
      Log(LogLevel::kError, "embedded demo config is invalid",
          {{"error", std::string(demo.status().message())}});
      return 1;
    }
    store.Set(*demo);
    Log(LogLevel::kWarning,
        "NO --config GIVEN: SERVING THE EMBEDDED DEMO CONFIG. Its apps use the "
        "public documentation's test keys. Never use it in production.",
        {{"apps", static_cast<std::int64_t>((*demo)->app_count())}});
  } else {
    ConfigWatcherOptions options;
    options.poll_interval =
        absl::Seconds(absl::GetFlag(FLAGS_config_poll_seconds));
    options.on_reload = [&metrics, &store,
                         config_path](const absl::Status& result) {
      metrics.RecordConfigReload(result.ok());
      if (result.ok()) {
        std::shared_ptr<const Config> config = store.Get();
        metrics.SetConfig(store.generation(), AppIds(*config));
        Log(LogLevel::kInfo, "config reloaded",
            {{"path", config_path},
             {"generation", static_cast<std::int64_t>(store.generation())},
             {"apps", static_cast<std::int64_t>(config->app_count())}});
      } else {
        Log(LogLevel::kError, "config reload failed; keeping the old config",
            {{"path", config_path}, {"error", std::string(result.message())}});
      }
    };
    absl::StatusOr<std::unique_ptr<ConfigWatcher>> started =
        ConfigWatcher::Start(config_path, &store, options);
    if (!started.ok()) {
      Log(LogLevel::kError, "cannot load config",
          {{"path", config_path},
           {"error", std::string(started.status().message())}});
      return 1;
    }
    watcher = *std::move(started);
    Log(LogLevel::kInfo, "config loaded",
        {{"path", config_path},
         {"apps", static_cast<std::int64_t>(store.Get()->app_count())}});
  }
  metrics.SetConfig(store.generation(), AppIds(*store.Get()));

  const std::string metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  if (!metrics_listen.empty()) {
    absl::Status exposer = metrics.StartExposer(metrics_listen);
    if (!exposer.ok()) {
      Log(LogLevel::kError, "cannot serve metrics",
          {{"error", std::string(exposer.message())}});
      return 1;
    }
  }

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeCredentials();
  if (!credentials.ok()) {
    Log(LogLevel::kError, "invalid TLS flags",
        {{"error", std::string(credentials.status().message())}});
    return 2;
  }

  ServiceOptions service_options;
  const std::int64_t max_request_bytes = absl::GetFlag(FLAGS_max_request_bytes);
  if (max_request_bytes <= 0 || max_request_bytes > (64 << 20)) {
    Log(LogLevel::kError, "--max-request-bytes must be 1 to 64 MiB");
    return 2;
  }
  service_options.max_request_bytes =
      static_cast<std::size_t>(max_request_bytes);
  service_options.max_concurrent_requests =
      absl::GetFlag(FLAGS_max_concurrent_requests);
  if (service_options.max_concurrent_requests < 1) {
    Log(LogLevel::kError, "--max-concurrent-requests must be at least 1");
    return 2;
  }
  service_options.worker_threads = absl::GetFlag(FLAGS_worker_threads);
  if (service_options.worker_threads < 0 ||
      service_options.worker_threads > 1024) {
    Log(LogLevel::kError, "--worker-threads must be 0 (one per CPU) to 1024");
    return 2;
  }
  const double max_queue_delay_ms = absl::GetFlag(FLAGS_max_queue_delay_ms);
  if (!(max_queue_delay_ms > 0 && max_queue_delay_ms <= 3600 * 1000)) {
    Log(LogLevel::kError, "--max-queue-delay-ms must be above 0, at most 1 h");
    return 2;
  }
  service_options.max_queue_delay =
      absl::Microseconds(static_cast<std::int64_t>(1000 * max_queue_delay_ms));
  service_options.now_unix_seconds = [] {
    return absl::ToUnixSeconds(absl::Now());
  };
  CryptoServiceImpl service(&store, &metrics, service_options);

  grpc::EnableDefaultHealthCheckService(true);
  if (absl::GetFlag(FLAGS_reflection)) {
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  }
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), *credentials,
                           &grpc_port);
  builder.RegisterService(&service);
  ServerSettings settings;
  settings.max_request_bytes = service_options.max_request_bytes;
  ApplyServerSettings(settings, builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || grpc_port == 0) {
    Log(LogLevel::kError, "cannot listen",
        {{"address", absl::GetFlag(FLAGS_listen)}});
    return 1;
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus(true);
  health->SetServingStatus(kServiceName, true);
  Log(LogLevel::kInfo, "serving",
      {{"grpc_port", static_cast<std::int64_t>(grpc_port)},
       {"metrics_port", static_cast<std::int64_t>(metrics.port())},
       {"tls", !absl::GetFlag(FLAGS_tls_cert).empty()},
       {"mtls", !absl::GetFlag(FLAGS_tls_client_ca).empty()},
       {"worker_threads", static_cast<std::int64_t>(service.worker_threads())},
       {"crypto_provider", std::string(CryptoProviderName())},
       {"version", std::string(WXCRYPTO_VERSION)}});

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  // Health first, then the log line that says so (tests wait for it).
  health->SetServingStatus(kServiceName, false);
  health->SetServingStatus(false);
  Log(LogLevel::kInfo, "shutting down: health is NOT_SERVING, draining",
      {{"signal", static_cast<std::int64_t>(signal_number)},
       {"drain_seconds",
        static_cast<std::int64_t>(absl::GetFlag(FLAGS_drain_seconds))}});
  absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_drain_seconds)));
  const auto deadline =
      std::chrono::system_clock::now() +
      std::chrono::milliseconds(static_cast<std::int64_t>(
          1000 * absl::GetFlag(FLAGS_shutdown_timeout_seconds)));
  server->Shutdown(deadline);
  service.StopAcceptingRequests();
  server->Wait();
  service.StopWorkers();
  if (watcher != nullptr) watcher->Stop();
  Log(LogLevel::kInfo, "stopped");
  return 0;
}

}  // namespace
}  // namespace wxcrypto

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "wxcrypto-server: WeChat webhook and open-data crypto over gRPC.\n"
      "Usage: wxcrypto-server [--config FILE] [--listen ADDR] "
      "[--metrics-listen ADDR] [--tls-cert FILE --tls-key FILE "
      "[--tls-client-ca FILE]]");
  wxcrypto::ParseDashedCommandLine(argc, argv);
  return wxcrypto::Serve();
}
