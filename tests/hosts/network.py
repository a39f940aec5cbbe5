"""Separate hosts on this machine: Linux network namespaces joined by one virtual switch.

`network("db", "web1", ...)` makes a network namespace per host, each with its own loopback and one
interface (`eth0`) on a private subnet, all plugged into a bridge that lives in a namespace of its
own (the switch). Nothing is added to the machine's own network: a process on one host reaches
another only at that host's address, through the switch, as across a LAN, and its loopback is
its own. A process is started on a host with `preexec_fn=host.move_here` (tests/live.py's `spawn`
takes it as `inside`); the test itself acts as a host inside `host.entered()`, where the sockets
the calling thread opens belong to that host.

Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN), iproute2's `ip` and `os.setns` (Python 3.12+).
`network()` raises `Unavailable`, saying which is missing, for a test to skip with.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

# Private, and only ever routed inside the namespaces made here.
SUBNET = "10.213.0"
NETNS_DIR = "/run/netns"


class Unavailable(Exception):
    """Network namespaces cannot be made on this machine; the message says why."""


@dataclass(frozen=True)
class Host:
    name: str
    namespace: str
    address: str

    def move_here(self) -> None:
        """Move the calling thread (a child before it runs its command) onto this host."""
        descriptor = os.open(f"{NETNS_DIR}/{self.namespace}", os.O_RDONLY)
        try:
            os.setns(descriptor, os.CLONE_NEWNET)
        finally:
            os.close(descriptor)

    @contextlib.contextmanager
    def entered(self) -> Iterator[Host]:
        """The calling thread on this host, then back where it was.

        Only the calling thread moves: threads it starts meanwhile are born here, threads that
        already existed stay where they are."""
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            self.move_here()
            try:
                yield self
            finally:
                os.setns(home, os.CLONE_NEWNET)
        finally:
            os.close(home)


def _ip(*arguments: str) -> None:
    subprocess.run(["ip", *arguments], check=True, capture_output=True, stdin=subprocess.DEVNULL)


def _unavailable() -> str | None:
    if not hasattr(os, "setns"):
        return "os.setns is missing (Python 3.12 or newer has it)"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed"
    if os.geteuid() != 0:
        return "making network namespaces needs root"
    return None


@contextlib.contextmanager
def network(*names: str) -> Iterator[dict[str, Host]]:
    """Hosts with these names on one switch, at SUBNET.2, .3, ...; all removed afterwards."""
    if (reason := _unavailable()) is not None:
        raise Unavailable(reason)
    tag = f"desk{os.getpid()}"
    switch = f"{tag}-switch"
    made: list[str] = []
    try:
        try:
            _ip("netns", "add", switch)
        except subprocess.CalledProcessError as error:
            raise Unavailable(
                f"`ip netns add` failed: {error.stderr.decode(errors='replace').strip()}"
            ) from None
        made.append(switch)
        _ip("-n", switch, "link", "add", "switch", "type", "bridge")
        _ip("-n", switch, "link", "set", "switch", "up")
        hosts = {}
        for number, name in enumerate(names, start=2):
            host = Host(name, f"{tag}-{name}", f"{SUBNET}.{number}")
            _ip("netns", "add", host.namespace)
            made.append(host.namespace)
            port = f"port{number}"
            _ip("-n", switch, "link", "add", port, "type", "veth",
                "peer", "name", "eth0", "netns", host.namespace)  # fmt: skip
            _ip("-n", switch, "link", "set", port, "master", "switch", "up")
            _ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "eth0")
            _ip("-n", host.namespace, "link", "set", "eth0", "up")
            _ip("-n", host.namespace, "link", "set", "lo", "up")
            hosts[name] = host
        yield hosts
    finally:
        for namespace in reversed(made):
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)
