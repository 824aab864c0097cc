"""Pytest plugin: a private Docker daemon, a locally made Debian base image, and image builds.

The rules are verification.md §2: the daemon gets its own data root, exec root, socket and pidfile
in a temporary directory, with no bridge, no iptables, no masquerading and no forwarding; containers
use `--network host` or `--network none` only; nothing is pulled from a registry. `debian:<suite>-slim`
(the names the Dockerfiles use) is made with debootstrap from the machine's apt mirror and
`docker import`; each image is then built from its Dockerfile with compose/ as the context, as production
builds it.
Everything is stopped by pid and removed at the end of the session, also when a test fails.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from e2e_helpers import remove_tree, scratch_dir, stop_process, wait_until
from tools import require, run

# The machine's own suite: its apt source names the Debian mirror debootstrap uses for every suite.
DEBIAN_SUITE = "bookworm"
APT_SOURCES = (Path("/etc/apt/sources.list.d"), Path("/etc/apt/sources.list"))
LOCAL_CA_CERTIFICATES = Path("/usr/local/share/ca-certificates")
NETWORK_MODES = ("host", "none")
BUILD_TIMEOUT = 900
# Settings the official slim image adds to a plain Debian root file system (debuerreotype), so that
# builds on the local base install packages the same way: no fsync per file, no docs, no translations.
SLIM_IMAGE_CONFIG = {
    "etc/dpkg/dpkg.cfg.d/docker-apt-speedup": "force-unsafe-io\n",
    "etc/dpkg/dpkg.cfg.d/docker": (
        "path-exclude /usr/share/doc/*\n"
        "path-include /usr/share/doc/*/copyright\n"
        "path-exclude /usr/share/man/*\n"
        "path-exclude /usr/share/info/*\n"
        "path-exclude /usr/share/locale/*\n"
    ),
    "etc/apt/apt.conf.d/docker-no-languages": 'Acquire::Languages "none";\n',
}


def env_options(env: Mapping[str, str]) -> list[str]:
    """`--env KEY=VALUE` options for `docker run` and `docker exec`."""
    return [option for key, value in env.items() for option in ("--env", f"{key}={value}")]


@dataclass(frozen=True)
class Docker:
    """The Docker CLI, pointed at the private daemon."""

    cli: str
    host: str
    config_dir: Path

    def env(self) -> dict[str, str]:
        # The legacy builder: the daemon is Debian's 20.10 and the CLI has no buildx plugin.
        return os.environ | {"DOCKER_HOST": self.host, "DOCKER_CONFIG": str(self.config_dir), "DOCKER_BUILDKIT": "0"}

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """`docker ARGS`; the caller checks the exit code."""
        return run([self.cli, *args], env=self.env(), timeout=timeout)

    def check(self, *args: str, timeout: float = 120) -> str:
        """`docker ARGS` that must succeed; its stripped stdout."""
        result = self(*args, timeout=timeout)
        assert result.returncode == 0, f"docker {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout.strip()

    @contextlib.contextmanager
    def container(self, image: str, network: str, *options: str) -> Iterator[Container]:
        """`docker run -d --network NETWORK OPTIONS IMAGE`, force-removed on exit."""
        assert network in NETWORK_MODES, f"test containers use --network host or none only, not {network}"
        name = f"p2pvps-test-{uuid.uuid4().hex[:12]}"
        self.check("run", "--detach", "--name", name, "--network", network, *options, image)
        try:
            yield Container(self, name)
        finally:
            self("rm", "--force", "--volumes", name)

    def run_once(
        self, image: str, network: str, *options: str, command: tuple[str, ...] = (), timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        """`docker run --rm OPTIONS IMAGE COMMAND` in the foreground, for a container that must exit by
        itself within `timeout` seconds."""
        assert network in NETWORK_MODES, f"test containers use --network host or none only, not {network}"
        name = f"p2pvps-test-{uuid.uuid4().hex[:12]}"
        try:
            return self("run", "--rm", "--name", name, "--network", network, *options, image, *command, timeout=timeout)
        except subprocess.TimeoutExpired:
            self("rm", "--force", name)
            raise AssertionError(f"{image} was still running after {timeout:.0f} s") from None


@dataclass(frozen=True)
class Container:
    """A running test container."""

    docker: Docker
    name: str

    def inspect(self, template: str) -> str:
        return self.docker.check("inspect", "--format", template, self.name)

    @property
    def pid(self) -> int:
        """Host pid of the container's PID 1."""
        return int(self.inspect("{{.State.Pid}}"))

    def is_running(self) -> bool:
        return self.inspect("{{.State.Running}}") == "true"

    def exec(self, *command: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return self.docker("exec", *env_options(env or {}), self.name, *command)

    def logs(self) -> str:
        result = self.docker("logs", self.name)
        return result.stdout + result.stderr

    def wait_healthy(self, timeout: float = 30) -> None:
        """Until the image's own healthcheck command passes; fails early, with the logs, if the container ends."""

        def healthy() -> bool:
            assert self.is_running(), f"container {self.name} ended:\n{self.logs()}"
            return self.exec("p2pvps-healthcheck").returncode == 0

        wait_until(healthy, f"{self.name} to pass p2pvps-healthcheck", timeout=timeout, interval=0.3)


def debian_mirror() -> str:
    """The Debian archive URI the machine's apt sources use for the bookworm suite."""
    for source in APT_SOURCES:
        files = sorted(source.glob("*.sources")) + sorted(source.glob("*.list")) if source.is_dir() else [source]
        for file in files:
            if file.exists():
                mirror = _mirror_in(file.read_text())
                if mirror:
                    return mirror
    pytest.fail(f"no apt source for Debian {DEBIAN_SUITE} in {', '.join(map(str, APT_SOURCES))}")


def _mirror_in(text: str) -> str | None:
    """The URI of a `bookworm` suite in deb822 stanzas or one-line `deb URI SUITE ...` entries."""
    for stanza in re.split(r"\n\s*\n", text):
        fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, flags=re.MULTILINE))
        if DEBIAN_SUITE in fields.get("Suites", "").split() and "deb" in fields.get("Types", "").split():
            return fields["URIs"].split()[0]
    for line in text.splitlines():
        words = [word for word in line.split() if not word.startswith("[")]
        if len(words) >= 3 and words[0] == "deb" and words[2] == DEBIAN_SUITE:
            return words[1]
    return None


