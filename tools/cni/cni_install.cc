#include "tools/cni/cni_install.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <sstream>
#include <vector>

#include "model/values.h"

namespace ztc::cni {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kPluginType = "ztc-cni";

bool is_ours(const json& plugin) {
  return plugin.is_object() && plugin.value("type", "") == kPluginType;
}

// Writes `text` to `path` through a temporary file and rename.
bool replace_file(const fs::path& path, const std::string& text, mode_t mode, std::string* error) {
  fs::path temporary = path;
  temporary += ".ztc-tmp";
  int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
  bool ok = fd >= 0;
  for (size_t done = 0; ok && done < text.size();) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && fchmod(fd, mode) == 0 && fsync(fd) == 0;
  if (fd >= 0) close(fd);
  if (!ok || rename(temporary.c_str(), path.c_str()) != 0) {
    *error = "cannot write " + path.string() + ": " + std::strerror(errno);
    unlink(temporary.c_str());
    return false;
  }
  return true;
}

// The node's network: the first *.conflist by name.
std::optional<fs::path> node_conflist(const fs::path& dir, std::string* error) {
  std::vector<fs::path> lists;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".conflist") lists.push_back(entry.path());
  }
  if (ec) {
    *error = "cannot read " + dir.string() + ": " + ec.message();
    return std::nullopt;
  }
  if (lists.empty()) {
    *error = "no *.conflist in " + dir.string() + " (is the network plugin installed yet?)";
    return std::nullopt;
  }
  return *std::min_element(lists.begin(), lists.end());
}

std::optional<json> read_json(const fs::path& path, std::string* error) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  json parsed = json::parse(text.str(), nullptr, false);
  if (!in || parsed.is_discarded() || !parsed.is_object()) {
    *error = path.string() + " is not a JSON object";
    return std::nullopt;
  }
  return parsed;
}

}  // namespace

json with_plugin(json conflist, const json& plugin) {
  conflist = without_plugin(std::move(conflist));
  conflist["plugins"].push_back(plugin);
  return conflist;
}

json without_plugin(json conflist) {
  json kept = json::array();
  if (conflist.contains("plugins") && conflist["plugins"].is_array()) {
    for (const json& plugin : conflist["plugins"]) {
      if (!is_ours(plugin)) kept.push_back(plugin);
    }
  }
  conflist["plugins"] = kept;
  return conflist;
}

int run_install(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"ztc-cni: install into or remove from a node's CNI configuration", "ztc-cni"};
  app.require_subcommand(1);
  std::string bin_dir = "/opt/cni/bin", conf_dir = "/etc/cni/net.d", policy, set;
  std::vector<std::string> defines, namespaces, excluded;
  auto add_dirs = [&](CLI::App* command) {
    command->add_option("--cni-bin-dir", bin_dir, "where the plugins are (default /opt/cni/bin)");
    command->add_option("--cni-conf-dir", conf_dir, "the node's conflist (default /etc/cni/net.d)");
  };
  CLI::App* install = app.add_subcommand("install", "copy ztc-cni and chain it in the conflist");
  add_dirs(install);
  install->add_option("--policy", policy, "the policy as loaded on the node")->required();
  install->add_option("--set", set, "the managed set pods are enrolled into")->required();
  install->add_option("-D", defines, "NAME=VALUE, as for ztc load");
  install->add_option("--namespace", namespaces, "enrol only pods of these namespaces");
  install->add_option("--exclude-namespace", excluded, "never enrol pods of these namespaces");
  CLI::App* uninstall = app.add_subcommand("uninstall", "take ztc-cni out of the conflist");
  add_dirs(uninstall);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err) == 0 ? 0 : 2;
  }

  std::string error;
  auto conflist_path = node_conflist(conf_dir, &error);
  std::optional<json> conflist;
  if (conflist_path) conflist = read_json(*conflist_path, &error);
  if (install->parsed()) {
    if (!conflist) {
      err << "ztc-cni: error: " << error << "\n";
      return 1;
    }
    json plugin = {{"type", kPluginType}, {"policy", policy}, {"set", set}};
    json define_object = json::object();
    for (const std::string& define : defines) {
      std::optional<std::pair<std::string, std::string>> parameter = split_name_value(define);
      if (!parameter) {
        err << "ztc-cni: error: -D " << define << ": NAME=VALUE expected\n";
        return 2;
      }
      define_object[parameter->first] = parameter->second;
    }
    plugin["defines"] = define_object;
    if (!namespaces.empty()) plugin["namespaces"] = namespaces;
    if (!excluded.empty()) plugin["exclude_namespaces"] = excluded;
    // The binary first: a conflist naming a plugin that is not there fails every pod.
    std::ifstream self("/proc/self/exe", std::ios::binary);
    std::stringstream binary;
    binary << self.rdbuf();
    if (!self || !replace_file(fs::path(bin_dir) / kPluginType, binary.str(), 0755, &error) ||
        !replace_file(*conflist_path, with_plugin(*conflist, plugin).dump(2) + "\n", 0644,
                      &error)) {
      err << "ztc-cni: error: " << error << "\n";
      return 1;
    }
    out << "ztc-cni: installed in " << bin_dir << ", chained in " << conflist_path->string()
        << "\n";
    return 0;
  }
  // Uninstall: out of the conflist first, then the binary; what is already
  // gone is fine.
  if (conflist &&
      !replace_file(*conflist_path, without_plugin(*conflist).dump(2) + "\n", 0644, &error)) {
    err << "ztc-cni: error: " << error << "\n";
    return 1;
  }
  std::error_code ec;
  fs::remove(fs::path(bin_dir) / kPluginType, ec);
  if (ec) {
    err << "ztc-cni: error: cannot remove " << bin_dir << "/" << kPluginType << ": " << ec.message()
        << "\n";
    return 1;
  }
  out << "ztc-cni: removed from " << bin_dir
      << (conflist_path ? " and " + conflist_path->string() : std::string()) << "\n";
  return 0;
}

}  // namespace ztc::cni
