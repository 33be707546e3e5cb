// The live status page (`catalogctl status --web`): one page that an operator reads at a glance —
// regions, zones and the role of every node, health, replication lag and RPO exposure, the error
// budget left, the alerts firing now and the responder's recent actions. The page
// (status_page.html, compiled in) polls GET /api/status, which this server assembles from
// supervisord and Patroni (ReadStatus), Prometheus, Alertmanager and the responder.
#pragma once

#include <boost/json/value.hpp>
#include <string>

#include "ctl/topology/topology.h"
#include "techmoda/status.h"

namespace techmoda::ctl {

// The document behind the page; every source that does not answer is named in "unavailable".
boost::json::value StatusPageJson(const Topology& t);

// Serves the page on `listen` (HOST:PORT) until SIGTERM (or `duration_s` > 0 passes).
Status RunStatusWeb(const Topology& t, const std::string& listen, int duration_s);

}  // namespace techmoda::ctl