def _start_daemon(workdir: Path) -> tuple[subprocess.Popen[bytes], Docker]:
    """dockerd exactly as verification.md §2 prescribes, ready to answer."""
    paths = {name: workdir / name for name in ("data", "exec", "config")}
    for path in paths.values():
        path.mkdir()
    socket_path = workdir / "docker.sock"
    args = [
        require("dockerd"),
        f"--data-root={paths['data']}",
        f"--exec-root={paths['exec']}",
        f"--host=unix://{socket_path}",
        f"--pidfile={workdir / 'dockerd.pid'}",
        "--bridge=none",
        "--iptables=false",
        "--ip-masq=false",
        "--ip-forward=false",
    ]
    with (workdir / "dockerd.log").open("ab") as log:
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    docker = Docker(require("docker"), f"unix://{socket_path}", paths["config"])

    def answering() -> bool:
        assert process.poll() is None, f"dockerd exited:\n{(workdir / 'dockerd.log').read_text()[-3000:]}"
        return docker("version", "--format", "{{.Server.Version}}", timeout=10).returncode == 0

    try:
        wait_until(answering, "the private dockerd to answer", timeout=30)
    except BaseException:
        stop_process(process, grace=20)
        raise
    return process, docker


def _link_exists(name: str) -> bool:
    return run([require("ip"), "link", "show", name]).returncode == 0


