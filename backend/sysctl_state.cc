#include "backend/sysctl_state.h"

#include <nlohmann/json.hpp>

namespace ztc {

std::optional<SysctlState> SysctlState::open(std::string* error) {
  std::optional<NetnsRecordFile> file = NetnsRecordFile::open("sysctl", error);
  if (!file) return std::nullopt;
  return SysctlState(std::move(*file));
}

SysctlState::SysctlState(StateDir directory, uint64_t netns_inode, uint64_t netns_cookie)
    : file_(std::move(directory), "sysctl", NetnsIdentity{netns_inode, netns_cookie}) {}

std::optional<SysctlValues> SysctlState::read(std::string* error) const {
  std::optional<nlohmann::json> document = file_.read(error);
  if (!document) {
    if (!error->empty()) return std::nullopt;
    return SysctlValues{};
  }
  if (!document->is_object() || !document->contains("values") ||
      !(*document)["values"].is_object()) {
    *error = path() +
             " is not a sysctl record; remove it to go on (ztc then cannot put back "
             "the sysctls it changed)";
    return std::nullopt;
  }
  if (!file_.is_current(*document)) return SysctlValues{};  // stale
  SysctlValues values;
  for (const auto& [key, value] : (*document)["values"].items()) {
    if (value.is_string()) values[key] = value.get<std::string>();
  }
  return values;
}

bool SysctlState::write(const SysctlValues& values, std::string* error) const {
  if (values.empty()) return file_.remove(error);
  return file_.write({{"values", values}}, error);
}

}  // namespace ztc
