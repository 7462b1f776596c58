// `ztc-cni install` / `ztc-cni uninstall`: what a node agent's init step does
// (tools/deploy/): copy the plugin into the node's CNI bin directory and
// chain it at the end of the node's network configuration list (the first
// *.conflist of the CNI conf directory, as kubelet and containerd pick it);
// uninstall takes both out again. Files are replaced by rename, never
// half-written.
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>

namespace ztc::cni {

// The conflist with every ztc-cni entry removed and `plugin` appended.
nlohmann::json with_plugin(nlohmann::json conflist, const nlohmann::json& plugin);
// The conflist with every ztc-cni entry removed.
nlohmann::json without_plugin(nlohmann::json conflist);

// main's argc and argv: install|uninstall and their options. Returns
// the exit code (0, 1 failure, 2 usage).
int run_install(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace ztc::cni
