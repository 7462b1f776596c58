"""Network namespace and subprocess helpers for the equivalence lab.

Everything the lab creates is a network namespace named zl-<pid>-..., registered here the moment it
exists, and deleted by cleanup() (called from a finally block and from the signal handlers in lab.py).
Every subprocess has a timeout. Sockets are created *inside* a lab namespace by switching this thread
into it (setns) and back; nothing is ever sent from the namespace the lab was started in.
"""

import ctypes
import os
import re
import subprocess
import sys
import time
from contextlib import contextmanager

CLONE_NEWNET = 0x40000000
PREFIX = "zl-"
CMD_TIMEOUT = 20  # seconds, for any single command

_libc = ctypes.CDLL(None, use_errno=True)
_created = []  # namespaces this process created, in creation order


class LabError(Exception):
    """The lab itself could not do what it needed (not a difference between sides)."""


def run(cmd, *, ns=None, input=None, timeout=CMD_TIMEOUT, check=True):
    """Run cmd (a list), optionally inside namespace ns; return the CompletedProcess."""
    if ns is not None:
        cmd = ["ip", "netns", "exec", ns] + list(cmd)
    try:
        proc = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise LabError(f"timed out after {timeout}s: {' '.join(cmd)}") from e
    except FileNotFoundError as e:
        raise LabError(f"command not found: {cmd[0]} ({e})") from e
    if check and proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip()
        raise LabError(f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n{msg}")
    return proc


def ip_batch(ns, lines):
    """Run iproute2 commands (one per line, without the leading `ip`) inside ns, in one process."""
    text = "\n".join(l for l in lines if l.strip()) + "\n"
    proc = run(["ip", "-n", ns, "-batch", "-"], input=text, check=False)
    if proc.returncode != 0:
        raise LabError(f"ip -n {ns} -batch failed:\n{proc.stderr.strip()}\n--- batch ---\n{text}")


def create(names):
    """Create the namespaces (all or nothing is registered for cleanup)."""
    for n in names:
        if not n.startswith(PREFIX):
            raise LabError(f"refusing to create a namespace outside the lab prefix: {n}")
    # Register first: if `ip netns add` dies half-way, cleanup still removes what exists.
    _created.extend(names)
    text = "".join(f"netns add {n}\n" for n in names)
    proc = run(["ip", "-batch", "-"], input=text, check=False)
    if proc.returncode != 0:
        raise LabError(f"cannot create namespaces: {proc.stderr.strip()}")


def delete(names):
    """Delete namespaces created by this process; returns the names that could not be deleted."""
    failed = []
    for n in names:
        if n not in _created:
            continue
        if os.path.exists(f"/run/netns/{n}"):
            proc = run(["ip", "netns", "del", n], check=False, timeout=10)
            if proc.returncode != 0 and os.path.exists(f"/run/netns/{n}"):
                failed.append(n)
                continue
        _created.remove(n)
    return failed


def cleanup():
    """Delete every namespace this process created (idempotent)."""
    failed = delete(list(reversed(_created)))
    if failed:
        print(f"lab: could not delete namespaces: {' '.join(failed)}", file=sys.stderr)
    return not failed


def stale_namespaces():
    """Lab namespaces left by processes that no longer exist."""
    out = []
    try:
        names = os.listdir("/run/netns")
    except FileNotFoundError:
        return out
    for n in names:
        m = re.match(r"zl-(\d+)-", n)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            out.append(n)
    return sorted(out)


def remove_stale():
    removed = []
    for n in stale_namespaces():
        if run(["ip", "netns", "del", n], check=False, timeout=10).returncode == 0:
            removed.append(n)
    return removed


@contextmanager
def inside(ns):
    """Run the body with this thread in network namespace ns; sockets created there stay there."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    except OSError:
        os.close(home)
        raise
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise LabError(f"setns({ns}) failed: {os.strerror(err)}")
        try:
            yield
        finally:
            if _libc.setns(home, CLONE_NEWNET) != 0:
                # Continuing in the wrong namespace could send traffic from the wrong place.
                os.write(2, b"lab: cannot return to the original network namespace; aborting\n")
                cleanup()
                os._exit(3)
    finally:
        os.close(target)
        os.close(home)


def write_sysctls(ns, values):
    """Write net sysctls (dict path -> value, path like 'ipv4/conf/all/rp_filter') inside ns."""
    with inside(ns):
        for path, value in values.items():
            with open(f"/proc/sys/net/{path}", "w") as f:
                f.write(f"{value}\n")


def read_sysctl(ns, path):
    with inside(ns):
        with open(f"/proc/sys/net/{path}") as f:
            return f.read().strip()


class Deadline:
    """A bounded wait: `while d: ...` for at most `seconds`."""

    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return max(0.0, self.end - time.monotonic())

    def __bool__(self):
        return time.monotonic() < self.end
