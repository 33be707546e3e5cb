// catalogd: builds the store pool, metrics, token registry and server, and passes them in.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "catalogd/admission/admission.h"
#include "catalogd/admission/rate_limit.h"
#include "catalogd/config.h"
#include "catalogd/copy/feed.h"
#include "catalogd/fence/active_region.h"
#include "catalogd/http/handlers.h"
#include "catalogd/http/server.h"
#include "catalogd/metrics/metrics.h"
#include "catalogd/store/copy_store.h"
#include "catalogd/store/pg_store.h"
#include "common/embedded_pg.h"
#include "common/log.h"
#include "common/migrate.h"

using namespace techmoda;

namespace {

// Connects (waiting up to a minute for a database that is still starting) and migrates.
Status PrepareDatabase(const std::string& conninfo) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (true) {
    auto conn = pg::Connect(conninfo, std::chrono::seconds(5));
    if (conn.ok()) {
      auto v = ApplyMigrations(**conn);
      if (!v.ok()) return v.status();
      log::Info("schema.ready", {{"version", *v}});
      return Status::Ok();
    }
    if (std::chrono::steady_clock::now() > deadline) return conn.status();
    log::Warn("database.waiting", {{"reason", conn.status().detail()}});
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

int Fail(const Status& s) {
  log::Error("catalogd.fatal", {{"reason", s.detail()}});
  std::cerr << "catalogd: " << s.detail() << "\n";
  return 1;
}

// Signals are taken by one thread with sigwait; every other thread (and child) inherits the mask.
sigset_t BlockStopSignals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return stop_signals;
}

std::string DatabaseUrlOf(const CatalogdConfig& cfg, const std::string& region) {
  for (const auto& [r, url] : cfg.region_database_urls)
    if (r == region) return url;
  return std::string();
}

fence::ActiveRegionOptions FenceOptions(const CatalogdConfig& cfg) {
  fence::ActiveRegionOptions fo;
  fo.endpoints = etcd::ParseEndpoints(cfg.global_etcd);
  fo.prefix = cfg.dr_prefix;
  fo.region = cfg.region;
  fo.zone = cfg.zone;
  fo.instance = cfg.instance.empty() ? cfg.listen : cfg.instance;
  fo.lease_ttl_s = cfg.lease_ttl_s;
  return fo;
}

http::ApiOptions ApiOptions(const CatalogdConfig& cfg) {
  http::ApiOptions o;
  o.deploy_id = cfg.deploy_id;
  o.default_deadline = std::chrono::milliseconds(cfg.write_deadline_ms);
  o.trust_forwarded_for = cfg.trust_forwarded_for;
  o.cache_max_age_s = cfg.cache_max_age_s;
  o.stale_while_revalidate_s = cfg.stale_while_revalidate_s;
  o.stale_if_error_s = cfg.stale_if_error_s;
  return o;
}

// The values were checked when the configuration was read.
admission::AdmissionOptions AdmissionOptions(const CatalogdConfig& cfg) {
  admission::AdmissionOptions o;
  o.enabled = cfg.admission;
  o.target_delay = std::chrono::milliseconds(cfg.admission_target_delay_ms);
  o.limit.initial_limit = cfg.admission_initial_limit;
  o.limit.max_limit = cfg.admission_max_limit;
  return o;
}

std::array<admission::RateLimit, 3> RateLimits(const CatalogdConfig& cfg) {
  return {*admission::ParseRateLimit(cfg.rate_limit_anonymous), *admission::ParseRateLimit(cfg.rate_limit_client),
          *admission::ParseRateLimit(cfg.rate_limit_admin)};
}

http::ServerOptions ServerOptions(const CatalogdConfig& cfg) {
  http::ServerOptions o;
  SplitHostPort(cfg.listen, &o.address, &o.port);
  o.io_threads = cfg.io_threads;
  o.worker_threads = std::max(4, cfg.pool_size + 4);
  o.max_in_flight = cfg.max_in_flight;
  o.read_timeout = std::chrono::seconds(cfg.read_timeout_s);
  o.drain_timeout = std::chrono::seconds(cfg.drain_timeout_s);
  o.access_log = cfg.access_log;
  return o;
}

// Writes pass the region's fence; /readyz says whether this region serves them; the fence's state is
// in /metrics.
void ConnectFence(http::Api& api, fence::ActiveRegion& active_region, const std::string& region) {
  api.SetWriteGate({[&] { return active_region.BeginWrite(); }, [&] { return active_region.EndWrite(); }});
  api.SetActiveRegionProbe([&active_region, region] {
    auto a = active_region.active();
    bool serves = a.region == region && a.state == EpochState::kActive;
    return std::make_pair(serves, boost::json::serialize(boost::json::object{{"region", region},
                                                                             {"active_region", a.region},
                                                                             {"epoch", a.epoch},
                                                                             {"state", EpochStateName(a.state)},
                                                                             {"serves_writes", serves}}));
  });
  api.AddMetricsSource([&active_region](metrics::Families& out) { active_region.CollectMetrics(out); });
}

// CPU used, against the network threads that can use it: the autoscaler's second signal.
void AddProcessMetrics(http::Api& api, int io_threads) {
  if (io_threads <= 0) io_threads = static_cast<int>(std::thread::hardware_concurrency());
  api.AddMetricsSource([io_threads](metrics::Families& out) {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    metrics::AddCounter(out, "process_cpu_seconds_total", "User and system CPU time spent in seconds.", cpu);
    metrics::AddGauge(out, "catalogd_io_threads", "Network threads of this instance.", io_threads);
  });
}

// Default instance name: HOSTNAME:PORT, with the port actually bound (--listen may say :0).
std::string DefaultInstanceName(unsigned short port) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(port);
}

}  // namespace

