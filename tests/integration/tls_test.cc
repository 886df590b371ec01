// TLS and mTLS against the real server, with a throwaway CA made by the
// openssl command line at test time.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/server_process.h"
#include "tests/testing/status_matchers.h"
#include "wxcrypto/v1/crypto_service.grpc.pb.h"

namespace wxcrypto {
namespace {

using ::wxcrypto::testing::IsOk;
using ::wxcrypto::testing::ServerProcess;
using ::wxcrypto::testing::TempDir;
namespace v1 = ::wxcrypto::v1;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Runs a shell command in `dir`; fails the test if it fails.
void Sh(const TempDir& dir, const std::string& command) {
  const std::string full =
      absl::StrCat("cd '", dir.path(), "' && (", command, ") >/dev/null 2>&1");
  ASSERT_EQ(std::system(full.c_str()), 0) << command;
}

// Makes <name>-ca.{key,pem}.
void MakeCa(const TempDir& dir, const std::string& name) {
  Sh(dir,
     absl::StrCat(
         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
         "-days 2 -subj /CN=",
         name, "-ca -keyout ", name, "-ca.key -out ", name, "-ca.pem"));
}

// Makes <name>.{key,pem} signed by <ca>-ca, valid for 127.0.0.1 and localhost.
void MakeLeaf(const TempDir& dir, const std::string& name,
              const std::string& ca) {
  Sh(dir, absl::StrCat("openssl req -newkey ec -pkeyopt "
                       "ec_paramgen_curve:P-256 -nodes -subj /CN=",
                       name, " -keyout ", name, ".key -out ", name, ".csr"));
  Sh(dir,
     absl::StrCat("printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ",
                  name, ".ext"));
  Sh(dir, absl::StrCat("openssl x509 -req -in ", name, ".csr -CA ", ca,
                       "-ca.pem -CAkey ", ca,
                       "-ca.key -CAcreateserial -days 2 -extfile ", name,
                       ".ext -out ", name, ".pem"));
}

// Calls VerifyRawData (needs no app) over TLS; returns the status.
grpc::Status Call(const ServerProcess& server,
                  const grpc::SslCredentialsOptions& options) {
  auto stub = v1::CryptoService::NewStub(grpc::CreateChannel(
      server.grpc_address(), grpc::SslCredentials(options)));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  v1::VerifyRawDataRequest request;
  request.set_raw_data("{}");
  request.set_signature(std::string(40, '0'));
  request.set_session_key("HyVFkGl5F5OQWJZZaNzBBg==");
  v1::VerifyRawDataResponse response;
  return stub->VerifyRawData(&context, request, &response);
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MakeCa(dir_, "good");
    MakeCa(dir_, "other");
    MakeLeaf(dir_, "server", "good");
    MakeLeaf(dir_, "client", "good");
    MakeLeaf(dir_, "stranger", "other");
  }
  std::string Path(const std::string& name) const {
    return dir_.path() + "/" + name;
  }
  grpc::SslCredentialsOptions Trusting(const std::string& ca) const {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadFile(Path(ca + "-ca.pem"));
    return options;
  }
  grpc::SslCredentialsOptions WithClientCert(const std::string& ca,
                                             const std::string& leaf) const {
    grpc::SslCredentialsOptions options = Trusting(ca);
    options.pem_private_key = ReadFile(Path(leaf + ".key"));
    options.pem_cert_chain = ReadFile(Path(leaf + ".pem"));
    return options;
  }

  TempDir dir_;
};

TEST_F(TlsTest, ServesTls) {
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
      {"--tls-cert=" + Path("server.pem"), "--tls-key=" + Path("server.key")});
  ASSERT_THAT(server, IsOk());
  grpc::Status status = Call(**server, Trusting("good"));
  EXPECT_TRUE(status.ok()) << status.error_message();
  // A client that does not trust the server's CA cannot connect.
  EXPECT_EQ(Call(**server, Trusting("other")).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // Nor can a plaintext client.
  auto plain = v1::CryptoService::NewStub(grpc::CreateChannel(
      (*server)->grpc_address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(2));
  v1::VerifyRawDataResponse response;
  EXPECT_FALSE(
      plain->VerifyRawData(&context, v1::VerifyRawDataRequest(), &response)
          .ok());
}

TEST_F(TlsTest, MutualTlsAcceptsOnlyClientsOfTheConfiguredCa) {
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
      {"--tls-cert=" + Path("server.pem"), "--tls-key=" + Path("server.key"),
       "--tls-client-ca=" + Path("good-ca.pem")});
  ASSERT_THAT(server, IsOk());
  grpc::Status with_cert = Call(**server, WithClientCert("good", "client"));
  EXPECT_TRUE(with_cert.ok()) << with_cert.error_message();
  EXPECT_FALSE(Call(**server, Trusting("good")).ok())
      << "no client certificate";
  EXPECT_FALSE(Call(**server, WithClientCert("good", "stranger")).ok())
      << "wrong CA";
}

TEST_F(TlsTest, PicksUpRotatedCertificateWithoutRestart) {
  // Serve a certificate from the "other" CA first, then rotate the files to
  // one from the "good" CA, as cert-manager would.
  MakeLeaf(dir_, "before", "other");
  Sh(dir_, "cp before.pem live.pem && cp before.key live.key");
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
      {"--tls-cert=" + Path("live.pem"), "--tls-key=" + Path("live.key"),
       "--tls-refresh-seconds=1"});
  ASSERT_THAT(server, IsOk());
  EXPECT_TRUE(Call(**server, Trusting("other")).ok());
  EXPECT_FALSE(Call(**server, Trusting("good")).ok());
  Sh(dir_,
     "cp server.key live.key.new && cp server.pem live.pem.new && "
     "mv live.key.new live.key && mv live.pem.new live.pem");
  bool rotated = false;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!rotated && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    rotated = Call(**server, Trusting("good")).ok();
  }
  EXPECT_TRUE(rotated) << "the new certificate was not served within 20 s";
}

TEST(TlsFlagsTest, ClientCaWithoutServerCertificateIsAUsageError) {
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
      {"--tls-client-ca=/nonexistent.pem"}, std::chrono::seconds(10));
  EXPECT_FALSE(server.ok());
  EXPECT_THAT(std::string(server.status().message()),
              ::testing::HasSubstr("invalid TLS flags"));
}

}  // namespace
}  // namespace wxcrypto
