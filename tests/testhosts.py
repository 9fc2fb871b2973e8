"""Test hosts on one machine: network namespaces joined to this one by veth pairs, each with a
host name of its own, and TCP forwarders that let them reach the servers this test started on
127.0.0.1 (PostgreSQL, Dovecot, the relay) over the veth link, as a daemon on another machine would.

Made and removed by the test; `unavailable()` says why they cannot be made here (no `ip`, or
no permission to add a namespace).
"""
from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import subprocess
import threading
from dataclasses import dataclass
from typing import Iterator


@dataclass(frozen=True)
class NamespaceHost:
    name: str  # its host name, as the daemon on it reports itself
    namespace: str
    address: str  # its own address on the link
    gateway: str  # this machine's address on the link, where the forwarders listen

    def command(self, argv: list[str]) -> list[str]:
        """`argv` run on this host: in its namespace, with its own host name."""
        return ["ip", "netns", "exec", self.namespace, "unshare", "--uts", "sh", "-c",
                f'hostname {self.name} && exec "$@"', "sh", *argv]


def unavailable() -> str | None:
    """Why test hosts cannot be made here, or None when they can."""
    if shutil.which("ip") is None or shutil.which("unshare") is None:
        return "the ip and unshare commands are not installed (iproute2, util-linux)"
    probe = f"pdprobe{secrets.token_hex(3)}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"network namespaces are not permitted here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


@contextlib.contextmanager
def namespace_hosts(count: int) -> Iterator[list[NamespaceHost]]:
    tag = secrets.token_hex(2)
    hosts = []
    try:
        for index in range(count):
            subnet = 100 + secrets.randbelow(100)
            host = NamespaceHost(f"testhost{index + 1}", f"pd{tag}h{index}", f"10.{subnet}.{index}.2",
                            f"10.{subnet}.{index}.1")
            outside, inside = f"pd{tag}o{index}", f"pd{tag}i{index}"
            _ip("netns", "add", host.namespace)
            hosts.append(host)
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            _ip("link", "set", inside, "netns", host.namespace)
            _ip("addr", "add", f"{host.gateway}/24", "dev", outside)
            _ip("link", "set", outside, "up")
            for argv in (["addr", "add", f"{host.address}/24", "dev", inside], ["link", "set", inside, "up"],
                         ["link", "set", "lo", "up"]):
                _ip("-n", host.namespace, *argv)
        yield hosts
    finally:
        for host in hosts:
            subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True)  # takes its veth along


def _ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, capture_output=True)


class Forwarder:
    """Accepts on (host, port) and pipes each connection to (target_host, target_port)."""

    def __init__(self, listen: list[tuple[str, int]], target: tuple[str, int]):
        self.listen = listen
        self.target = target
        self._loop = asyncio.new_event_loop()
        self._servers = []
        self._thread = threading.Thread(target=self._loop.run_forever, name="forwarder", daemon=True)

    def start(self) -> None:
        self._thread.start()
        for host, port in self.listen:
            future = asyncio.run_coroutine_threadsafe(asyncio.start_server(self._pipe, host, port), self._loop)
            self._servers.append(future.result(10))

    def stop(self) -> None:
        async def close():
            for server in self._servers:
                server.close()
                await server.wait_closed()
        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _pipe(self, reader, writer) -> None:
        try:
            target_reader, target_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_copy(reader, target_writer), _copy(target_reader, writer))


async def _copy(reader, writer) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
