// How catalogctl's long-running commands stop: on SIGINT or SIGTERM, at the end of an iteration.
#pragma once

namespace techmoda::ctl {

// catalogctl's long-running commands (autoscale, canary, responder, status --web, the schedulers)
// stop on SIGINT or SIGTERM and treat a peer that hangs up (SIGPIPE) as an error to report, not the
// end of the process. SA_RESTART: a stop request must not cut short a read of supervisord's answer.
void InstallStopHandlers();
// True once SIGINT or SIGTERM arrived. Thread-safe.
bool StopRequested();

}  // namespace techmoda::ctl
