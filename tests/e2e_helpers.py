"""Helpers the end-to-end tests share: ports, waiting, background processes, scratch directories,
network namespaces and a tiny web app.

Everything here binds to loopback only and cleans up after itself, also when a test fails.
"""

from __future__ import annotations

import contextlib
import ctypes
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TypeVar

from components.ports import PortRange
from tools import require, run

T = TypeVar("T")

LOOPBACK = "127.0.0.1"
# Below Linux's default ephemeral range (32768-60999), so no outgoing connection takes these ports.
_RANGE_SEARCH = PortRange(20000, 32000)
_CLONE_NEWNET = 0x40000000


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback port nothing listens on now (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def free_port_range(count: int) -> PortRange:
    """`count` consecutive free loopback ports below the ephemeral range."""
    for _ in range(50):
        first = random.randint(_RANGE_SEARCH.first, _RANGE_SEARCH.last - count)
        candidate = PortRange(first, first + count - 1)
        if all(port_is_free(port) for port in candidate.ports()):
            return candidate
    raise AssertionError(f"no {count} consecutive free loopback ports in {_RANGE_SEARCH}")


def wait_until(check: Callable[[], T | None], what: str, timeout: float = 20.0, interval: float = 0.2) -> T:
    """The first truthy result of `check`, or fail after `timeout` seconds naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def stop_process(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """End a process this test session started, by its id: SIGTERM, then SIGKILL after `grace` seconds."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(grace)


@contextlib.contextmanager
def background(
    args: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `args` in the background (in `cwd`) with stdout and stderr in `log`; stopped on exit."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, env=env, cwd=cwd
        )
    try:
        yield process
    finally:
        stop_process(process)


def mounts_below(directory: Path) -> list[Path]:
    """Mount points at or under `directory`, deepest first (from /proc/self/mountinfo)."""
    root = directory.resolve()
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mount_point = Path(line.split()[4].encode().decode("unicode_escape"))
        if mount_point == root or root in mount_point.parents:
            found.append(mount_point)
    return sorted(found, key=lambda path: len(path.parts), reverse=True)


def remove_tree(directory: Path) -> None:
    """Unmount whatever is still mounted below `directory`, then delete it; never deletes across a mount."""
    for mount_point in mounts_below(directory):
        result = run([require("umount"), str(mount_point)])
        if result.returncode != 0:
            run([require("umount"), "--lazy", str(mount_point)])
    left = mounts_below(directory)
    if left:
        raise AssertionError(f"cannot remove {directory}: still mounted: {left}")
    shutil.rmtree(directory)


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A private temporary directory (short path, for unix sockets), removed on exit."""
    directory = Path(tempfile.mkdtemp(prefix=f"p2pvps-{prefix}-", dir="/tmp"))
    try:
        yield directory
    finally:
        remove_tree(directory)


def nsenter(pid: int) -> list[str]:
    """Command prefix that runs a program in the network namespace of process `pid`."""
    return [require("nsenter"), f"--net=/proc/{pid}/ns/net"]


def in_netns(pid: int, action: Callable[[], T]) -> T:
    """`action()` run in the network namespace of process `pid`."""
    return in_netns_file(Path(f"/proc/{pid}/ns/net"), action)


def in_netns_file(namespace_file: Path, action: Callable[[], T]) -> T:
    """`action()` run in the network namespace `namespace_file` refers to (/proc/PID/ns/net, /run/netns/NAME).

    It runs on a helper thread that joins the namespace (setns affects only the calling thread); a
    socket it creates stays in that namespace, so the caller can keep using it from any thread.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    outcome: dict[str, T | BaseException] = {}

    def enter_and_act() -> None:
        try:
            with namespace_file.open() as namespace:
                if libc.setns(namespace.fileno(), _CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into the network namespace {namespace_file} failed")
            outcome["value"] = action()
        except BaseException as error:  # noqa: BLE001 - re-raised in the calling thread below
            outcome["error"] = error

    worker = threading.Thread(target=enter_and_act)
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def _answering(body: str) -> type[BaseHTTPRequestHandler]:
    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            payload = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: pytest output stays readable."""

    return Answer


@contextlib.contextmanager
def web_app(body: str, netns_pid: int | None = None) -> Iterator[int]:
    """A local web app on 127.0.0.1 that answers every GET with `body`; yields its port.

    With `netns_pid` it listens in that process's network namespace instead of this one.
    """
    with serving(_answering(body), netns_pid) as port:
        yield port


@contextlib.contextmanager
def serving(
    handler: type[BaseHTTPRequestHandler], netns_pid: int | None = None, *, address: str = LOOPBACK, port: int = 0
) -> Iterator[int]:
    """A threaded HTTP server on `address` and `port` (a free one if 0), in `netns_pid`'s network namespace if
    given; yields the port, shuts down on exit."""

    def create() -> ThreadingHTTPServer:
        return ThreadingHTTPServer((address, port), handler)

    server = create() if netns_pid is None else in_netns(netns_pid, create)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
