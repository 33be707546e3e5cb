#include "ctl/topology/yaml_fields.h"

#include <sstream>
#include <type_traits>

namespace techmoda::ctl {

namespace {

std::string NumberText(int v) { return std::to_string(v); }
std::string NumberText(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

// Reads an optional number field within [lo, hi]; records a message naming `where` otherwise.
template <typename T>
void ReadNumber(const YAML::Node& n, const char* key, T lo, T hi, const std::string& where, T* out,
                std::vector<std::string>* errors) {
  if (!n || !n[key]) return;
  try {
    T v = n[key].as<T>();
    if (!(v >= lo && v <= hi)) {
      errors->push_back(where + "." + key + ": " + NumberText(v) + " is outside " + NumberText(lo) + ".." +
                        NumberText(hi));
      return;
    }
    *out = v;
  } catch (const YAML::Exception&) {
    errors->push_back(where + "." + key + (std::is_integral_v<T> ? ": must be an integer" : ": must be a number"));
  }
}

}  // namespace

void ReadInt(const YAML::Node& n, const char* key, int lo, int hi, const std::string& where, int* out,
             std::vector<std::string>* errors) {
  ReadNumber<int>(n, key, lo, hi, where, out, errors);
}

void ReadDouble(const YAML::Node& n, const char* key, double lo, double hi, const std::string& where, double* out,
                std::vector<std::string>* errors) {
  ReadNumber<double>(n, key, lo, hi, where, out, errors);
}

void ReadBool(const YAML::Node& n, const char* key, const std::string& where, bool* out,
              std::vector<std::string>* errors) {
  if (!n || !n[key]) return;
  try {
    *out = n[key].as<bool>();
  } catch (const YAML::Exception&) {
    errors->push_back(where + "." + key + ": must be true or false");
  }
}

void ReadString(const YAML::Node& n, const char* key, const std::string& where, std::string* out,
                std::vector<std::string>* errors) {
  if (!n || !n[key]) return;
  if (!n[key].IsScalar()) {
    errors->push_back(where + "." + key + ": must be a string");
    return;
  }
  *out = n[key].as<std::string>();
}

void CheckKeys(const YAML::Node& n, const std::set<std::string>& known, const std::string& where,
               std::vector<std::string>* errors) {
  if (!n || !n.IsMap()) return;
  for (const auto& kv : n) {
    auto k = kv.first.as<std::string>();
    if (!known.count(k)) errors->push_back(where + ": unknown key '" + k + "'");
  }
}

}  // namespace techmoda::ctl
