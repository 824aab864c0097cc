"""components/scripts/restore-stack.sh (what `make restore` runs where the stack's Docker is) with a
stand-in `docker` that records its calls: what is stopped, how the restore container is made, what is
started again, and where the backup service's secrets go."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from components.catalog.backup import WRITES_OWNERS_BACK
from harness import PROJECT_DIR
from tools import run

pytestmark = pytest.mark.tools

SCRIPT = PROJECT_DIR / "components" / "scripts" / "restore-stack.sh"
FAKE_DOCKER = r"""#!/bin/sh
# Stand-in for docker: log the call; answer inspect and ps as a stack with backups would.
echo "$*" >> "$CALLS"
case "$1" in
  inspect)
    [ -z "${NO_BACKUP:-}" ] || exit 1
    case "$3" in
      *Config.Env*) printf 'RESTIC_REPOSITORY=s3:https://h/b/s\nRESTIC_PASSWORD=SECRETPASSWORD\n' ;;
      *Config.Image*) echo p2pvps/backup:0123456789ab ;;
      *Mounts*) printf -- '--mount type=volume,source=p2pvps_openbazaar,target=/backup/data/openbazaar ' ;;
    esac
    ;;
  ps) printf 'p2pvps-nginx\np2pvps-mongodb\np2pvps-openbazaar\np2pvps-backup\n' ;;
  run)
    while [ "$1" != --env-file ]; do shift; done
    cp "$2" "$ENV_SEEN"
    stat -c %a "$2" > "$ENV_SEEN.mode"
    [ -z "${FAIL_RUN:-}" ] || exit 3
    [ -z "${HANG_RUN:-}" ] || { touch "$HANG_RUN"; sleep 30; }
    ;;
esac
"""


@pytest.fixture
def sandbox(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "docker"
    fake.write_text(FAKE_DOCKER)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(tmp_path / "calls"),
        "ENV_SEEN": str(tmp_path / "env-seen"),
        "TMPDIR": str(tmp_path),
    }


def restore(sandbox: dict[str, str], *args: str, **env: str) -> tuple[int, list[str], str]:
    result = run(["sh", str(SCRIPT), *args], env={**sandbox, **env})
    calls = Path(sandbox["CALLS"]).read_text().splitlines() if Path(sandbox["CALLS"]).exists() else []
    return result.returncode, calls, result.stderr


def test_stops_all_but_mongodb_restores_with_writable_volumes_and_starts_them_again(
    sandbox: dict[str, str], tmp_path: Path
) -> None:
    code, calls, _ = restore(sandbox, "latest")
    assert code == 0
    verbs = [call.split()[0] for call in calls]
    assert verbs.index("stop") < verbs.index("run") < verbs.index("start")
    stopped = next(call for call in calls if call.startswith("stop")).split()[1:]
    assert stopped == ["p2pvps-nginx", "p2pvps-openbazaar", "p2pvps-backup"], "MongoDB stays up for mongorestore"
    started = next(call for call in calls if call.startswith("start")).split()[1:]
    assert started == stopped
    command = next(call for call in calls if call.startswith("run")).split()
    assert command[-3:] == ["p2pvps/backup:0123456789ab", "restore", "latest"], "the image's entrypoint is the script"
    assert "--network" in command and command[command.index("--network") + 1] == "p2pvps"
    mount = command[command.index("--mount") + 1]
    assert mount == "type=volume,source=p2pvps_openbazaar,target=/backup/data/openbazaar"
    assert "readonly" not in " ".join(command)
    caps = [command[i + 1] for i, word in enumerate(command) if word == "--cap-add"]
    assert command[command.index("--cap-drop") + 1] == "ALL"
    assert caps == list(WRITES_OWNERS_BACK), "what the catalog's restore steps keep"


def test_the_secrets_go_through_a_private_file_that_is_removed(sandbox: dict[str, str], tmp_path: Path) -> None:
    code, calls, _ = restore(sandbox, "0123abcd")
    assert code == 0
    assert "RESTIC_PASSWORD=SECRETPASSWORD" in Path(sandbox["ENV_SEEN"]).read_text()
    assert Path(sandbox["ENV_SEEN"] + ".mode").read_text().strip() == "600"
    assert not [call for call in calls if "SECRETPASSWORD" in call], "never on a command line"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("tmp")], "the temporary directory is gone"


def test_a_failed_restore_leaves_the_services_stopped_and_says_how_to_start_them(sandbox: dict[str, str]) -> None:
    code, calls, stderr = restore(sandbox, FAIL_RUN="1")
    assert code == 1
    assert not [call for call in calls if call.startswith("start")]
    assert "the restore failed; the services stay stopped (docker start p2pvps-nginx" in stderr


@pytest.mark.parametrize("snapshot", ["LATEST", "abc;rm", "../x"])
def test_a_bad_snapshot_is_refused_before_anything_is_stopped(sandbox: dict[str, str], snapshot: str) -> None:
    code, calls, stderr = restore(sandbox, snapshot)
    assert (code, calls) == (2, [])
    assert "is not a snapshot; give latest or an id" in stderr


def test_a_stack_without_backups_is_refused(sandbox: dict[str, str]) -> None:
    code, calls, stderr = restore(sandbox, NO_BACKUP="1")
    assert code == 1
    assert "there is no p2pvps-backup container here; are backups on for this stack" in stderr
    assert not [call for call in calls if call.startswith(("stop", "run"))]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_stopped_restore_leaves_no_secrets_file(
    sandbox: dict[str, str], tmp_path: Path, stop: signal.Signals
) -> None:
    """`make restore` interrupted, killed or hung up (the signal reaches its whole process group, as from a
    terminal or a dropped SSH session) while the restore runs: the file with the backup's secrets is removed."""
    started = tmp_path / "restore-running"
    command = ["sh", str(SCRIPT), "latest"]
    with subprocess.Popen(command, env={**sandbox, "HANG_RUN": str(started)}, start_new_session=True) as script:
        deadline = time.monotonic() + 10
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), "the restore container never ran"
        os.killpg(script.pid, stop)
        script.wait(timeout=60)
    assert not [path for path in tmp_path.glob("tmp.*") if path.is_dir()], "a directory with the secrets is left"


