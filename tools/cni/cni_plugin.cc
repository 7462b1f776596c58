#include "tools/cni/cni_plugin.h"

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <vector>

#include "backend/apply_lock.h"
#include "backend/enroll.h"
#include "backend/member_state.h"
#include "model/ip_address.h"
#include "model/values.h"
#include "tools/ztc/node_access.h"
#include "tools/ztc/policy_input.h"

namespace ztc::cni {
namespace {

using nlohmann::json;

const std::vector<std::string> kSupportedVersions = {"0.3.0", "0.3.1", "0.4.0", "1.0.0"};
constexpr const char* kDefaultVersion = "1.0.0";
// As long as `ztc load` waits: 50 pods started at once queue for well under this.
constexpr int kDefaultLockTimeoutMs = 30000;

// What went wrong, as the spec's error object carries it.
struct Failure {
  int code;
  std::string msg;
  std::string details;
};

struct Config {
  std::string cni_version = kDefaultVersion;
  std::string policy;
  std::string set;
  Overrides defines;
  std::optional<std::vector<std::string>> namespaces;
  std::vector<std::string> exclude_namespaces;
  std::optional<std::string> state_dir;
  int lock_timeout_ms = kDefaultLockTimeoutMs;
  json prev_result;  // null when absent
};

// The pod this invocation is about.
struct Pod {
  std::string key;  // the member comment: K8S_POD_UID, else CNI_CONTAINERID
  std::string kubernetes_namespace;
};

std::string get(const Environment& environment, const std::string& name) {
  auto at = environment.find(name);
  return at == environment.end() ? "" : at->second;
}

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::optional<std::vector<std::string>> string_list(const json& value) {
  if (!value.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const json& item : value) {
    if (!item.is_string()) return std::nullopt;
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::optional<Failure> parse_config(const json& input, Config* config) {
  auto invalid = [](std::string details) {
    return Failure{kInvalidConfig, "invalid network configuration", std::move(details)};
  };
  if (!input.is_object()) return invalid("the configuration is not a JSON object");
  if (!input.contains("cniVersion") || !input["cniVersion"].is_string()) {
    return invalid("cniVersion: a string is required");
  }
  config->cni_version = input["cniVersion"].get<std::string>();
  if (!contains(kSupportedVersions, config->cni_version)) {
    std::string supported;
    for (const std::string& v : kSupportedVersions)
      supported += (supported.empty() ? "" : ", ") + v;
    Failure failure{kIncompatibleVersion, "incompatible CNI version",
                    "cniVersion " + config->cni_version + " is not one of " + supported};
    config->cni_version = kDefaultVersion;
    return failure;
  }
  for (const char* key : {"policy", "set"}) {
    if (!input.contains(key) || !input[key].is_string() || input[key].get<std::string>().empty()) {
      return invalid(std::string(key) + ": a non-empty string is required");
    }
  }
  config->policy = input["policy"].get<std::string>();
  config->set = input["set"].get<std::string>();
  if (input.contains("defines")) {
    const json& defines = input["defines"];
    if (!defines.is_object()) return invalid("defines: an object of NAME: \"VALUE\" is required");
    for (auto it = defines.begin(); it != defines.end(); ++it) {
      if (!it.value().is_string()) {
        return invalid("defines." + it.key() + ": the value must be a string, as after -D " +
                       it.key() + "=");
      }
      config->defines.emplace_back(it.key(), it.value().get<std::string>());
    }
  }
  if (input.contains("namespaces")) {
    config->namespaces = string_list(input["namespaces"]);
    if (!config->namespaces) return invalid("namespaces: a list of strings is required");
  }
  if (input.contains("exclude_namespaces")) {
    auto excluded = string_list(input["exclude_namespaces"]);
    if (!excluded) return invalid("exclude_namespaces: a list of strings is required");
    config->exclude_namespaces = std::move(*excluded);
  }
  if (input.contains("state_dir")) {
    if (!input["state_dir"].is_string()) return invalid("state_dir: a string is required");
    config->state_dir = input["state_dir"].get<std::string>();
  }
  if (input.contains("lock_timeout_ms")) {
    const json& timeout = input["lock_timeout_ms"];
    if (!timeout.is_number_unsigned() || timeout.get<uint64_t>() > 600000) {
      return invalid("lock_timeout_ms: a whole number of milliseconds up to 600000 is required");
    }
    config->lock_timeout_ms = timeout.get<int>();
  }
  if (input.contains("prevResult")) {
    if (!input["prevResult"].is_object()) return invalid("prevResult: an object is required");
    config->prev_result = input["prevResult"];
  }
  return std::nullopt;
}

// CNI_ARGS: "K8S_POD_NAMESPACE=default;K8S_POD_UID=..." (IgnoreUnknown=1 and
// any other keys are accepted and ignored).
std::optional<Failure> parse_cni_args(const std::string& text,
                                      std::map<std::string, std::string>* args) {
  size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    size_t end = text.find(';', start);
    if (end == std::string::npos) end = text.size();
    std::string pair = text.substr(start, end - start);
    std::optional<std::pair<std::string, std::string>> split = split_name_value(pair);
    if (!split) {
      return Failure{kInvalidEnvironment, "invalid environment variables",
                     "CNI_ARGS: '" + pair + "' is not KEY=VALUE"};
    }
    (*args)[split->first] = split->second;
    start = end + 1;
    if (end == text.size()) break;
  }
  return std::nullopt;
}

std::optional<Failure> check_environment(const Environment& environment,
                                         const std::string& command) {
  std::vector<std::string> required = {"CNI_CONTAINERID", "CNI_IFNAME"};
  if (command != "DEL") required.push_back("CNI_NETNS");
  std::string missing;
  for (const std::string& name : required) {
    if (get(environment, name).empty()) missing += (missing.empty() ? "" : ", ") + name;
  }
  if (missing.empty()) return std::nullopt;
  return Failure{kInvalidEnvironment, "invalid environment variables",
                 missing + ": required for " + command + " and missing or empty"};
}

bool selected(const Config& config, const Pod& pod) {
  if (config.namespaces && !contains(*config.namespaces, pod.kubernetes_namespace)) return false;
  return !contains(config.exclude_namespaces, pod.kubernetes_namespace);
}

// Every address of prevResult.ips ("10.22.0.5/16" -> 10.22.0.5), checked
// before the node is opened.
std::optional<Failure> prev_addresses(const json& prev_result, std::vector<IpPrefix>* addresses) {
  if (!prev_result.contains("ips")) return std::nullopt;
  const json& ips = prev_result["ips"];
  if (!ips.is_array()) {
    return Failure{kInvalidConfig, "invalid network configuration", "prevResult.ips is not a list"};
  }
  for (size_t i = 0; i < ips.size(); ++i) {
    const json& ip = ips[i];
    std::optional<IpPrefix> prefix;
    if (ip.is_object() && ip.contains("address") && ip["address"].is_string()) {
      prefix = parse_ip_prefix(ip["address"].get<std::string>());
    }
    if (!prefix) {
      return Failure{kInvalidConfig, "invalid network configuration",
                     "prevResult.ips[" + std::to_string(i) +
                         "].address: an address in CIDR notation is required"};
    }
    addresses->push_back(*prefix);
  }
  return std::nullopt;
}

// The addresses of one family, as set elements, each once.
std::vector<std::string> of_family(const std::vector<IpPrefix>& addresses, IpFamily family) {
  std::vector<std::string> out;
  for (const IpPrefix& prefix : addresses) {
    std::string address = prefix.address_str();
    if (prefix.family == family && !contains(out, address)) out.push_back(address);
  }
  return out;
}

std::string first_lines(const Diagnostics& diagnostics) {
  std::string text = diagnostics.render();
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

// The policy compiled, its set found, the node opened and locked.
struct Node {
  CompiledPolicy compiled;
  SetTarget target;
  IpFamily family = IpFamily::v4;
  NodeAccess access;
  std::unique_ptr<ApplyLock> lock;
};

std::optional<Failure> open(const Config& config, Node* node) {
  Diagnostics diagnostics;
  PolicyOptions policy{config.policy, config.defines, {}};
  auto compiled = compile_from_options(policy, diagnostics);
  if (!compiled) {
    return Failure{kPolicyErrors, "the policy " + config.policy + " does not compile",
                   first_lines(diagnostics)};
  }
  node->compiled = std::move(*compiled);
  auto target =
      find_managed_set(node->compiled.table, node->compiled.routing, config.set, diagnostics);
  if (!target) {
    return Failure{kInvalidConfig, "invalid network configuration",
                   "set: " + first_lines(diagnostics)};
  }
  node->target = std::move(*target);
  const std::string& type = node->target.set->type;
  if (type != "ipv4_addr" && type != "ipv6_addr") {
    return Failure{kInvalidConfig, "invalid network configuration",
                   "set: '" + config.set + "' holds " + type + ", not pod addresses"};
  }
  node->family = type == "ipv4_addr" ? IpFamily::v4 : IpFamily::v6;

  std::string error;
  auto access = open_node(NodeOptions{}, "cni", &error);
  if (!access) return Failure{kNodeFailure, "cannot open the node", error};
  node->access = std::move(*access);
  const nft::Table& table = node->compiled.table;
  node->lock = std::make_unique<ApplyLock>(table.family, table.name, config.lock_timeout_ms);
  if (!node->lock->ok()) {
    // Only a lock held by another ztc is transient; a bad run directory is not.
    bool busy = node->lock->timed_out();
    return Failure{busy ? kTryAgainLater : kNodeFailure,
                   busy ? "another ztc holds the lock: try again later" : "cannot lock the node",
                   node->lock->error()};
  }
  return std::nullopt;
}

std::string state_dir(const Config& config) {
  return config.state_dir ? *config.state_dir : member_state_dir(false);
}

std::vector<MemberInput> members_of(const std::vector<std::string>& addresses,
                                    const std::optional<std::string>& comment) {
  std::vector<MemberInput> members;
  for (const std::string& address : addresses) members.push_back({address, comment, Location{}});
  return members;
}

std::optional<Failure> enrolment_failed(const EnrollResult& result, const std::string& what) {
  if (result.ok) return std::nullopt;
  return Failure{kNodeFailure, what, first_lines(result.diagnostics)};
}

std::optional<Failure> add(const Config& config, const Pod& pod, const std::vector<IpPrefix>& ips,
                           std::ostream& out, std::ostream& err) {
  Node node;
  if (auto failure = open(config, &node)) return failure;
  std::vector<std::string> addresses = of_family(ips, node.family);
  if (!addresses.empty()) {
    Kernels kernels{*node.access.nft, *node.access.routing, node.access.sets.get()};
    EnrollResult result =
        add_members(node.target, members_of(addresses, pod.key), kernels, *node.access.sets);
    if (auto failure = enrolment_failed(result, "cannot enrol the pod into set " + config.set)) {
      return failure;
    }
    keep_member_state(state_dir(config), node.target, *node.access.sets, result.changed(), err);
  }
  json result = config.prev_result;
  result["cniVersion"] = config.cni_version;
  out << result.dump() << "\n";
  return std::nullopt;
}

std::optional<Failure> del(const Config& config, const Pod& pod, std::ostream& err) {
  Node node;
  if (auto failure = open(config, &node)) return failure;
  const nft::Table& table = node.compiled.table;
  nft::SetDescription kernel;
  if (auto error =
          node.access.sets->describe(table.family, table.name, node.target.set->name, &kernel)) {
    return Failure{kNodeFailure, "cannot read set " + config.set, *error};
  }
  // Not loaded: nothing of this pod can be enrolled.
  if (!kernel.table_exists || !kernel.set_exists) return std::nullopt;
  Diagnostics diagnostics;
  auto members = list_members(node.target, *node.access.sets, diagnostics);
  if (!members)
    return Failure{kNodeFailure, "cannot list set " + config.set, first_lines(diagnostics)};
  std::vector<std::string> addresses;
  for (const nft::Element& member : *members) {
    if (member.comment == pod.key) addresses.push_back(member.value);
  }
  if (addresses.empty()) return std::nullopt;
  Kernels kernels{*node.access.nft, *node.access.routing, node.access.sets.get()};
  EnrollResult result =
      remove_members(node.target, members_of(addresses, std::nullopt), kernels, *node.access.sets);
  if (auto failure = enrolment_failed(result, "cannot remove the pod from set " + config.set)) {
    return failure;
  }
  keep_member_state(state_dir(config), node.target, *node.access.sets, result.changed(), err);
  return std::nullopt;
}

std::optional<Failure> check(const Config& config, const Pod& pod,
                             const std::vector<IpPrefix>& ips) {
  Node node;
  if (auto failure = open(config, &node)) return failure;
  std::vector<std::string> addresses = of_family(ips, node.family);
  const nft::Table& table = node.compiled.table;
  std::vector<std::optional<nft::Element>> found;
  if (auto error = node.access.sets->find(table.family, table.name, node.target.set->name,
                                          addresses, &found)) {
    return Failure{kNodeFailure, "cannot read set " + config.set, *error};
  }
  std::vector<route::Route> kernel_routes;
  if (!node.target.derived.empty()) {
    if (auto error = node.access.routing->list_routes(&kernel_routes)) {
      return Failure{kNodeFailure, "cannot list routes", *error};
    }
  }
  std::string problems;
  auto problem = [&](const std::string& text) {
    problems += (problems.empty() ? "" : "; ") + text;
  };
  for (size_t i = 0; i < addresses.size(); ++i) {
    const std::string& address = addresses[i];
    if (!found[i]) {
      problem(address + " is not a member of set " + config.set);
    } else if (found[i]->comment != pod.key) {
      problem(address + " is a member of set " + config.set + " for '" + found[i]->comment +
              "', not for '" + pod.key + "'");
    }
    std::optional<IpPrefix> member = parse_ip_prefix(address);
    for (const route::DerivedRoutes& derived : node.target.derived) {
      if (!member || derived.route.family != member->family) continue;
      route::Route wanted = route::derive_route(derived, *member);
      bool present =
          std::any_of(kernel_routes.begin(), kernel_routes.end(),
                      [&](const route::Route& r) { return route::same_route(r, wanted); });
      if (!present) problem("route missing: " + route::describe(wanted));
    }
  }
  if (!problems.empty()) {
    return Failure{kNotEnrolled, "pod " + pod.key + " is not enrolled as expected", problems};
  }
  return std::nullopt;
}

void print_failure(const Failure& failure, const std::string& cni_version, std::ostream& out,
                   std::ostream& err) {
  json error = {{"cniVersion", cni_version},
                {"code", failure.code},
                {"msg", failure.msg},
                {"details", failure.details}};
  out << error.dump() << "\n";
  err << "ztc-cni: error: " << failure.msg << (failure.details.empty() ? "" : ": ")
      << failure.details << "\n";
}

}  // namespace

int run(const Environment& environment, const std::string& input, std::ostream& out,
        std::ostream& err) {
  const std::string command = get(environment, "CNI_COMMAND");
  json parsed = json::parse(input, nullptr, /*allow_exceptions=*/false);
  std::string version = kDefaultVersion;
  if (parsed.is_object() && parsed.contains("cniVersion") && parsed["cniVersion"].is_string()) {
    version = parsed["cniVersion"].get<std::string>();
  }
  auto fail = [&](const Failure& failure, const std::string& cni_version) {
    print_failure(failure, cni_version, out, err);
    return 1;
  };

  if (command == "VERSION") {
    if (!input.empty() && parsed.is_discarded()) {
      return fail({kDecodingFailure, "cannot decode the input", "stdin is not JSON"}, version);
    }
    out << json{{"cniVersion", version}, {"supportedVersions", kSupportedVersions}}.dump() << "\n";
    return 0;
  }
  if (command != "ADD" && command != "DEL" && command != "CHECK") {
    return fail({kInvalidEnvironment, "invalid environment variables",
                 "CNI_COMMAND: '" + command + "' is not ADD, DEL, CHECK or VERSION"},
                version);
  }
  if (parsed.is_discarded()) {
    return fail({kDecodingFailure, "cannot decode the network configuration", "stdin is not JSON"},
                version);
  }
  Config config;
  if (auto failure = parse_config(parsed, &config)) return fail(*failure, config.cni_version);
  if (auto failure = check_environment(environment, command)) {
    return fail(*failure, config.cni_version);
  }
  std::map<std::string, std::string> args;
  if (auto failure = parse_cni_args(get(environment, "CNI_ARGS"), &args)) {
    return fail(*failure, config.cni_version);
  }
  Pod pod;
  pod.key =
      !args["K8S_POD_UID"].empty() ? args["K8S_POD_UID"] : get(environment, "CNI_CONTAINERID");
  pod.kubernetes_namespace = args["K8S_POD_NAMESPACE"];

  if (command != "DEL" && config.prev_result.is_null()) {
    return fail({kInvalidConfig, "invalid network configuration",
                 "prevResult is missing: ztc-cni is chained after the plugin that sets up the "
                 "pod's interface and addresses"},
                config.cni_version);
  }
  std::vector<IpPrefix> ips;
  if (command != "DEL") {
    if (auto failure = prev_addresses(config.prev_result, &ips)) {
      return fail(*failure, config.cni_version);
    }
  }
  std::optional<Failure> failure;
  if (command == "ADD") {
    if (!selected(config, pod)) {
      json result = config.prev_result;
      result["cniVersion"] = config.cni_version;
      out << result.dump() << "\n";
      return 0;
    }
    failure = add(config, pod, ips, out, err);
  } else if (command == "DEL") {
    // Regardless of the namespace selection: whatever carries this pod's
    // key goes, even if the selection changed since its ADD.
    failure = del(config, pod, err);
  } else if (selected(config, pod)) {
    failure = check(config, pod, ips);
  }
  if (failure) return fail(*failure, config.cni_version);
  return 0;
}

}  // namespace ztc::cni
