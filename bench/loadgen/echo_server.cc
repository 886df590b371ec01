// wxcrypto-echo-server: the gRPC floor. Same API flavour (callback), same
// ServerSettings and the same health service as wxcrypto-server; each call
// copies the request payload into the response and finishes inline.
//
//   wxcrypto-echo-server [--listen 127.0.0.1:0]
// Prints {"msg":"serving","grpc_port":N} on stderr once ready; stops on
// SIGTERM or SIGINT.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "bench/echo.grpc.pb.h"
#include "server/service/server_settings.h"

namespace {

class EchoService final : public wxcrypto::bench::Echo::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const wxcrypto::bench::EchoRequest* request,
                                 wxcrypto::bench::EchoResponse* response) override {
    response->set_payload(request->payload());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--listen=", 9) == 0) listen = argv[i] + 9;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  EchoService service;
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  wxcrypto::ApplyServerSettings(wxcrypto::ServerSettings{}, builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "{\"msg\":\"cannot listen\"}\n");
    return 1;
  }
  std::fprintf(stderr, "{\"msg\":\"serving\",\"grpc_port\":%d}\n", port);
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  server->Shutdown();
  return 0;
}
