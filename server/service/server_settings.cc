#include "server/service/server_settings.h"

#include <grpcpp/grpcpp.h>

namespace wxcrypto {

void ApplyServerSettings(const ServerSettings& settings,
                         grpc::ServerBuilder& builder) {
  const auto limit = static_cast<int>(settings.max_request_bytes);
  builder.SetMaxReceiveMessageSize(2 * limit + 4096);
  // A reply is at most the request's message, encrypted and base64-encoded.
  builder.SetMaxSendMessageSize(4 * limit + 65536);
}

}  // namespace wxcrypto