int main(int argc, char** argv) {
  int exit_code = -1;
  auto cfg = LoadCatalogdConfig(argc, argv, &exit_code);
  if (exit_code >= 0) return exit_code;
  if (!cfg.ok()) {
    std::cerr << "catalogd: " << cfg.status().detail() << "\n(see catalogd --help)\n";
    return 2;
  }
  log::Level level = log::Level::kInfo;
  log::ParseLevel(cfg->log_level, &level);
  // Until the port is bound the instance is named by its --listen value.
  auto ServedBy = [&](const std::string& instance) { return cfg->region + "/" + cfg->zone + "/" + instance; };
  log::Init(level,
            {{"service", "catalogd"}, {"instance", ServedBy(cfg->instance.empty() ? cfg->listen : cfg->instance)}});

  const sigset_t stop_signals = BlockStopSignals();

  std::optional<EmbeddedPostgres> embedded;
  std::string conninfo = cfg->database_url;
  if (conninfo.empty()) {
    EmbeddedPgOptions opt;
    opt.root = (std::filesystem::path(cfg->data_dir) / "pg").string();
    opt.max_connections = std::max(100, cfg->pool_size * 4 + 20);
    embedded.emplace(opt);
    if (auto s = embedded->Start(); !s.ok()) return Fail(s);
    conninfo = embedded->conninfo();
  }
  // Several regions: writes go to the active region's database, while this instance holds its lease.
  struct Followers {
    Mutex mu;
    pg::Pool* pool GUARDED_BY(mu) = nullptr;
    copy::Feed* feed GUARDED_BY(mu) = nullptr;
  } followers;
  std::optional<fence::ActiveRegion> active_region;
  if (!cfg->global_etcd.empty()) {
    fence::ActiveRegionOptions fo = FenceOptions(*cfg);
    fo.on_change = [&](const fence::Active& a) {
      std::string url = DatabaseUrlOf(*cfg, a.region);
      log::Info("fence.following", {{"region", a.region}, {"epoch", a.epoch}, {"known_region", !url.empty()}});
      if (url.empty()) return;
      MutexLock lock(followers.mu);
      if (followers.pool) followers.pool->Retarget(url);
      if (followers.feed) followers.feed->Retarget(url);
    };
    active_region.emplace(fo);
    active_region->Start(std::chrono::seconds(15));
    if (std::string url = DatabaseUrlOf(*cfg, active_region->active().region); !url.empty()) conninfo = url;
  }
  if (auto s = PrepareDatabase(conninfo); !s.ok()) return Fail(s);

  auth::TokenRegistry tokens;
  for (const auto& grant : cfg->tokens) tokens.Add(grant.token, grant.role, grant.marks_synthetic);
  if (!cfg->tokens_file.empty()) log::Info("tokens.loaded", {{"count", tokens.size()}, {"file", cfg->tokens_file}});

  auto write_pool = std::make_unique<pg::Pool>(conninfo, cfg->pool_size);
  pg::Pool* write_pool_ptr = write_pool.get();
  PgStore db_store(std::move(write_pool),
                   cfg->replica_database_url.empty()
                       ? nullptr
                       : std::make_unique<pg::Pool>(cfg->replica_database_url, std::max(2, cfg->pool_size / 2)));
  metrics::Metrics metrics(http::RouteLabels());
  // The in-memory copy answers reads; until it has loaded, reads go to the database.
  copy::CatalogCopy catalog_copy;
  std::optional<copy::Feed> feed;
  std::optional<CopyStore> copy_store;
  if (cfg->read_copy) {
    copy::FeedOptions fo;
    fo.conninfo = conninfo;
    fo.apply_delay = std::chrono::milliseconds(cfg->copy_lag_ms);
    fo.observe_propagation = [&metrics](double s) { metrics.ObservePropagation(s); };
    feed.emplace(catalog_copy, fo);
    feed->Start();
    copy_store.emplace(db_store, catalog_copy, &*feed);
  }
  Store& store = copy_store ? static_cast<Store&>(*copy_store) : static_cast<Store&>(db_store);
  if (active_region) {
    MutexLock lock(followers.mu);
    followers.pool = write_pool_ptr;
    followers.feed = feed ? &*feed : nullptr;
    // The active region may have changed while the database was prepared.
    if (std::string url = DatabaseUrlOf(*cfg, active_region->active().region); !url.empty()) {
      write_pool_ptr->Retarget(url);
      if (feed) feed->Retarget(url);
    }
  }
  http::Api api(store, tokens, metrics, ApiOptions(*cfg));
  admission::Admission admission(AdmissionOptions(*cfg));
  admission::RateLimiter rate_limiter(RateLimits(*cfg));
  api.SetRateLimiter(&rate_limiter);
  api.AddMetricsSource([&admission](metrics::Families& out) { admission.CollectMetrics(out); });
  api.AddMetricsSource([&rate_limiter](metrics::Families& out) { rate_limiter.CollectMetrics(out); });
  if (active_region) ConnectFence(api, *active_region, cfg->region);
  AddProcessMetrics(api, cfg->io_threads);
  const http::ServerOptions srv_opt = ServerOptions(*cfg);
  http::Server server(api, metrics, admission, srv_opt);
  if (auto s = server.Listen(); !s.ok()) return Fail(s);
  if (cfg->instance.empty()) cfg->instance = DefaultInstanceName(server.port());
  api.SetServedBy(ServedBy(cfg->instance));
  log::Init(level, {{"service", "catalogd"}, {"instance", ServedBy(cfg->instance)}});
  log::Info("catalogd.listening", {{"address", srv_opt.address},
                                   {"port", server.port()},
                                   {"deploy_id", cfg->deploy_id},
                                   {"embedded_database", embedded.has_value()}});

  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (sig == 0) return;
    log::Info("catalogd.stopping", {{"signal", sig}});
    server.Stop();
  });
  // Run returns only after Stop (its work guard keeps it running), and only the signal thread calls
  // Stop, so that thread has finished by then.
  server.Run();
  signal_thread.join();
  if (active_region) active_region->Stop();
  if (feed) feed->Stop();
  if (embedded) embedded->Stop();
  log::Info("catalogd.stopped");
  return 0;
}
