// ztc-cni without a kernel: the protocol (VERSION, error objects and codes)
// and every check made before the node is opened. Node-level behaviour, as a
// runtime drives it, is tools/cni/cni_test.py.
#include "tools/cni/cni_plugin.h"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "testsupport/files.h"

namespace ztc::cni {
namespace {

using nlohmann::json;

const std::string kExample = std::string(ZTC_SOURCE_DIR) + "/examples/ambient-node.zt";

struct Run {
  int exit_code;
  json out;
  std::string err;
};

Environment pod_environment(const std::string& command) {
  return {{"CNI_COMMAND", command},
          {"CNI_CONTAINERID", "c0ffee"},
          {"CNI_NETNS", "/run/netns/no-such-ztc-unit-netns"},
          {"CNI_IFNAME", "eth0"},
          {"CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_UID=uid-1"}};
}

json config() {
  return {{"cniVersion", "1.0.0"},
          {"name", "podnet"},
          {"type", "ztc-cni"},
          {"policy", kExample},
          {"set", "pods"},
          {"prevResult",
           {{"cniVersion", "1.0.0"},
            {"interfaces", {{{"name", "eth0"}, {"sandbox", "/run/netns/p"}}}},
            {"ips", {{{"address", "10.22.0.5/16"}, {"gateway", "10.22.0.1"}, {"interface", 0}}}}}}};
}

Run run_plugin(const Environment& environment, const std::string& input) {
  std::ostringstream out, err;
  int code = run(environment, input, out, err);
  // DEL and CHECK print nothing on success.
  json parsed = out.str().empty() ? json() : json::parse(out.str(), nullptr, false);
  BOOST_TEST_INFO("stdout: " << out.str());
  BOOST_TEST(!parsed.is_discarded());
  return {code, parsed, err.str()};
}

// An error run: exit 1 and the spec's error object, whole.
void expect_error(const Run& run, const std::string& version, int code, const std::string& msg,
                  const std::string& details) {
  BOOST_TEST(run.exit_code == 1);
  json expected = {{"cniVersion", version}, {"code", code}, {"msg", msg}, {"details", details}};
  BOOST_TEST(run.out.dump() == expected.dump());
  BOOST_TEST(run.err == "ztc-cni: error: " + msg + ": " + details + "\n");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cni_plugin)

BOOST_AUTO_TEST_CASE(version_lists_the_supported_versions_in_the_callers_version) {
  Run r = run_plugin({{"CNI_COMMAND", "VERSION"}}, R"({"cniVersion":"0.4.0"})");
  BOOST_TEST(r.exit_code == 0);
  BOOST_TEST(r.out.dump() ==
             R"({"cniVersion":"0.4.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0"]})");
  Run empty = run_plugin({{"CNI_COMMAND", "VERSION"}}, "");
  BOOST_TEST(empty.out["cniVersion"] == "1.0.0");
}

BOOST_AUTO_TEST_CASE(a_missing_or_unknown_command_is_an_invalid_environment) {
  expect_error(run_plugin({}, config().dump()), "1.0.0", 4, "invalid environment variables",
               "CNI_COMMAND: '' is not ADD, DEL, CHECK or VERSION");
  expect_error(run_plugin({{"CNI_COMMAND", "GC"}}, config().dump()), "1.0.0", 4,
               "invalid environment variables",
               "CNI_COMMAND: 'GC' is not ADD, DEL, CHECK or VERSION");
}

BOOST_AUTO_TEST_CASE(missing_variables_are_named) {
  Environment environment = pod_environment("ADD");
  environment.erase("CNI_NETNS");
  environment["CNI_IFNAME"] = "";
  expect_error(run_plugin(environment, config().dump()), "1.0.0", 4,
               "invalid environment variables",
               "CNI_IFNAME, CNI_NETNS: required for ADD and missing or empty");
  // DEL does not need the namespace: the runtime may have removed it.
  Environment del = pod_environment("DEL");
  del.erase("CNI_NETNS");
  del.erase("CNI_CONTAINERID");
  expect_error(run_plugin(del, config().dump()), "1.0.0", 4, "invalid environment variables",
               "CNI_CONTAINERID: required for DEL and missing or empty");
}

BOOST_AUTO_TEST_CASE(cni_args_must_be_key_value_pairs) {
  Environment environment = pod_environment("ADD");
  environment["CNI_ARGS"] = "K8S_POD_UID=uid-1;garbage";
  expect_error(run_plugin(environment, config().dump()), "1.0.0", 4,
               "invalid environment variables", "CNI_ARGS: 'garbage' is not KEY=VALUE");
}

BOOST_AUTO_TEST_CASE(input_that_is_not_json_is_a_decoding_failure) {
  expect_error(run_plugin(pod_environment("ADD"), "{\"cniVersion\": \"1.0.0\","), "1.0.0", 6,
               "cannot decode the network configuration", "stdin is not JSON");
}

BOOST_AUTO_TEST_CASE(an_unsupported_version_is_incompatible) {
  json c = config();
  c["cniVersion"] = "2.0.0";
  expect_error(run_plugin(pod_environment("ADD"), c.dump()), "1.0.0", 1, "incompatible CNI version",
               "cniVersion 2.0.0 is not one of 0.3.0, 0.3.1, 0.4.0, 1.0.0");
}

BOOST_AUTO_TEST_CASE(config_fields_are_checked_with_their_names) {
  auto expect_invalid = [](json c, const std::string& details) {
    expect_error(run_plugin(pod_environment("ADD"), c.dump()), c["cniVersion"], 7,
                 "invalid network configuration", details);
  };
  json c = config();
  c["cniVersion"] = "0.4.0";
  c.erase("policy");
  expect_invalid(c, "policy: a non-empty string is required");
  c = config();
  c["set"] = 5;
  expect_invalid(c, "set: a non-empty string is required");
  c = config();
  c["defines"] = {{"host_ip", 10}};
  expect_invalid(c, "defines.host_ip: the value must be a string, as after -D host_ip=");
  c = config();
  c["namespaces"] = "default";
  expect_invalid(c, "namespaces: a list of strings is required");
  c = config();
  c["exclude_namespaces"] = {"kube-system", 1};
  expect_invalid(c, "exclude_namespaces: a list of strings is required");
  c = config();
  c["lock_timeout_ms"] = -1;
  expect_invalid(c, "lock_timeout_ms: a whole number of milliseconds up to 600000 is required");
  c = config();
  c.erase("prevResult");
  expect_invalid(c,
                 "prevResult is missing: ztc-cni is chained after the plugin that sets up the "
                 "pod's interface and addresses");
  c = config();
  c["prevResult"]["ips"][0]["address"] = "10.22.0.500/16";
  expect_invalid(c, "prevResult.ips[0].address: an address in CIDR notation is required");
}

BOOST_AUTO_TEST_CASE(a_policy_that_does_not_compile_is_reported_with_its_diagnostics) {
  testing::TempDir dir;
  std::string policy = dir.write("bad.zt", "table ip t\nset pods: ipv4 managed\nmark m = 0x1q\n");
  json c = config();
  c["policy"] = policy;
  Run r = run_plugin(pod_environment("ADD"), c.dump());
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(r.out["code"] == 100);
  BOOST_TEST(r.out["msg"] == "the policy " + policy + " does not compile");
  BOOST_TEST(r.out["details"].get<std::string>().rfind(policy + ":3:", 0) == 0);
}

BOOST_AUTO_TEST_CASE(the_set_must_be_a_managed_set_of_the_policy) {
  json c = config();
  c["set"] = "nosuch";
  Run r = run_plugin(pod_environment("ADD"), c.dump());
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(r.out["code"] == 7);
  BOOST_TEST(r.out["details"].get<std::string>().rfind("set: ", 0) == 0);
}

BOOST_AUTO_TEST_CASE(a_pod_outside_the_selected_namespaces_passes_through_untouched) {
  // The policy path does not exist: had the plugin gone further than the
  // selection, it would have failed to compile it.
  for (json selection :
       {json{{"namespaces", {"mesh"}}}, json{{"exclude_namespaces", {"kube-system", "default"}}}}) {
    json c = config();
    c["policy"] = "/nonexistent/ztc-policy.zt";
    c.update(selection);
    Run r = run_plugin(pod_environment("ADD"), c.dump());
    BOOST_TEST(r.exit_code == 0);
    BOOST_TEST(r.out.dump() == config()["prevResult"].dump());
    Run check = run_plugin(pod_environment("CHECK"), c.dump());
    BOOST_TEST(check.exit_code == 0);
    BOOST_TEST(check.out.is_null());
  }
}

BOOST_AUTO_TEST_CASE(add_prints_prev_result_with_the_configs_version) {
  json c = config();
  c["cniVersion"] = "0.4.0";
  c["prevResult"]["cniVersion"] = "0.4.0";
  c["prevResult"]["ips"][0]["version"] = "4";
  c["namespaces"] = json::array();  // nobody: no node needed
  Run r = run_plugin(pod_environment("ADD"), c.dump());
  BOOST_TEST(r.exit_code == 0);
  BOOST_TEST(r.out.dump() == c["prevResult"].dump());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc::cni
