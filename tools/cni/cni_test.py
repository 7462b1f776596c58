#!/usr/bin/env python3
"""ztc-cni driven the way a container runtime drives it (root).

Each test makes a "node" network namespace (the policy is loaded there with
`ztc load --netns`; every plugin runs inside it through `ip netns exec`, as a
runtime runs plugins in the host namespace) and one namespace per "pod". The
chain is Debian's containernetworking-plugins `bridge` (+ `host-local` IPAM)
then ztc-cni, run like libcni: CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS,
CNI_IFNAME, CNI_ARGS, CNI_PATH; each plugin's configuration on stdin with
cniVersion, name and the previous plugin's result as prevResult; DEL in
reverse order with the cached ADD result. Nothing runs in the root namespace.

  tools/cni/cni_test.py --ztc build/ztc --plugin build/ztc-cni --node-script build/systemd/ztc-node
"""
import argparse
import concurrent.futures
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

ARGS = None
CNI_PLUGINS = "/usr/lib/cni"
TIMEOUT = 60  # seconds, for any one command

POLICY = """\
param tunnel_peer: ipv4 = 192.168.126.2
table ip ztcni
mark outbound = 0x100
iface tunnel = "tun0"
set pods: ipv4 managed
capture prerouting {
  tcp saddr @pods => mark |= outbound
}
rule 101 fwmark outbound lookup 100
route 100 for pods {
  member via tunnel_peer dev tunnel
}
"""


def run(cmd, check=True, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{cmd} exited {result.returncode}: {result.stderr}{result.stdout}")
    return result


class Node:
    """The node namespace, its policy, and the CNI chain of its network."""

    def __init__(self, tag):
        self.name = f"ztc-cni-{os.getpid()}-{tag}"
        self.dir = tempfile.mkdtemp(prefix="ztc-cni-test-")
        self.pods = []
        self.results = {}  # container id -> the chain's cached ADD result
        self.retries = 0  # plugin runs tried again after code 11
        self.policy = os.path.join(self.dir, "node.zt")
        self.state_dir = os.path.join(self.dir, "state")
        self.bin = os.path.join(self.dir, "bin")
        with open(self.policy, "w") as f:
            f.write(POLICY)
        os.mkdir(self.bin)
        for plugin in ("bridge", "host-local"):
            os.symlink(os.path.join(CNI_PLUGINS, plugin), os.path.join(self.bin, plugin))
        os.symlink(os.path.abspath(ARGS.plugin), os.path.join(self.bin, "ztc-cni"))
        try:
            self.create()
        except BaseException:
            self.close()
            raise

    def create(self):
        run(["ip", "netns", "add", self.name])
        for cmd in (["link", "set", "lo", "up"], ["link", "add", "tun0", "type", "veth", "peer", "name", "tun0p"],
                    ["addr", "add", "192.168.126.1/30", "dev", "tun0"],
                    ["link", "set", "tun0", "up"], ["link", "set", "tun0p", "up"]):
            run(["ip", "-n", self.name] + cmd)

    def destroy(self):
        for pod in self.pods:
            run(["ip", "netns", "del", pod], check=False)
        self.pods = []
        run(["ip", "netns", "del", self.name], check=False)

    def close(self):
        self.destroy()
        shutil.rmtree(self.dir, ignore_errors=True)

    def ztc(self, *args, check=True, env=None):
        return run([ARGS.ztc, *args, "--netns", self.name], check=check, env=env)

    def load(self):
        self.ztc("load", self.policy)

    def conflist(self, **ztc_fields):
        ztc = {"type": "ztc-cni", "policy": self.policy, "set": "pods",
               "state_dir": self.state_dir}
        ztc.update(ztc_fields)
        return {
            "cniVersion": "1.0.0",
            "name": "ztcnet",
            "plugins": [
                {"type": "bridge", "bridge": "cni0", "isGateway": True,
                 "ipam": {"type": "host-local", "subnet": "10.22.0.0/16",
                          "dataDir": os.path.join(self.dir, "ipam")}},
                ztc,
            ],
        }

    def new_pod(self, index):
        pod = f"{self.name}-pod{index}"
        run(["ip", "netns", "add", pod])
        self.pods.append(pod)
        return pod

    def plugin(self, plugin_conf, network, command, pod, container, args, prev=None):
        """One plugin, as libcni execs it. Returns (exit code, stdout JSON or None, stderr)."""
        conf = dict(plugin_conf)
        conf["cniVersion"] = network["cniVersion"]
        conf["name"] = network["name"]
        if prev is not None:
            conf["prevResult"] = prev
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "CNI_COMMAND": command, "CNI_CONTAINERID": container,
               "CNI_NETNS": f"/run/netns/{pod}", "CNI_IFNAME": "eth0",
               "CNI_ARGS": ";".join(f"{k}={v}" for k, v in args.items()),
               "CNI_PATH": self.bin}
        result = subprocess.run(["ip", "netns", "exec", self.name,
                                 os.path.join(self.bin, plugin_conf["type"])],
                                input=json.dumps(conf), capture_output=True, text=True,
                                env=env, timeout=TIMEOUT)
        out = json.loads(result.stdout) if result.stdout.strip() else None
        return result.returncode, out, result.stderr

    def retried(self, *request):
        """Like the kubelet, a runtime tries again after "try again later" (the
        lock was busy past its timeout): a few times, here at once."""
        code, out, err = self.plugin(*request)
        for _ in range(3):
            if code == 0 or not out or out.get("code") != 11:
                break
            self.retries += 1
            code, out, err = self.plugin(*request)
        return code, out, err

    def chain(self, command, pod, container, uid=None, namespace="default", network=None):
        """The whole network, like libcni's AddNetworkList/CheckNetworkList/DelNetworkList.
        Returns (exit code, last output, stderr)."""
        network = network or self.conflist()
        args = {"IgnoreUnknown": "1", "K8S_POD_NAMESPACE": namespace,
                "K8S_POD_NAME": container}
        if uid:
            args["K8S_POD_UID"] = uid
        plugins = network["plugins"]
        if command == "ADD":
            prev = None
            for conf in plugins:
                code, out, err = self.retried(conf, network, "ADD", pod, container, args, prev)
                if code != 0:
                    return code, out, err
                prev = out
            self.results[container] = prev
            return 0, prev, ""
        cached = self.results.get(container)
        order = plugins if command == "CHECK" else list(reversed(plugins))
        for conf in order:
            code, out, err = self.retried(conf, network, command, pod, container, args, cached)
            if code != 0:
                return code, out, err
        if command == "DEL":
            self.results.pop(container, None)
        return 0, None, ""

    def members(self):
        return self.ztc("set", "list", self.policy, "pods").stdout.splitlines()

    def routes(self):
        out = run(["ip", "-n", self.name, "-4", "route", "show", "table", "100",
                   "proto", "123"]).stdout  # member routes
        return sorted(line.strip() for line in out.splitlines())

    def state(self):
        path = os.path.join(self.state_dir, "ip.ztcni.pods.members")
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return f.read().splitlines()

    def kernel_snapshot(self):
        nft = run(["ip", "netns", "exec", self.name, "nft", "list", "ruleset"]).stdout
        rules = run(["ip", "-n", self.name, "rule"]).stdout
        # ztc's routes only: `bridge` adds a veth (and its routes) before a failing ztc-cni.
        routes = "".join(run(["ip", "-n", self.name, "route", "show", "table", "all", "proto", p]).stdout
                         for p in ["122", "123"])
        return nft, rules, routes


