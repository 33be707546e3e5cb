// libFuzzer target over the real network path: a catalogd Server (the same parser, limits, read and
// write loops, admission and request chain as the process) listens on a kernel-chosen loopback port
// in this process; each input is written to a new connection in pieces cut at points the input
// chooses, then the sending side is shut and every answer is read until the server closes.
//
// Input: byte 0 seeds the cut points; the rest are the bytes sent.
// Findings: any crash or sanitizer report (a handler exception that escaped would end the process),
// a connection the server neither answers nor closes within 4 s (a hang), a 500, or a problem
// document that is not valid UTF-8 JSON.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "catalogd/http/server.h"
#include "tests/fuzz/empty_store.h"

using namespace techmoda;

namespace {

constexpr int kAnswerTimeoutMs = 4000;

struct InProcessServer {
  fuzz::EmptyStore store;
  metrics::Metrics metrics{http::RouteLabels()};
  http::Api api{store, fuzz::FuzzTokens(), metrics, http::ApiOptions{}};
  admission::Admission admission{admission::AdmissionOptions{}};
  std::unique_ptr<http::Server> server;
  std::thread runner;
  unsigned short port = 0;

  InProcessServer() {
    http::ServerOptions o;
    o.address = "127.0.0.1";
    o.port = 0;
    o.io_threads = 2;
    o.worker_threads = 4;
    o.read_timeout = std::chrono::seconds(3);
    o.access_log = false;
    server = std::make_unique<http::Server>(api, metrics, admission, o);
    if (auto s = server->Listen(); !s.ok()) {
      std::fprintf(stderr, "cannot listen: %s\n", s.detail().c_str());
      std::abort();
    }
    port = server->port();
    runner = std::thread([this] { server->Run(); });
    runner.detach();  // serves until the fuzzer exits
  }
};

InProcessServer& Shared() {
  static InProcessServer* server = [] {
    signal(SIGPIPE, SIG_IGN);
    return new InProcessServer();  // never destroyed: its threads run to the end of the process
  }();
  return *server;
}

// Cut points in [1, n): up to 7 of them, from a small generator seeded by the input.
std::vector<std::size_t> CutPoints(std::uint8_t seed, std::size_t n) {
  std::vector<std::size_t> cuts;
  if (n < 2) return cuts;
  std::uint32_t x = 0x9E3779B9u ^ (seed * 0x01000193u);
  int count = seed % 8;
  for (int i = 0; i < count; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    cuts.push_back(1 + x % (n - 1));
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  return cuts;
}

[[noreturn]] void Finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "finding: %s\n%s\n", what, detail.substr(0, 2000).c_str());
  std::abort();
}

// Sends `bytes` in the given pieces, shuts the sending side, and returns every byte the server
// wrote until it closed. A server that does neither within the timeout is a finding.
std::string Exchange(unsigned short port, std::string_view bytes, const std::vector<std::size_t>& cuts) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) Finding("socket", "");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Closed with a reset once the exchange is over: hundreds of connections a second would otherwise
  // fill the ephemeral ports with TIME_WAIT.
  linger reset{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    // Interrupted by libFuzzer's timer signal, the connection goes on being made: wait for it.
    pollfd p{fd, POLLOUT, 0};
    int error = errno;
    while (error == EINTR) {
      int ready = poll(&p, 1, kAnswerTimeoutMs);
      if (ready < 0 && errno == EINTR) continue;
      socklen_t len = sizeof error;
      error = ready > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 ? error : ETIMEDOUT;
    }
    if (error != 0) Finding("connect failed", std::strerror(error));
  }
  std::size_t from = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(bytes.size());
  for (std::size_t end : ends) {
    while (from < end) {
      ssize_t n = send(fd, bytes.data() + from, end - from, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the server closed after refusing: the rest is not read, by design
      from += static_cast<std::size_t>(n);
    }
    if (from < end) break;
    // Let the server read this piece on its own before the next arrives.
    std::this_thread::yield();
  }
  shutdown(fd, SHUT_WR);
  std::string out;
  char buf[65536];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kAnswerTimeoutMs);
  while (true) {
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    pollfd p{fd, POLLIN, 0};
    int ready = left > 0 ? poll(&p, 1, left) : 0;
    if (ready < 0 && errno == EINTR) continue;  // libFuzzer's timer signal
    if (ready <= 0) {
      close(fd);
      Finding("the server neither answered nor closed the connection within 4 s", std::string(bytes));
    }
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // closed (or reset after a refusal)
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return out;
}

// Checks each answer that can be framed: no 500, and problem documents are valid UTF-8 JSON.
void CheckAnswers(const std::string& raw, std::string_view input) {
  namespace bhttp = boost::beast::http;
  boost::beast::flat_buffer buffer;
  buffer.commit(boost::asio::buffer_copy(buffer.prepare(raw.size()), boost::asio::buffer(raw)));
  while (buffer.size() > 0) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.eager(true);
    parser.body_limit(16 << 20);
    boost::beast::error_code ec;
    std::size_t used = parser.put(buffer.data(), ec);
    if (ec || !parser.is_done()) return;  // e.g. the answer to a HEAD (no body to frame by): stop here
    buffer.consume(used);
    const auto& res = parser.get();
    if (res.result_int() == 500) Finding("500", std::string(input) + "\n---\n" + raw);
    if (res[bhttp::field::content_type] == "application/problem+json") {
      boost::system::error_code json_ec;
      boost::json::parse(res.body(), json_ec);
      if (json_ec) Finding("a problem document that is not valid UTF-8 JSON", res.body());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  InProcessServer& server = Shared();
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string raw = Exchange(server.port, bytes, CutPoints(data[0], bytes.size()));
  CheckAnswers(raw, bytes);
  return 0;
}
