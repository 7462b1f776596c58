// `ztc-cni install/uninstall` on a scratch CNI bin and conf directory.
#include "tools/cni/cni_install.h"

#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <sstream>
#include <vector>

#include "testsupport/files.h"

namespace ztc::cni {
namespace {

using nlohmann::json;

const json kBridgeList = json::parse(R"({"cniVersion":"1.0.0","name":"k8s-pod-network",
  "plugins":[{"type":"bridge","bridge":"cni0"},{"type":"portmap"}]})");

int installer(std::vector<std::string> args, std::string* out, std::string* err) {
  args.insert(args.begin(), "ztc-cni");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::ostringstream o, e;
  int code = run_install(static_cast<int>(argv.size()), argv.data(), o, e);
  *out = o.str();
  *err = e.str();
  return code;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cni_install)

BOOST_AUTO_TEST_CASE(the_plugin_goes_last_once_and_comes_out_again) {
  json ours = {{"type", "ztc-cni"}, {"policy", "/etc/ztc/p.zt"}, {"set", "pods"}};
  json once = with_plugin(kBridgeList, ours);
  BOOST_TEST(once["plugins"].size() == 3u);
  BOOST_TEST(once["plugins"][2] == ours);
  // Again (an agent restart, a changed policy path): replaced, not doubled.
  json changed = ours;
  changed["policy"] = "/etc/ztc/q.zt";
  json twice = with_plugin(once, changed);
  BOOST_TEST(twice["plugins"].size() == 3u);
  BOOST_TEST(twice["plugins"][2] == changed);
  BOOST_TEST(without_plugin(twice) == kBridgeList);
}

BOOST_AUTO_TEST_CASE(install_copies_the_binary_and_chains_it_in_the_first_conflist) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.file("bin"));
  std::filesystem::create_directories(dir.file("net.d"));
  dir.write("net.d/10-pods.conflist", kBridgeList.dump());
  dir.write("net.d/20-other.conflist", kBridgeList.dump());
  std::string out, err;
  std::vector<std::string> dirs = {"--cni-bin-dir", dir.file("bin"), "--cni-conf-dir",
                                   dir.file("net.d")};
  std::vector<std::string> args = {
      "install", "--policy",         "/etc/ztc/p.zt",       "--set",      "pods",
      "-D",      "host_ip=10.0.0.7", "--exclude-namespace", "kube-system"};
  args.insert(args.end(), dirs.begin(), dirs.end());
  BOOST_TEST(installer(args, &out, &err) == 0, err);
  struct stat info {};
  BOOST_TEST(stat(dir.file("bin/ztc-cni").c_str(), &info) == 0);
  BOOST_TEST((info.st_mode & 0777) == 0755);
  json installed = json::parse(testing::read_file(dir.file("net.d/10-pods.conflist")));
  BOOST_TEST(installed["plugins"][2].dump() ==
             R"({"defines":{"host_ip":"10.0.0.7"},"exclude_namespaces":["kube-system"],)"
             R"("policy":"/etc/ztc/p.zt","set":"pods","type":"ztc-cni"})");
  BOOST_TEST(json::parse(testing::read_file(dir.file("net.d/20-other.conflist"))) == kBridgeList);

  std::vector<std::string> remove = {"uninstall"};
  remove.insert(remove.end(), dirs.begin(), dirs.end());
  BOOST_TEST(installer(remove, &out, &err) == 0, err);
  BOOST_TEST(stat(dir.file("bin/ztc-cni").c_str(), &info) != 0);
  BOOST_TEST(json::parse(testing::read_file(dir.file("net.d/10-pods.conflist"))) == kBridgeList);
  BOOST_TEST(installer(remove, &out, &err) == 0, err);  // twice is fine
}

BOOST_AUTO_TEST_CASE(install_without_a_network_says_so_and_writes_nothing) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.file("bin"));
  std::filesystem::create_directories(dir.file("net.d"));
  std::string out, err;
  BOOST_TEST(installer({"install", "--policy", "p", "--set", "pods", "--cni-bin-dir",
                        dir.file("bin"), "--cni-conf-dir", dir.file("net.d")},
                       &out, &err) == 1);
  BOOST_TEST(err == "ztc-cni: error: no *.conflist in " + dir.file("net.d") +
                        " (is the network plugin installed yet?)\n");
  BOOST_TEST(std::filesystem::is_empty(dir.file("bin")));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc::cni