@pytest.fixture(scope="session")
def docker() -> Iterator[Docker]:
    """The private Docker daemon; on teardown every container goes, dockerd is stopped by pid, the directory removed."""
    docker0_before = _link_exists("docker0")
    with scratch_dir("docker") as workdir:
        process, client = _start_daemon(workdir)
        try:
            yield client
        finally:
            leftovers = client("ps", "--all", "--quiet").stdout.split()
            if leftovers:
                client("rm", "--force", "--volumes", *leftovers)
            stop_process(process, grace=30)
    if _link_exists("docker0") and not docker0_before:
        run([require("ip"), "link", "delete", "docker0"])
        pytest.fail("the test daemon created a docker0 bridge; it has been deleted")


@pytest.fixture(scope="session")
def debian_base_images(docker: Docker) -> Callable[[Path], None]:
    """`ensure(image_dir)`: makes the `debian:<suite>-slim` images its Dockerfile starts from, once per session.

    Each is debootstrap --variant=minbase of that suite from the machine's apt mirror, then docker import.
    """
    made: set[str] = set()

    def ensure(image_dir: Path) -> None:
        for image, suite in _debian_bases(image_dir / "Dockerfile"):
            if image not in made:
                _make_debian_base(docker, image, suite)
                made.add(image)

    return ensure


def _debian_bases(dockerfile: Path) -> list[tuple[str, str]]:
    """(image, suite) of every `FROM debian:<suite>-slim` line."""
    return [
        (f"debian:{suite}-slim", suite)
        for suite in re.findall(r"^FROM\s+debian:([a-z]+)-slim\b", dockerfile.read_text(), flags=re.MULTILINE)
    ]


def _make_debian_base(docker: Docker, image: str, suite: str) -> None:
    with scratch_dir("debootstrap") as workdir:
        rootfs = workdir / "rootfs"
        bootstrap = run([require("debootstrap"), "--variant=minbase", suite, str(rootfs), debian_mirror()], timeout=600)
        assert bootstrap.returncode == 0, f"debootstrap {suite} failed:\n{bootstrap.stdout[-3000:]}\n{bootstrap.stderr}"
        for relative, text in SLIM_IMAGE_CONFIG.items():
            (rootfs / relative).write_text(text)
        try:
            _import_rootfs(docker, rootfs, image)
        finally:
            remove_tree(rootfs)


def _import_rootfs(docker: Docker, rootfs: Path, tag: str) -> None:
    tar = subprocess.Popen([require("tar"), "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    try:
        imported = subprocess.run(
            [docker.cli, "import", "-", tag],
            stdin=tar.stdout,
            capture_output=True,
            text=True,
            env=docker.env(),
            timeout=300,
            check=False,
        )
    finally:
        assert tar.stdout is not None
        tar.stdout.close()
        tar.wait()
    assert tar.returncode == 0 and imported.returncode == 0, f"docker import failed: {imported.stderr}"


def local_ca_certificates() -> str:
    """PEM text of the CAs this machine trusts besides Debian's bundle (e.g. a TLS-inspecting egress proxy)."""
    return "".join(path.read_text() for path in sorted(LOCAL_CA_CERTIFICATES.glob("*.crt")))


@pytest.fixture(scope="session")
def build_image(docker: Docker, debian_base_images: Callable[[Path], None]) -> Callable[..., str]:
    """`build(image_dir, build_args=None)`: builds compose/<image>/Dockerfile with compose/ as the context, once
    per session; the tag."""
    built: dict[Path, str] = {}

    def build(image_dir: Path, build_args: Mapping[str, str] | None = None) -> str:
        if image_dir not in built:
            debian_base_images(image_dir)
            tag = f"p2pvps-test/{image_dir.name}:latest"
            arg_options = [option for item in (build_args or {}).items() for option in ("--build-arg", "=".join(item))]
            result = docker(
                "build",
                "--network",
                "host",
                "--force-rm",
                *arg_options,
                "--tag",
                tag,
                "--file",
                str(image_dir / "Dockerfile"),
                str(image_dir.parent),
                timeout=BUILD_TIMEOUT,
            )
            assert result.returncode == 0, f"docker build {image_dir} failed:\n{result.stdout[-6000:]}\n{result.stderr}"
            built[image_dir] = tag
        return built[image_dir]

    return build
