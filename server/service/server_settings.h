// The gRPC server settings shared by wxcrypto-server and the benchmark's
// echo server (bench/loadgen), so that the echo floor is measured with
// exactly the settings the real server runs with.
#ifndef WXCRYPTO_SERVER_SERVICE_SERVER_SETTINGS_H_
#define WXCRYPTO_SERVER_SERVICE_SERVER_SETTINGS_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>

namespace wxcrypto {

struct ServerSettings {
  // The service's own request limit (--max-request-bytes).
  std::size_t max_request_bytes = 1 << 20;
};

// Applies message size limits and transport options to `builder`. The
// transport refuses only what is far beyond the service's own limit, so that
// an oversized request normally gets the service's answer with its metadata
// (RESOURCE_EXHAUSTED / REQUEST_TOO_LARGE).
void ApplyServerSettings(const ServerSettings& settings,
                         grpc::ServerBuilder& builder);

}  // namespace wxcrypto

#endif  // WXCRYPTO_SERVER_SERVICE_SERVER_SETTINGS_H_
