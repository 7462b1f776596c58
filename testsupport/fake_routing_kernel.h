// An in-memory RoutingKernel for unit tests. It keeps the kernel's rules that
// matter to ztc: rules and routes of every owner (protocol), uniqueness of rule
// contents and of route keys, deletes that only find ztc-tagged entries, devices
// and sysctls. It counts write attempts and can be told to fail one.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "backend/routing_kernel.h"

namespace ztc::route {

class FakeRoutingKernel : public RoutingKernel {
 public:
  struct StoredRule {
    Rule rule;
    uint8_t protocol = kZtcProtocol;
  };
  struct StoredRoute {
    Route route;
    uint8_t protocol = kZtcProtocol;
  };
  static constexpr uint8_t kBootProtocol = 3;  // RTPROT_BOOT: what `ip` uses by default

  // ---- RoutingKernel
  KernelError list_rules(std::vector<Rule>* rules) override;
  KernelError list_routes(std::vector<Route>* routes) override;
  KernelError add_rule(const Rule& rule) override;
  KernelError delete_rule(const Rule& rule) override;
  KernelError add_route(const Route& route) override;
  KernelError replace_route(const Route& route) override;
  KernelError delete_route(const Route& route) override;
  KernelError read_sysctl(const std::string& key, std::string* value) override;
  KernelError write_sysctl(const std::string& key, const std::string& value) override;
  bool device_exists(const std::string& name) override;

  // ---- setup (not counted as writes)
  void add_device(const std::string& name) { devices_.push_back(name); }
  void add_foreign_rule(const Rule& rule, uint8_t protocol = kBootProtocol);
  void add_foreign_route(const Route& route, uint8_t protocol = kBootProtocol);
  void set_sysctl(const std::string& key, const std::string& value) { sysctls_[key] = value; }

  // ---- faults
  // The Nth write attempt from now (1 = the next) fails with `reason` and changes nothing.
  void fail_write(int nth, std::string reason = "Operation not permitted");
  // Every write of a route or rule naming this device fails.
  void fail_device(std::string device, std::string reason = "Network is down");

  // ---- inspection
  int writes() const { return writes_; }  // write attempts, failed ones included
  void reset_writes() { writes_ = 0; }
  // One line per write attempt, in order: "add -4 rule prio 100 ... ", "FAILED delete ...".
  const std::vector<std::string>& log() const { return log_; }
  const std::vector<StoredRule>& all_rules() const { return rules_; }
  const std::vector<StoredRoute>& all_routes() const { return routes_; }
  const std::map<std::string, std::string>& sysctls() const { return sysctls_; }

 private:
  // Counts the attempt and decides whether it fails; nullopt to go ahead.
  KernelError begin_write(const std::string& what, const std::optional<std::string>& device);
  void insert_rule(StoredRule stored);

  std::vector<StoredRule> rules_;  // kernel order: by priority, then insertion
  std::vector<StoredRoute> routes_;
  std::vector<std::string> devices_;
  std::map<std::string, std::string> sysctls_;
  int writes_ = 0;
  int fail_countdown_ = 0;
  std::string fail_reason_;
  std::string fail_device_;
  std::string fail_device_reason_;
  std::vector<std::string> log_;
};

}  // namespace ztc::route
