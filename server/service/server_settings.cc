#include "server/service/server_settings.h"

#include <grpcpp/grpcpp.h>

namespace wxcrypto {

void ApplyServerSettings(const ServerSettings& settings,
                         grpc::ServerBuilder& builder) {
  const auto limit = static_cast<int>(settings.max_request_bytes);
  builder.SetMaxReceiveMessageSize(2 * limit + 4096);
  // A reply is at most the request's message, encrypted and base64-encoded.
  builder.SetMaxSendMessageSize(4 * limit + 65536);
  // Gateways hold long-lived HTTP/2 connections; closing each one after a
  // few minutes (gracefully: in-flight calls finish) makes clients reconnect
  // and so spreads them over replicas added by the autoscaler.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, 5 * 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, 30 * 1000);
  // A connection that does not complete the HTTP/2 (and TLS) handshake in
  // 10 s is closed, so silent or half-open clients cannot pile up (gRPC's
  // default is 120 s).
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 10 * 1000);
}

}  // namespace wxcrypto
