#!/usr/bin/env python3
"""Checks the Kubernetes manifests' fields that matter (python3-yaml), and
that the ConfigMap's policy compiles with the -D values the DaemonSet gives.

  tools/deploy/deploy_test.py --ztc build/ztc
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import unittest

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ZTC = None


def documents(name):
    with open(os.path.join(HERE, name)) as f:
        return {doc["kind"]: doc for doc in yaml.safe_load_all(f)}


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


class Manifests(unittest.TestCase):
    def setUp(self):
        self.docs = documents("ztc.yaml")
        self.pod = self.docs["DaemonSet"]["spec"]["template"]["spec"]

    def test_daemonset_runs_on_every_node_in_the_hosts_network(self):
        daemonset = self.docs["DaemonSet"]
        self.assertEqual(daemonset["spec"]["selector"]["matchLabels"],
                         daemonset["spec"]["template"]["metadata"]["labels"])
        self.assertIs(self.pod["hostNetwork"], True)
        self.assertIn({"operator": "Exists"}, self.pod["tolerations"])
        self.assertEqual(self.pod["priorityClassName"], "system-node-critical")

    def test_every_container_has_net_admin_and_the_host_paths(self):
        volumes = {v["name"]: v for v in self.pod["volumes"]}
        for container in self.pod["initContainers"] + self.pod["containers"]:
            capabilities = container["securityContext"]["capabilities"]["add"]
            self.assertIn("NET_ADMIN", capabilities)
            self.assertIn("SYS_ADMIN", capabilities)  # ztc diff's scratch namespace
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            # Same paths as on the host: ztc-cni, run by the kubelet on the
            # host, reads the policy and state and takes the lock there.
            for path in ("/etc/ztc", "/var/lib/ztc", "/run/ztc"):
                self.assertEqual(volumes[mounts[path]]["hostPath"]["path"], path)
            self.assertEqual(volumes[mounts["/host/opt/cni/bin"]]["hostPath"]["path"],
                             "/opt/cni/bin")
            self.assertEqual(volumes[mounts["/host/etc/cni/net.d"]]["hostPath"]["path"],
                             "/etc/cni/net.d")
            self.assertEqual(volumes[mounts["/etc/ztc-config"]]["configMap"]["name"],
                             self.docs["ConfigMap"]["metadata"]["name"])

    def test_defines_come_from_the_downward_api(self):
        for container in self.pod["initContainers"] + self.pod["containers"]:
            env = env_of(container)
            self.assertEqual(env["NODE_IP"]["valueFrom"]["fieldRef"]["fieldPath"],
                             "status.hostIP")
            self.assertIn("$(NODE_IP)", env["ZTC_DEFINES"]["value"])

    def test_init_installs_the_plugin_then_the_agent_reloads_and_is_ready_when_clean(self):
        self.assertEqual(self.pod["initContainers"][0]["command"],
                         ["/usr/bin/ztc-agent", "init"])
        agent = self.pod["containers"][0]
        self.assertEqual(agent["command"], ["/usr/bin/ztc-agent", "run"])
        self.assertEqual(agent["readinessProbe"]["exec"]["command"],
                         ["/usr/bin/ztc-agent", "ready"])
        with open(os.path.join(HERE, "ztc-agent")) as f:
            script = f.read()
        self.assertRegex(script, r"ready\)\n(\s*#.*\n)*\s*/usr/bin/ztc diff ")
        self.assertIn("ztc-cni install", script)
        subprocess.run(["sh", "-n", os.path.join(HERE, "ztc-agent")], check=True)

    def test_the_configmap_policy_compiles_with_the_daemonsets_defines(self):
        policy = self.docs["ConfigMap"]["data"]["policy.zt"]
        defines = env_of(self.pod["containers"][0])["ZTC_DEFINES"]["value"]
        words = re.sub(r"\$\(NODE_IP\)", "10.0.0.7", defines).split()
        with tempfile.NamedTemporaryFile("w", suffix=".zt") as f:
            f.write(policy)
            f.flush()
            result = subprocess.run([ZTC, "compile", f.name, "--emit", "nft", *words],
                                    capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        set_name = env_of(self.pod["containers"][0])["ZTC_SET"]["value"]
        self.assertRegex(result.stdout, rf"set {set_name} {{")

    def test_uninstall_unloads_and_removes_the_plugin(self):
        uninstall = documents("ztc-uninstall.yaml")["DaemonSet"]["spec"]["template"]["spec"]
        self.assertIs(uninstall["hostNetwork"], True)
        step = uninstall["initContainers"][0]
        self.assertEqual(step["command"], ["/usr/bin/ztc-agent", "uninstall"])
        self.assertIn("NET_ADMIN", step["securityContext"]["capabilities"]["add"])
        volumes = {v["name"]: v["hostPath"]["path"] for v in uninstall["volumes"]}
        mounts = {m["mountPath"]: volumes[m["name"]] for m in step["volumeMounts"]}
        self.assertEqual(mounts["/host/opt/cni/bin"], "/opt/cni/bin")
        self.assertEqual(mounts["/etc/ztc"], "/etc/ztc")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--ztc", required=True)
    args, rest = parser.parse_known_args()
    ZTC = os.path.abspath(args.ztc)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=1)
