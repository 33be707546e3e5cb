// Running programs to completion as a seam: the real one, or a test's whose third call fails
// (shared/STYLE.md). catalogctl drives supervisord, nftables and pgBackRest through it.
#pragma once

#include <string>
#include <vector>

namespace techmoda {

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  // Runs argv (argv[0] an absolute path, arguments already split) with stderr joined to stdout into
  // `output`. Returns the exit code: 128 when it died by a signal, -1 when it could not start.
  virtual int Run(const std::vector<std::string>& argv, std::string* output) = 0;
};

// Forks and execs for real. Thread-safe; lives as long as the process.
ProcessRunner& RealProcessRunner();

}  // namespace techmoda
