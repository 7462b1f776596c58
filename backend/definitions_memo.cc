#include "backend/definitions_memo.h"

#include <dlfcn.h>
#include <nftables/libnftables.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <nlohmann/json.hpp>

namespace ztc::nft {
namespace {

constexpr const char* kPrefix = "definitions";

// The libnftables this process runs: an upgrade in place (a new file) may
// list or even compile the same text differently.
std::string libnftables_build() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&nft_ctx_new), &info) == 0 || !info.dli_fname) return "";
  struct stat file {};
  if (stat(info.dli_fname, &file) != 0) return info.dli_fname;
  return std::string(info.dli_fname) + " " + std::to_string(file.st_ino) + " " +
         std::to_string(file.st_size) + " " + std::to_string(file.st_mtim.tv_sec) + "." +
         std::to_string(file.st_mtim.tv_nsec);
}

std::string kernel_build() {
  struct utsname name {};
  if (uname(&name) != 0) return "";
  return std::string(name.release) + " " + name.version;
}

}  // namespace

std::string declared_key(const std::string& declared_text, const std::set<std::string>& managed) {
  std::string key =
      "libnftables " + libnftables_build() + "\nkernel " + kernel_build() + "\nmanaged";
  for (const std::string& name : managed) key += " " + name;
  return key + "\n" + declared_text;
}

std::optional<DefinitionsMemo> DefinitionsMemo::open(std::string* error) {
  std::optional<NetnsRecordFile> file = NetnsRecordFile::open(kPrefix, error);
  if (!file) return std::nullopt;
  return DefinitionsMemo(std::move(*file));
}

std::optional<TableDefinitions> DefinitionsMemo::find(const std::string& key) const {
  std::string ignored;
  std::optional<nlohmann::json> document = file_.read(&ignored);
  if (!document || !document->is_object() || !file_.is_current(*document)) return std::nullopt;
  const nlohmann::json& recorded_key = (*document)["key"];
  if (!recorded_key.is_string() || recorded_key.get<std::string>() != key) return std::nullopt;
  try {
    TableDefinitions definitions;
    definitions.found = true;
    definitions.attributes = document->at("attributes").get<std::vector<std::string>>();
    for (const nlohmann::json& block : document->at("blocks")) {
      definitions.blocks.push_back({block.at("kind").get<std::string>(),
                                    block.at("name").get<std::string>(),
                                    block.at("text").get<std::string>()});
    }
    return definitions;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // not what write() writes
  }
}

bool DefinitionsMemo::write(const std::string& key, const TableDefinitions& definitions,
                            std::string* error) const {
  nlohmann::json blocks = nlohmann::json::array();
  for (const Block& block : definitions.blocks) {
    blocks.push_back({{"kind", block.kind}, {"name", block.name}, {"text", block.text}});
  }
  nlohmann::json document = {
      {"key", key}, {"attributes", definitions.attributes}, {"blocks", std::move(blocks)}};
  return file_.write(std::move(document), error);
}

bool DefinitionsMemo::remove(std::string* error) const { return file_.remove(error); }

}  // namespace ztc::nft
