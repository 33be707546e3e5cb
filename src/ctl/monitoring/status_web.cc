#include "ctl/monitoring/status_web.h"

#include <signal.h>

#include <atomic>
#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <chrono>
#include <mutex>
#include <thread>

#include "common/http_client.h"
#include "common/log.h"
#include "ctl/base/http_server.h"
#include "ctl/base/stop.h"
#include "ctl/region/region.h"
#include "ctl/topology/render.h"

namespace techmoda::ctl {

namespace json = boost::json;

namespace {

// An instant query: label set -> value, for the label `by`; nullopt when Prometheus does not answer.
std::optional<std::map<std::string, double>> Query(const Topology& t, const std::string& promql,
                                                   const std::string& by) {
  const auto& m = t.monitoring;
  auto res = HttpCall(m.address, static_cast<unsigned short>(m.prometheus_port), "GET",
                      "/api/v1/query?query=" + boost::urls::encode(promql, boost::urls::unreserved_chars), "", {},
                      std::chrono::seconds(2));
  auto doc = res.Json();
  if (res.status != 200 || !doc.is_object()) return std::nullopt;
  std::map<std::string, double> out;
  for (const auto& r : doc.at("data").at("result").as_array()) {
    const auto& metric = r.at("metric").as_object();
    std::string key = metric.contains(by) ? std::string(metric.at(by).as_string()) : "";
    out[key] = std::strtod(std::string(r.at("value").as_array().at(1).as_string()).c_str(), nullptr);
  }
  return out;
}

}  // namespace

json::value StatusPageJson(const Topology& t) {
  json::object out = StatusJson(ReadStatus(t)).as_object();
  json::array unavailable;
  const auto& m = t.monitoring;
  out["generated_at"] = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // Per region: the objective's figures from Prometheus's recording rules.
  struct Figure {
    const char* name;
    const char* promql;
    const char* by;
  };
  const Figure figures[] = {
      {"availability_1h", "1 - techmoda:api_errors:ratio_rate1h", "region"},
      {"error_budget_remaining", "techmoda:api_error_budget_remaining:ratio30d", "region"},
      {"latency_budget_remaining", "techmoda:api_latency_budget_remaining:ratio30d", "region"},
      {"requests_per_second", "techmoda:api_requests:rate5m", "region"},
      {"rpo_exposure_seconds", "techmoda:rpo_exposure_seconds", "region"},
      {"canary_consecutive_failures", "techmoda_canary_consecutive_failures", "region"},
      {"canary_last_seconds", "sum by (region) (techmoda_canary_step_seconds)", "region"},
  };
  json::object per_region;
  bool prometheus_ok = true;
  for (const auto& f : figures) {
    auto q = Query(t, f.promql, f.by);
    if (!q) {
      prometheus_ok = false;
      break;
    }
    for (const auto& [region, v] : *q) {
      json::value& slot = per_region[region];
      if (!slot.is_object()) slot.emplace_object();
      slot.as_object()[f.name] = v;
    }
  }
  if (!prometheus_ok) unavailable.push_back("prometheus");
  // Replication lag per zone, in bytes, from Patroni's positions (the table has it per node too).
  if (auto lag = Query(t, "techmoda:replication_lag_bytes", "zone")) {
    json::object z;
    for (const auto& [zone, v] : *lag) z[zone] = v;
    out["replication_lag_bytes"] = z;
  }
  out["figures"] = per_region;
  // Alerts firing now (not silenced, not inhibited), from Alertmanager.
  auto am = HttpCall(m.address, static_cast<unsigned short>(m.alertmanager_port), "GET",
                     "/api/v2/alerts?active=true&silenced=false&inhibited=false", "", {}, std::chrono::seconds(2));
  json::array alerts;
  if (auto doc = am.Json(); am.status == 200 && doc.is_array()) {
    for (const auto& a : doc.as_array()) {
      const auto& labels = a.at("labels").as_object();
      auto label = [&](const char* k) {
        return labels.contains(k) ? std::string(labels.at(k).as_string()) : std::string();
      };
      std::string summary;
      if (auto* ann = a.as_object().if_contains("annotations"); ann && ann->as_object().contains("summary"))
        summary = std::string(ann->at("summary").as_string());
      alerts.push_back({{"name", label("alertname")},
                        {"severity", label("severity")},
                        {"region", label("region")},
                        {"zone", label("zone")},
                        {"instance", label("instance")},
                        {"runbook", label("runbook")},
                        {"summary", summary},
                        {"since", a.at("startsAt")}});
    }
  } else {
    unavailable.push_back("alertmanager");
  }
  out["alerts"] = alerts;
  // The responder's recent decisions.
  auto rs = HttpCall(m.address, static_cast<unsigned short>(m.responder_port), "GET", "/actions", "", {},
                     std::chrono::seconds(2));
  if (auto doc = rs.Json(); rs.status == 200 && doc.is_object()) {
    json::array actions;
    for (const auto& a : doc.at("actions").as_array()) {
      if (actions.size() >= 20) break;
      actions.push_back(a);
    }
    out["actions"] = actions;
    out["responder_dry_run"] = doc.at("dry_run");
  } else {
    out["actions"] = json::array();
    unavailable.push_back("responder");
  }
  out["unavailable"] = unavailable;
  out["links"] = {{"prometheus", "http://" + m.address + ":" + std::to_string(m.prometheus_port) + "/alerts"},
                  {"alertmanager", "http://" + m.address + ":" + std::to_string(m.alertmanager_port) + "/"}};
  return out;
}

Status RunStatusWeb(const Topology& t, const std::string& listen, int duration_s) {
  InstallStopHandlers();
  // One status read at a time, reused for a second: several open pages cost one read.
  struct Cache {
    Mutex mu;
    std::string text GUARDED_BY(mu);
    std::chrono::steady_clock::time_point at GUARDED_BY(mu);
  } cache;
  SmallHttpServer server([&](const std::string& method, const std::string& target, const std::string&) {
    if (method != "GET") return HttpReply{405, "text/plain; charset=utf-8", "GET only\n"};
    if (target == "/" || target == "/index.html")
      return HttpReply{200, "text/html; charset=utf-8", std::string(EmbeddedFile("status_page.html"))};
    if (target == "/healthz") return HttpReply{200, "application/json", R"({"status":"alive"})"};
    if (target == "/api/status") {
      MutexLock lock(cache.mu);
      if (cache.text.empty() || std::chrono::steady_clock::now() - cache.at > std::chrono::seconds(1)) {
        cache.text = json::serialize(StatusPageJson(t));
        cache.at = std::chrono::steady_clock::now();
      }
      return HttpReply{200, "application/json", cache.text};
    }
    return HttpReply{404, "text/plain; charset=utf-8", "GET / or /api/status\n"};
  });
  if (auto s = server.Start(listen); !s.ok()) return s;
  log::Info("status_page.started", {{"topology", t.name}, {"url", "http://" + listen + "/"}});
  std::fprintf(stderr, "status page: http://%s/\n", listen.c_str());
  auto started = std::chrono::steady_clock::now();
  while (!StopRequested()) {
    if (duration_s > 0 && std::chrono::steady_clock::now() - started >= std::chrono::seconds(duration_s)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  server.Stop();
  return Status::Ok();
}

}  // namespace techmoda::ctl
