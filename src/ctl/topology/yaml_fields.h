// Reading YAML fields with every problem collected (not only the first), each named by its path
// ("regions[0].zones: ..."), so a user fixes a file in one go. Used by the topology and scenario files.
#pragma once

#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <vector>

namespace techmoda::ctl {

// Each reads an optional field into `out` when present and valid; otherwise appends a message.
void ReadInt(const YAML::Node& n, const char* key, int lo, int hi, const std::string& where, int* out,
             std::vector<std::string>* errors);
void ReadDouble(const YAML::Node& n, const char* key, double lo, double hi, const std::string& where, double* out,
                std::vector<std::string>* errors);
void ReadBool(const YAML::Node& n, const char* key, const std::string& where, bool* out,
              std::vector<std::string>* errors);
void ReadString(const YAML::Node& n, const char* key, const std::string& where, std::string* out,
                std::vector<std::string>* errors);
// Rejects keys this version does not know, so a typo is not silently ignored.
void CheckKeys(const YAML::Node& n, const std::set<std::string>& known, const std::string& where,
               std::vector<std::string>* errors);

}  // namespace techmoda::ctl
