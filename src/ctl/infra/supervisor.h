// supervisord, which runs every program of a topology on one machine: its programs' states, and
// starting and stopping them by name. Nothing restarts by itself (the drills decide when).
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ctl/topology/topology.h"
#include "techmoda/process_runner.h"
#include "techmoda/status.h"

namespace techmoda::ctl {

// Runs `supervisorctl <args>` against the topology's supervisord through `run`; returns its output.
// `rc` receives the exit code.
std::string SupervisorCtl(const Topology& t, std::vector<std::string> args, int* rc = nullptr,
                          ProcessRunner& run = RealProcessRunner());
// True when the topology's supervisord runs (its pid file names a live process and its socket exists).
bool SupervisorRunning(const Topology& t);

// supervisord's programs: name -> (state, pid) from `supervisorctl status`; empty when
// supervisord is not running.
std::map<std::string, std::pair<std::string, pid_t>> ProgramStates(const Topology& t,
                                                                   ProcessRunner& run = RealProcessRunner());
// Starts or stops programs by name; an error names the program and supervisord's answer.
Status StartPrograms(const Topology& t, const std::vector<std::string>& names,
                     ProcessRunner& run = RealProcessRunner());
Status StopPrograms(const Topology& t, const std::vector<std::string>& names, ProcessRunner& run = RealProcessRunner());
// Restarts one program; kUnavailable unless supervisord says it started.
Status RestartProgram(const Topology& t, const std::string& name, ProcessRunner& run = RealProcessRunner());

}  // namespace techmoda::ctl
