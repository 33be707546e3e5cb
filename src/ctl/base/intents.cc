#include "ctl/base/intents.h"

#include <boost/json.hpp>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/json_util.h"

namespace json = boost::json;
namespace fs = std::filesystem;

namespace techmoda::ctl {

namespace {
std::optional<json::object> ReadObject(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  auto v = json::parse(text.str(), ec);
  if (ec || !v.is_object()) return std::nullopt;
  return v.as_object();
}

Intent FromObject(const json::object& o) {
  auto str = [&](const char* k) {
    return o.contains(k) && o.at(k).is_string() ? std::string(o.at(k).as_string()) : "";
  };
  Intent i{str("id"), str("action"), {}, str("by"), str("recorded_at")};
  if (o.contains("args") && o.at("args").is_object()) i.args = o.at("args").as_object();
  return i;
}
}  // namespace

Result<Intent> IntentLog::Record(const std::string& action, json::object args, const std::string& by) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return Status::Internal("cannot create " + dir_ + ": " + ec.message());
  // Ids sort in the order intents were recorded: the time to the nanosecond, then a random suffix.
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  long nanos = static_cast<long>(std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count() %
                                 1'000'000'000);
  char stamp[48];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", std::gmtime(&secs));
  char id[80];
  std::snprintf(id, sizeof id, "%s.%09ldZ-%s", stamp, nanos, RandomHex(3).c_str());
  Intent i{id, action, std::move(args), by, NowRfc3339()};
  json::object o{{"id", i.id}, {"action", i.action}, {"args", i.args}, {"by", i.by}, {"recorded_at", i.recorded_at}};
  // Written aside, then renamed: a reader never sees half an intent.
  std::string tmp = dir_ + "/." + i.id + ".tmp";
  {
    std::ofstream out(tmp);
    out << json::serialize(o);
    if (!out) return Status::Internal("cannot write " + tmp);
  }
  fs::rename(tmp, dir_ + "/" + i.id + ".json", ec);
  if (ec) return Status::Internal("cannot record the intent: " + ec.message());
  return i;
}

bool IntentLog::Claim(const Intent& intent, const std::string& who) {
  std::error_code ec;
  fs::rename(dir_ + "/" + intent.id + ".json", dir_ + "/" + intent.id + ".claimed", ec);
  if (ec) return false;
  std::ofstream(dir_ + "/" + intent.id + ".claimed", std::ios::app)
      << "\n"
      << json::serialize(json::object{{"claimed_by", who}, {"at", NowRfc3339()}});
  return true;
}

void IntentLog::Finish(const Intent& intent, const Status& outcome, const std::string& detail) {
  json::object o{{"id", intent.id},    {"action", intent.action},
                 {"ok", outcome.ok()}, {"error", outcome.ok() ? "" : outcome.detail()},
                 {"detail", detail},   {"finished_at", NowRfc3339()}};
  std::string tmp = dir_ + "/." + intent.id + ".done.tmp";
  std::ofstream(tmp) << json::serialize(o);
  std::error_code ec;
  fs::rename(tmp, dir_ + "/" + intent.id + ".done", ec);
}

std::vector<Intent> IntentLog::Unclaimed() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec))
    if (e.path().extension() == ".json" && e.path().filename().string()[0] != '.') names.push_back(e.path());
  std::sort(names.begin(), names.end());
  std::vector<Intent> out;
  for (const auto& n : names)
    if (auto o = ReadObject(n)) out.push_back(FromObject(*o));
  return out;
}

std::optional<Status> IntentLog::OutcomeOf(const std::string& id) const {
  auto o = ReadObject(dir_ + "/" + id + ".done");
  if (!o) return std::nullopt;
  if (o->contains("ok") && o->at("ok").is_bool() && o->at("ok").as_bool()) return Status::Ok();
  std::string error = o->contains("error") && o->at("error").is_string() ? std::string(o->at("error").as_string()) : "";
  return Status::Unavailable(error.empty() ? "the intent failed" : error);
}

}  // namespace techmoda::ctl