def address(result):
    return result["ips"][0]["address"].split("/")[0]


def member(ip, uid):
    return f'{ip} comment "{uid}"'


def route(ip):
    return f"{ip} via 192.168.126.2 dev tun0"


def sort_members(lines):
    return sorted(lines, key=lambda line: tuple(int(x) for x in line.split()[0].split(".")))


class CniChain(unittest.TestCase):
    def setUp(self):
        self.node = Node(self._testMethodName[-12:].strip("_"))
        self.node.load()

    def tearDown(self):
        self.node.close()

    def test_add_check_del_del(self):
        node = self.node
        pod = node.new_pod(1)
        code, result, err = node.chain("ADD", pod, "c1", uid="uid-1")
        self.assertEqual(code, 0, err)
        ip = address(result)
        # prevResult unchanged: the bridge's result is what the runtime gets.
        self.assertEqual([i["address"] for i in result["ips"]], [ip + "/16"])
        self.assertEqual(result["cniVersion"], "1.0.0")
        self.assertEqual(node.members(), [member(ip, "uid-1")])
        self.assertEqual(node.routes(), [route(ip)])
        self.assertEqual(node.state(), [member(ip, "uid-1")])
        self.assertEqual(node.chain("CHECK", pod, "c1", uid="uid-1")[0], 0)

        # CHECK notices a missing route, then a missing member.
        run(["ip", "-n", node.name, "route", "del", ip, "table", "100"])
        code, out, _ = node.chain("CHECK", pod, "c1", uid="uid-1")
        self.assertEqual(code, 1)
        self.assertEqual(out, {"cniVersion": "1.0.0", "code": 102,
                               "msg": "pod uid-1 is not enrolled as expected",
                               "details": f"route missing: -4 route {ip} via 192.168.126.2 "
                                          "dev tun0 table 100"})
        node.ztc("set", "del", node.policy, "pods", ip)
        code, out, _ = node.chain("CHECK", pod, "c1", uid="uid-1")
        self.assertEqual(out["code"], 102)
        self.assertTrue(out["details"].startswith(f"{ip} is not a member of set pods"),
                        out["details"])

        node.ztc("set", "add", node.policy, "pods", ip, "comment", "uid-1")
        self.assertEqual(node.chain("CHECK", pod, "c1", uid="uid-1")[0], 0)
        self.assertEqual(node.chain("DEL", pod, "c1", uid="uid-1")[0], 0)
        self.assertEqual(node.members(), [])
        self.assertEqual(node.routes(), [])
        self.assertEqual(node.state(), [])
        # DEL again, and DEL of a pod never seen: success, nothing changes.
        node.results["c1"] = result
        self.assertEqual(node.chain("DEL", pod, "c1", uid="uid-1")[0], 0)
        code, _, err = node.plugin(node.conflist()["plugins"][1], node.conflist(), "DEL", pod,
                                   "never", {"K8S_POD_UID": "never-seen"})
        self.assertEqual(code, 0, err)

    def test_container_id_is_the_key_without_a_pod_uid(self):
        node = self.node
        pod = node.new_pod(1)
        code, result, err = node.chain("ADD", pod, "container-7")
        self.assertEqual(code, 0, err)
        self.assertEqual(node.members(), [member(address(result), "container-7")])
        self.assertEqual(node.chain("DEL", pod, "container-7")[0], 0)
        self.assertEqual(node.members(), [])

    def test_namespace_selection(self):
        node = self.node
        network = node.conflist(namespaces=["mesh", "default"], exclude_namespaces=["default"])
        enrolled = {}
        for i, namespace in enumerate(["mesh", "default", "other"]):
            pod = node.new_pod(i)
            code, result, err = node.chain("ADD", pod, f"c{i}", uid=f"uid-{i}",
                                           namespace=namespace, network=network)
            self.assertEqual(code, 0, err)
            enrolled[namespace] = address(result)
            self.assertEqual(node.chain("CHECK", pod, f"c{i}", uid=f"uid-{i}",
                                        namespace=namespace, network=network)[0], 0)
        self.assertEqual(node.members(), [member(enrolled["mesh"], "uid-0")])
        self.assertEqual(node.routes(), [route(enrolled["mesh"])])
        for i, namespace in enumerate(["mesh", "default", "other"]):
            self.assertEqual(node.chain("DEL", node.pods[i], f"c{i}", uid=f"uid-{i}",
                                        namespace=namespace, network=network)[0], 0)
        self.assertEqual(node.members(), [])

    def test_fifty_pods_in_parallel(self):
        node = self.node
        pods = [node.new_pod(i) for i in range(75)]
        uids = [f"5e1f{i:04d}-pod" for i in range(75)]

        def add(i):
            code, result, err = node.chain("ADD", pods[i], f"c{i}", uid=uids[i])
            self.assertEqual(code, 0, err)
            return i, address(result)

        def delete(i):
            code, _, err = node.chain("DEL", pods[i], f"c{i}", uid=uids[i])
            self.assertEqual(code, 0, err)
            return i, None

        addresses = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
            start = time.monotonic()
            for i, ip in pool.map(add, range(50)):
                addresses[i] = ip
            added = time.monotonic() - start
            expected = sort_members(member(addresses[i], uids[i]) for i in range(50))
            self.assertEqual(node.members(), expected)
            self.assertEqual(node.routes(), sorted(route(addresses[i]) for i in range(50)))
            self.assertEqual(node.state(), expected)

            # Half go while 25 new ones come, all at once.
            start = time.monotonic()
            jobs = [pool.submit(delete, i) for i in range(25)]
            jobs += [pool.submit(add, i) for i in range(50, 75)]
            for job in jobs:
                i, ip = job.result()
                if ip:
                    addresses[i] = ip
            mixed = time.monotonic() - start
            alive = range(25, 75)
            expected = sort_members(member(addresses[i], uids[i]) for i in alive)
            self.assertEqual(node.members(), expected)
            self.assertEqual(node.routes(), sorted(route(addresses[i]) for i in alive))
            self.assertEqual(node.state(), expected)

            start = time.monotonic()
            list(pool.map(delete, alive))
            deleted = time.monotonic() - start
        self.assertEqual(node.members(), [])
        self.assertEqual(node.routes(), [])
        self.assertEqual(node.state(), [])
        print(f"\n  50 pods: ADD in parallel {added:.2f} s; 25 DEL + 25 ADD {mixed:.2f} s; "
              f"50 DEL {deleted:.2f} s; runs tried again after code 11: {node.retries}",
              file=sys.stderr)

    def test_reused_ip_belongs_to_the_new_pod(self):
        node = self.node
        old, new = node.new_pod(1), node.new_pod(2)
        code, result, err = node.chain("ADD", old, "old", uid="uid-old")
        self.assertEqual(code, 0, err)
        ip = address(result)
        # The old pod's DEL never reached ztc-cni (the runtime lost it); the
        # address is handed to a new pod.
        ztc_conf = node.conflist()["plugins"][1]
        prev = dict(result)
        code, out, err = node.plugin(ztc_conf, node.conflist(), "ADD", new, "new",
                                     {"K8S_POD_UID": "uid-new"}, prev)
        self.assertEqual(code, 0, err)
        self.assertEqual(node.members(), [member(ip, "uid-new")])
        self.assertEqual(node.routes(), [route(ip)])
        # The old pod's late DEL leaves the new pod alone.
        code, _, err = node.plugin(ztc_conf, node.conflist(), "DEL", old, "old",
                                   {"K8S_POD_UID": "uid-old"})
        self.assertEqual(code, 0, err)
        self.assertEqual(node.members(), [member(ip, "uid-new")])
        self.assertEqual(node.routes(), [route(ip)])

    def test_broken_configurations_leave_the_node_unchanged(self):
        node = self.node
        pod = node.new_pod(1)
        self.assertEqual(node.chain("ADD", pod, "keep", uid="uid-keep")[0], 0)
        before = node.kernel_snapshot()
        state_before = node.state()
        cases = [
            ({"set": "nosuch"}, 7),
            ({"policy": os.path.join(node.dir, "missing.zt")}, 100),
            ({"defines": {"tunnel_peer": "not-an-address"}}, 100),
            ({"defines": "tunnel_peer=1.2.3.4"}, 7),
        ]
        for i, (fields, code) in enumerate(cases):
            other = node.new_pod(10 + i)
            got, out, _ = node.chain("ADD", other, f"bad{i}", uid=f"uid-bad{i}",
                                     network=node.conflist(**fields))
            self.assertEqual(got, 1, fields)
            self.assertEqual(out["code"], code, out)
            self.assertEqual(sorted(out), ["cniVersion", "code", "details", "msg"])
        # Not JSON at all.
        code, out = run_raw(node, "ADD", pod, "{not json")
        self.assertEqual((code, out["code"]), (1, 6))
        self.assertEqual(node.kernel_snapshot(), before)
        self.assertEqual(node.state(), state_before)

    def test_unloaded_policy_and_held_lock(self):
        node = self.node
        pod = node.new_pod(1)
        # The lock of the node namespace held by another ztc: try again later.
        # ztc locks the byte at the namespace's inode number of /run/ztc/lock
        # (backend/apply_lock.h); a POSIX lock on that byte conflicts with it.
        netns_inode = os.stat(f"/run/netns/{node.name}").st_ino
        with open(os.path.join(os.environ.get("ZTC_RUN_DIR", "/run/ztc"), "lock"), "r+") as lock:
            fcntl.lockf(lock, fcntl.LOCK_EX, 1, netns_inode)
            code, out, _ = node.chain("ADD", pod, "c1", uid="uid-1",
                                      network=node.conflist(lock_timeout_ms=200))
        self.assertEqual((code, out["code"], out["msg"]),
                         (1, 11, "another ztc holds the lock: try again later"))
        self.assertEqual(node.members(), [])
        # Not loaded: ADD fails, DEL succeeds (nothing of the pod can be there).
        node.ztc("unload", node.policy)
        pod2 = node.new_pod(2)
        code, out, _ = node.chain("ADD", pod2, "c2", uid="uid-2")
        self.assertEqual((code, out["code"]), (1, 101))
        self.assertIn("is not loaded", out["details"])
        code, _, err = node.plugin(node.conflist()["plugins"][1], node.conflist(), "DEL", pod2,
                                   "c2", {"K8S_POD_UID": "uid-2"})
        self.assertEqual(code, 0, err)


