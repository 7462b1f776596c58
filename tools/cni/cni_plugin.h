// ztc-cni: a chained CNI plugin (spec 1.0.0; 0.3.x and 0.4.0 results) that
// enrols each new pod's addresses into a managed set of a loaded ztc policy,
// through the same enrolment as `ztc set` (backend/enroll.h).
//
// Network configuration (the plugin's object in the conflist):
//   "type": "ztc-cni",
//   "policy": "/etc/ztc/ambient.zt",         the policy as `ztc load` loaded it
//   "set": "pods",                           a managed set of that policy
//   "defines": {"host_ip": "10.244.1.1"},    its -D values
//   "namespaces": ["default"],               optional: K8S_POD_NAMESPACE values to enrol
//   "exclude_namespaces": ["kube-system"],   optional
//   "state_dir": "/var/lib/ztc",             optional (backend/member_state.h)
//   "lock_timeout_ms": 30000                 optional: then code 11, try again later
//
// ADD enrols every address of prevResult.ips of the set's family with the
// comment K8S_POD_UID (else CNI_CONTAINERID) and prints prevResult; DEL
// removes the members with that comment (no prevResult needed; an unknown pod
// is success); CHECK fails when an address is not a member with that comment
// or a derived route is missing. Errors are the spec's error object on
// stdout and exit 1; the node is left as it was.
#pragma once

#include <iosfwd>
#include <map>
#include <string>

namespace ztc::cni {

// Error codes: the spec's, then ztc's own (100+).
constexpr int kIncompatibleVersion = 1;
constexpr int kInvalidEnvironment = 4;
constexpr int kDecodingFailure = 6;
constexpr int kInvalidConfig = 7;
constexpr int kTryAgainLater = 11;
constexpr int kPolicyErrors = 100;  // the policy does not compile with these defines
constexpr int kNodeFailure = 101;   // the node refused or is not ready (table not loaded, ...)
constexpr int kNotEnrolled = 102;   // CHECK: a member or a route is missing

using Environment = std::map<std::string, std::string>;

// One invocation: CNI_* variables from `environment`, the configuration from
// `input` (stdin). Returns the exit code.
int run(const Environment& environment, const std::string& input, std::ostream& out,
        std::ostream& err);

}  // namespace ztc::cni