INJECTIONS = {
    ("restore", "SNAPSHOT"): "latest' >/dev/null; touch {mark}; echo '",
    ("restore", "STACK"): 'x"; touch {mark}; "',
    ("recover", "FROM"): "old;touch {mark}",
    ("recover", "STACK"): "new`touch {mark}`",
    ("recover", "REGION"): "nyc3`touch {mark}`",
}


def make(tmp_path: Path, target: str, **variables: str) -> tuple[int, list[str]]:
    """`make TARGET` with a stand-in `pulumi` that records its arguments."""
    bin_dir = tmp_path / "make-bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp_path / "pulumi-calls"
    fake = bin_dir / "pulumi"
    fake.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    fake.chmod(0o755)
    defaults = {"STACK": "local", "SNAPSHOT": "latest", "FROM": "old", "REGION": "nyc3"}
    arguments = [f"{name}={value}" for name, value in (defaults | variables).items()]
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(tmp_path)}
    result = run(["make", "-s", "-C", str(PROJECT_DIR), target, *arguments], env=env)
    return result.returncode, calls.read_text().splitlines() if calls.exists() else []


@pytest.mark.parametrize(("target", "variable"), list(INJECTIONS), ids=[f"{t}-{v}" for t, v in INJECTIONS])
def test_make_values_never_run_as_commands(tmp_path: Path, target: str, variable: str) -> None:
    mark = tmp_path / "injected"
    code, calls = make(tmp_path, target, **{variable: INJECTIONS[target, variable].format(mark=mark)})
    assert not mark.exists(), "a value given to make ran as a command"
    assert (code, calls) == (2, []), "a bad value is refused before anything runs"


def test_make_recover_passes_checked_values_to_pulumi(tmp_path: Path) -> None:
    code, calls = make(tmp_path, "recover", FROM="old-stack", STACK="new.stack", REGION="ams3")
    assert code == 0
    assert calls[:2] == [
        "stack init new.stack --copy-config-from old-stack",
        "config set --stack new.stack p2pvps:region ams3",
    ]