def run_raw(node, command, pod, text):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CNI_COMMAND": command,
           "CNI_CONTAINERID": "raw", "CNI_NETNS": f"/run/netns/{pod}", "CNI_IFNAME": "eth0",
           "CNI_PATH": node.bin}
    result = subprocess.run(["ip", "netns", "exec", node.name, ARGS.plugin], input=text,
                            capture_output=True, text=True, env=env, timeout=TIMEOUT)
    return result.returncode, json.loads(result.stdout)


class Boot(unittest.TestCase):
    """The systemd unit's commands (ztc-node) after a simulated reboot."""

    def setUp(self):
        self.node = Node("boot")
        self.config = os.path.join(self.node.dir, "etc")
        os.mkdir(self.config)
        shutil.copy(self.node.policy, os.path.join(self.config, "node.zt"))
        self.node.policy = os.path.join(self.config, "node.zt")
        self.env = dict(os.environ, ZTC=os.path.abspath(ARGS.ztc), ZTC_CONFIG_DIR=self.config,
                        ZTC_STATE_DIR=self.node.state_dir, ZTC_NETNS=self.node.name,
                        ZTC_DEFINES="-D tunnel_peer=192.168.126.2")

    def tearDown(self):
        self.node.close()

    def node_script(self, command):
        return run([ARGS.node_script, command], env=self.env)

    def test_the_unit_runs_before_the_network_and_kubelet_and_stop_changes_nothing(self):
        unit = os.path.join(os.path.dirname(os.path.abspath(ARGS.node_script)), "ztc.service")
        settings = {}
        with open(unit) as f:
            for line in f:
                if "=" in line and not line.startswith("#"):
                    key, value = line.strip().split("=", 1)
                    settings.setdefault(key, []).append(value)
        self.assertIn("network-pre.target", settings["Before"][0].split())
        self.assertIn("kubelet.service", settings["Before"][0].split())
        self.assertEqual(settings["Type"], ["oneshot"])
        self.assertEqual(settings["RemainAfterExit"], ["yes"])
        self.assertNotIn("ExecStop", settings)  # rules, routes and members stay
        self.assertTrue(settings["ExecStart"][0].endswith("/ztc-node start"))

    def test_reboot_restores_members_and_routes(self):
        node = self.node
        self.node_script("start")
        for i in range(3):
            pod = node.new_pod(i)
            self.assertEqual(node.chain("ADD", pod, f"c{i}", uid=f"uid-{i}")[0], 0)
        # `ztc set` keeps the state file too (ZTC_STATE_DIR: this is a test namespace).
        node.ztc("set", "add", node.policy, "pods", "10.22.99.9", "comment", "manual",
                 env=dict(os.environ, ZTC_STATE_DIR=node.state_dir))
        members, routes = node.members(), node.routes()
        self.assertEqual(len(members), 4)
        self.assertEqual(node.state(), members)
        # Without ZTC_STATE_DIR, a --netns change is not this host's state.
        node.ztc("set", "del", node.policy, "pods", "10.22.99.9")
        node.ztc("set", "add", node.policy, "pods", "10.22.99.9", "comment", "manual")
        self.assertFalse(os.path.exists("/var/lib/ztc/ip.ztcni.pods.members"))

        node.destroy()  # the reboot: the namespace and everything in it are gone
        node.create()
        self.assertEqual(node.ztc("status").stdout.count("ztcni"), 0)
        self.node_script("start")
        self.assertEqual(node.members(), members)
        self.assertEqual(node.routes(), routes)
        self.assertEqual(node.ztc("diff", node.policy).returncode, 0)
        # Starting again (a service restart) changes nothing.
        self.node_script("start")
        self.assertEqual(node.members(), members)

        self.node_script("uninstall")
        self.assertEqual(node.ztc("set", "list", node.policy, "pods", check=False).returncode, 1)
        self.assertEqual(node.routes(), [])
        self.assertIsNone(node.state())


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--ztc", required=True)
    parser.add_argument("--plugin", required=True)
    parser.add_argument("--node-script", required=True)
    ARGS, rest = parser.parse_known_args()
    if os.geteuid() != 0:
        print("cni_test.py: needs root (network namespaces)", file=sys.stderr)
        return 1
    if not os.path.exists(os.path.join(CNI_PLUGINS, "bridge")):
        print("cni_test.py: needs containernetworking-plugins (tools/bootstrap.sh installs it)",
              file=sys.stderr)
        return 1
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    sys.exit(main())
