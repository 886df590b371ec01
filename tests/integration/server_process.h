// Runs the real wxcrypto-server binary for integration tests.
#ifndef WXCRYPTO_TESTS_INTEGRATION_SERVER_PROCESS_H_
#define WXCRYPTO_TESTS_INTEGRATION_SERVER_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace wxcrypto {
namespace testing {

// A running wxcrypto-server child process. Its stderr (the JSON log) is
// collected line by line. The destructor kills the process if it still runs.
class ServerProcess {
 public:
  // Starts the server with `args` (besides the binary path), listening on
  // free loopback ports unless `args` says otherwise, and waits until it
  // logs "serving".
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      std::vector<std::string> args,
      std::chrono::milliseconds timeout = std::chrono::seconds(20));

  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }
  std::string grpc_address() const;
  pid_t pid() const { return pid_; }

  // Sends `signal` to the process.
  void Signal(int signal);
  // Waits for the process to exit; returns its exit status (as from
  // waitpid's WEXITSTATUS, or 128 + signal), or an error on timeout.
  absl::StatusOr<int> WaitForExit(std::chrono::milliseconds timeout);

  // Every log line so far.
  std::vector<std::string> LogLines() const;
  // Waits until a log line contains `text`; returns false on timeout.
  bool WaitForLogLine(const std::string& text,
                      std::chrono::milliseconds timeout);

 private:
  ServerProcess() = default;
  void ReadLoop(int fd);

  pid_t pid_ = -1;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  bool exited_ = false;
  int exit_status_ = 0;
  std::thread reader_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  bool eof_ = false;
};

// Returns the body of GET http://127.0.0.1:<port><path>, or an error.
absl::StatusOr<std::string> HttpGet(int port, const std::string& path);

// Returns the number in the "Key: value [kB]" line of /proc/<pid>/status
// (e.g. "VmRSS" in kB, "Threads"), or -1 if there is none.
std::int64_t ProcStatus(pid_t pid, const std::string& key);

// Runs `command` with `input` on stdin; returns {exit status, stdout+stderr}.
absl::StatusOr<std::pair<int, std::string>> RunWithInput(
    const std::string& command, const std::string& input);

// A temporary directory removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  // Writes `contents` to <dir>/<name> atomically (write + rename).
  void WriteFile(const std::string& name, const std::string& contents) const;

 private:
  std::string path_;
};

}  // namespace testing
}  // namespace wxcrypto

#endif  // WXCRYPTO_TESTS_INTEGRATION_SERVER_PROCESS_H_
