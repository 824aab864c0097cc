"""The backup image's script (compose/backup/p2pvps-backup) run on the host with the real restic against an S3
stand-in on loopback (moto's server), real sqlite3, and stand-in mongodump/mongorestore that record how they
were called (tests/backup/mongo-standin.sh). Data and state directories are temporary ones given by
BACKUP_DATA_DIR and BACKUP_STATE_DIR."""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import sqlite3
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from app_images import dockerfile_stages
from components.catalog import COMPOSE_DIR
from tools import require, run

pytestmark = pytest.mark.tools

BACKUP = COMPOSE_DIR / "backup"
SCRIPT = BACKUP / "p2pvps-backup"
STANDIN = Path(__file__).parent / "backup" / "mongo-standin.sh"
ROOT = os.geteuid() == 0
# Quotes, a dollar, spaces and a colon: what a careless rendering would break or show.
MONGO_PASSWORD = 'it\'s a "pa$$word": x'
RESTIC_PASSWORD = "correct horse battery staple"
DUMP = b"stand-in mongodump archive \x00\x01\x02" * 100
BUCKET = "backups"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [require("moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "moto_server did not start"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@dataclass
class Stack:
    """One stack's backup: its volumes, state, repository and the stand-ins' records."""

    tmp: Path
    env: dict[str, str]
    endpoint: str
    prefix: str

    @property
    def data(self) -> Path:
        return Path(self.env["BACKUP_DATA_DIR"])

    @property
    def state(self) -> Path:
        return Path(self.env["BACKUP_STATE_DIR"])

    @property
    def records(self) -> Path:
        return Path(self.env["STANDIN_RECORD_DIR"])

    def backup(self, *args: str, **overrides: str) -> subprocess.CompletedProcess[str]:
        """The project's script, as the container runs it."""
        return run([str(SCRIPT), *args], env=self.env | overrides, timeout=300)

    def restic(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = run([require("restic"), *args], env=self.env, timeout=300)
        assert result.returncode == 0, result.stderr
        return result

    def snapshots(self) -> list[dict[str, object]]:
        return json.loads(self.restic("snapshots", "--json").stdout)

    def s3(self) -> Any:  # boto3 clients are typed by stubs this project does not install
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name="us-east-1",
        )


@pytest.fixture
def stack(tmp_path: Path, s3_endpoint: str, request: pytest.FixtureRequest) -> Stack:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("mongodump", "mongorestore"):
        (bin_dir / tool).symlink_to(STANDIN)
    (tmp_path / "secret").write_text(MONGO_PASSWORD + "\n")
    (tmp_path / "dump.archive").write_bytes(DUMP)
    for name in ("data", "state", "records", "cache", "tmp"):
        (tmp_path / name).mkdir()
    prefix = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path / "tmp"),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "RESTIC_REPOSITORY": f"s3:{s3_endpoint}/{BUCKET}/{prefix}",
        "RESTIC_PASSWORD": RESTIC_PASSWORD,
        "RESTIC_CACHE_DIR": str(tmp_path / "cache"),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test-secret-key",
        "AWS_DEFAULT_REGION": "us-east-1",
        "BACKUP_DATA_DIR": str(tmp_path / "data"),
        "BACKUP_STATE_DIR": str(tmp_path / "state"),
        "MONGO_HOST": "mongodb",
        "MONGO_PORT": "27017",
        "MONGO_APP_DB": "connextcms",
        "MONGO_APP_USER": "connextcms",
        "MONGO_APP_PASSWORD": MONGO_PASSWORD,
        "STANDIN_RECORD_DIR": str(tmp_path / "records"),
        "STANDIN_SECRET_FILE": str(tmp_path / "secret"),
        "STANDIN_DUMP": str(tmp_path / "dump.archive"),
    }
    return Stack(tmp_path, env, s3_endpoint, prefix)


def owned(path: Path, uid: int, mode: int) -> None:
    if ROOT:
        os.lchown(path, uid, uid)
    if not path.is_symlink():
        path.chmod(mode)


def put(path: Path, content: bytes, uid: int = 0, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    owned(path, uid, mode)


def make_volumes(data: Path) -> None:
    """A stack's volumes in miniature: OpenBazaar's repository with a live SQLite datastore, IPFS's block
    store and LevelDB, SSH host keys, a certificate lineage with links, CMS uploads and the device registry."""
    ob = data / "openbazaar"
    ob.mkdir()
    put(ob / "config", b'{"Identity": {"PrivKey": "CAESQ..."}}\n', 1000, 0o600)
    put(ob / "datastore_spec", b'{"mounts": []}\n', 1000, 0o644)
    put(ob / "root" / "listings" / "a vps.json", b'{"slug": "a vps"}\n', 1000, 0o644)
    put(ob / "blocks" / "CIQA" / "CIQAXYZ.data", os.urandom(4096), 1000, 0o644)
    put(ob / "datastore" / "000001.ldb", os.urandom(1024), 1000, 0o644)
    with sqlite3.connect(ob / "datastore" / "mainnet.db") as db:
        db.execute("create table keys (scriptAddress text primary key, purpose integer, key text)")
        db.executemany("insert into keys values (?, ?, ?)", [(f"addr{n}", n % 2, "k" * 64) for n in range(500)])
    db.close()
    owned(ob / "datastore" / "mainnet.db", 1000, 0o644)
    for directory in (ob, ob / "datastore", ob / "root", ob / "root" / "listings", ob / "blocks"):
        owned(directory, 1000, 0o750 if directory == ob else 0o755)
    (ob / "logs").symlink_to("/var/log/p2pvps")
    ssh = data / "ssh-server"
    put(ssh / "ssh_host_ed25519_key", b"-----BEGIN OPENSSH PRIVATE KEY-----\n", 0, 0o600)
    put(ssh / "ssh_host_ed25519_key.pub", b"ssh-ed25519 AAAA host\n", 0, 0o644)
    owned(ssh, 0, 0o750)
    le = data / "letsencrypt"
    put(le / "archive" / "example.org" / "privkey1.pem", b"KEY\n", 0, 0o600)
    (le / "live" / "example.org").mkdir(parents=True)
    (le / "live" / "example.org" / "privkey.pem").symlink_to("../../archive/example.org/privkey1.pem")
    put(data / "connextcms" / "uploads" / "photo.jpg", os.urandom(300_000), 1000, 0o640)
    (data / "connextcms" / "empty").mkdir()
    owned(data / "connextcms", 1000, 0o750)
    put(data / "devices" / "registry", b"mypi 6101 ssh-ed25519 AAAA\n", 0, 0o644)


EXCLUDED = re.compile(r"^openbazaar/(blocks(/|$)|datastore/(?!mainnet\.db$))")


def sql_content(path: Path) -> list[str]:
    """A SQLite database's content: its online backup differs from the original only in the header's change
    counters (bytes 24-27 and 92-95), so the comparison is by content."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        content = list(db.iterdump())
    db.close()
    return content


def tree(root: Path) -> dict[str, tuple[object, ...]]:
    """Every path under root: type, mode, owner, and content and mtime, or link target."""
    entries: dict[str, tuple[object, ...]] = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        kind = stat.S_IFMT(info.st_mode)
        if stat.S_ISLNK(info.st_mode):
            detail: object = os.readlink(path)
        elif path.suffix == ".db":
            detail = (sql_content(path), int(info.st_mtime))
        elif stat.S_ISREG(info.st_mode):
            detail = (path.read_bytes(), int(info.st_mtime))
        else:
            detail = None
        entries[path.relative_to(root).as_posix()] = (
            kind,
            stat.S_IMODE(info.st_mode),
            info.st_uid,
            info.st_gid,
            detail,
        )
    return entries


def clear(volumes: Path) -> None:
    for volume in volumes.iterdir():
        subprocess.run(["rm", "-rf", "--", str(volume)], check=True)
        volume.mkdir()


def stderr_line(result: subprocess.CompletedProcess[str]) -> str:
    """The failure's reason: exactly one line on stderr."""
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_backup_restores_every_volume_byte_for_byte(stack: Stack) -> None:
    make_volumes(stack.data)
    before = tree(stack.data)
    backup = stack.backup("now")
    assert backup.returncode == 0, backup.stdout + backup.stderr
    assert not (stack.state / "staging").exists(), "the unencrypted dump stays on the state volume"

    clear(stack.data)
    (stack.data / "devices" / "stale").write_text("written after the backup\n")
    (stack.data / "openbazaar").chmod(0o777)
    restore = stack.backup("restore")
    assert restore.returncode == 0, restore.stdout + restore.stderr

    expected = {name: entry for name, entry in before.items() if not EXCLUDED.match(name)}
    assert "openbazaar/datastore/mainnet.db" in expected and "openbazaar/blocks" not in expected
    assert tree(stack.data) == expected
    restored = stack.records / "mongorestore"
    assert (restored / "archive").read_bytes() == DUMP
    argv = (restored / "argv").read_text().splitlines()
    assert {"--drop", "--nsInclude=connextcms.*", "--host=mongodb", "--username=connextcms"} <= set(argv)


def test_openbazaar_database_is_copied_by_sqlite_while_a_writer_is_mid_transaction(stack: Stack) -> None:
    """The live database is never file-copied: a writer whose uncommitted pages are already in the file (cache
    spilled, hot journal beside it) holds the copy back until it ends, and the copy has none of its changes."""
    make_volumes(stack.data)
    assert stack.backup("now").returncode == 0
    live = stack.data / "openbazaar" / "datastore" / "mainnet.db"
    writer = sqlite3.connect(live, isolation_level=None, timeout=60)
    writer.execute("pragma cache_size = 10")
    writer.execute("begin immediate")
    writer.execute("delete from keys")
    writer.executemany("insert into keys values (?, 0, ?)", [(f"uncommitted{n}", "u" * 200) for n in range(5000)])
    assert (live.parent / "mainnet.db-journal").stat().st_size > 0, "the transaction has not spilled to the file"
    try:
        backup = subprocess.Popen(
            [str(SCRIPT), "now"], env=stack.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        # The database is copied right after the dump: hold the transaction until then, and 2 s longer.
        calls = stack.records / "mongodump" / "calls"
        deadline = time.monotonic() + 60
        while calls.read_text().count("x") < 2:
            assert backup.poll() is None and time.monotonic() < deadline, "the second backup never dumped"
            time.sleep(0.1)
        time.sleep(2)
    finally:
        writer.execute("rollback")
        writer.close()
    output, _ = backup.communicate(timeout=300)
    assert backup.returncode == 0, output
    clear(stack.data)
    assert stack.backup("restore").returncode == 0
    with sqlite3.connect(live) as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)
        rows = db.execute("select count(*), sum(scriptAddress like 'uncommitted%') from keys").fetchone()
    db.close()
    assert rows == (500, 0)


def test_jobs_exclude_each_other(stack: Stack) -> None:
    make_volumes(stack.data)
    with (stack.state / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = stack.backup("now")
    assert "another backup or restore is running" in stderr_line(result)
    assert stack.backup("now").returncode == 0


def test_mongodump_gets_the_password_only_from_a_private_config_file(stack: Stack) -> None:
    make_volumes(stack.data)
    backup = stack.backup("now")
    assert backup.returncode == 0, backup.stdout + backup.stderr
    dumped = stack.records / "mongodump"
    argv = (dumped / "argv").read_text()
    assert MONGO_PASSWORD not in argv and "MONGO_APP_PASSWORD" not in argv
    assert (dumped / "secret-in-cmdline").read_text() == "", "the password is in a process's command line"
    assert yaml.safe_load((dumped / "config").read_text()) == {"password": MONGO_PASSWORD}
    assert (dumped / "config-mode").read_text().split()[0] == "600"
    env = (dumped / "env").read_text()
    assert MONGO_PASSWORD not in env and RESTIC_PASSWORD not in env and "test-secret-key" not in env
    assert set(argv.splitlines()) >= {
        "--host=mongodb",
        "--port=27017",
        "--username=connextcms",
        "--authenticationDatabase=connextcms",
        "--db=connextcms",
    }
    assert not list((stack.tmp / "tmp").iterdir()), "the config file outlives the run"


def test_a_failed_dump_fails_the_backup_and_takes_no_snapshot(stack: Stack) -> None:
    make_volumes(stack.data)
    result = stack.backup("now", STANDIN_DUMP=str(stack.tmp / "missing"))
    assert "mongodump" in stderr_line(result)
    assert stack.backup("now").returncode == 0
    assert len(stack.snapshots()) == 1
    assert not (stack.state / "staging").exists()


def test_retention_keeps_exactly_the_policys_snapshots(stack: Stack) -> None:
    make_volumes(stack.data)
    assert stack.backup("now").returncode == 0
    host = stack.snapshots()[0]["hostname"]
    backdated = {
        "A": "2024-01-10 12:00:00",
        "B": "2024-02-10 12:00:00",
        "C": "2024-03-05 12:00:00",
        "D": "2024-03-06 12:00:00",
        "E": "2024-03-12 09:00:00",
        "F": "2024-03-12 18:00:00",
    }
    for when in backdated.values():
        stack.restic("backup", "--host", str(host), "--time", when, str(stack.data / "devices"))
    policy = {"BACKUP_KEEP_DAILY": "2", "BACKUP_KEEP_WEEKLY": "3", "BACKUP_KEEP_MONTHLY": "3"}
    result = stack.backup("now", **policy)
    assert result.returncode == 0, result.stdout + result.stderr
    kept = sorted(str(snapshot["time"])[:19].replace("T", " ") for snapshot in stack.snapshots())
    today = time.strftime("%Y-%m-%d", time.gmtime())
    # Daily 2: today's newest and F (E is older the same day); weekly 3: + D (C is older the same week);
    # monthly 3: + B (A falls outside). The first of today's two snapshots goes too.
    assert kept[:3] == [backdated["B"], backdated["D"], backdated["F"]]
    assert len(kept) == 4 and kept[3].startswith(today)


def test_a_wrong_password_fails_clearly(stack: Stack) -> None:
    make_volumes(stack.data)
    assert stack.backup("now").returncode == 0
    for command in (("now",), ("restore",), ("check",)):
        result = stack.backup(*command, RESTIC_PASSWORD="not the password")
        assert "RESTIC_PASSWORD does not open the repository" in stderr_line(result), command
    assert (stack.data / "devices" / "registry").exists(), "a failed restore deleted data"
    assert len(stack.snapshots()) == 1


def test_check_reports_a_corrupted_pack(stack: Stack) -> None:
    make_volumes(stack.data)
    assert stack.backup("now").returncode == 0
    assert stack.backup("check", "100%").returncode == 0
    s3 = stack.s3()
    packs = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{stack.prefix}/data/")["Contents"]
    assert packs
    for pack in packs:
        body = bytearray(s3.get_object(Bucket=BUCKET, Key=pack["Key"])["Body"].read())
        body[len(body) // 3] ^= 0xFF
        s3.put_object(Bucket=BUCKET, Key=pack["Key"], Body=bytes(body))
    result = stack.backup("check", "100%")
    assert "check: the repository has errors" in stderr_line(result)
    assert "restic: " in result.stdout
    assert "repository check found errors" in stderr_line(stack.backup("health")), "docker ps shows it"


def test_health_turns_unhealthy_when_the_last_backup_is_too_old(stack: Stack) -> None:
    hour = {"BACKUP_INTERVAL_HOURS": "1"}
    assert stack.backup("health", **hour).returncode == 1, "never started, never backed up"
    (stack.state / "started").write_text(f"{int(time.time()) - 600}\n")
    assert stack.backup("health", **hour).returncode == 0, "started 10 minutes ago: not due yet"
    (stack.state / "started").write_text(f"{int(time.time()) - 3700}\n")
    assert "no successful backup" in stderr_line(stack.backup("health", **hour))

    make_volumes(stack.data)
    assert stack.backup("now").returncode == 0
    assert stack.backup("health", **hour).returncode == 0
    (stack.state / "last-success").write_text(f"{int(time.time()) - 5300}\n")
    assert stack.backup("health", **hour).returncode == 0, "under 1.5 intervals"
    (stack.state / "last-success").write_text(f"{int(time.time()) - 5500}\n")
    assert "unhealthy" in stderr_line(stack.backup("health", **hour))
    assert stack.backup("health", BACKUP_INTERVAL_HOURS="24").returncode == 0

    healthcheck = stack.tmp / "bin" / "p2pvps-healthcheck"
    healthcheck.symlink_to(SCRIPT)
    assert run([str(healthcheck)], env=stack.env | hour).returncode == 1, "the image's health check name"


def test_restore_files_once_restores_a_new_stack_once(stack: Stack) -> None:
    make_volumes(stack.data)
    before = tree(stack.data)
    assert stack.backup("now").returncode == 0
    clear(stack.data)
    for marker in ("last-success", "started"):
        (stack.state / marker).unlink(missing_ok=True)

    first = stack.backup("restore-files-once")
    assert first.returncode == 0, first.stdout + first.stderr
    assert tree(stack.data) == {name: entry for name, entry in before.items() if not EXCLUDED.match(name)}
    assert (stack.state / "pending-dump.archive").read_bytes() == DUMP
    assert not (stack.records / "mongorestore").exists(), "MongoDB is not up yet: no mongorestore"

    (stack.data / "devices" / "registry").write_text("changed by the running stack\n")
    again = stack.backup("restore-files-once", RESTIC_PASSWORD="the repository is not even opened")
    assert again.returncode == 0, again.stderr
    assert (stack.data / "devices" / "registry").read_text() == "changed by the running stack\n"

    for _ in range(2):
        dump = stack.backup("restore-dump-once")
        assert dump.returncode == 0, dump.stdout + dump.stderr
    assert (stack.records / "mongorestore" / "archive").read_bytes() == DUMP
    assert (stack.records / "mongorestore" / "calls").read_text() == "x\n", "the dump is restored once"
    assert not (stack.state / "pending-dump.archive").exists()


def test_restore_files_once_refuses_volumes_that_hold_data(stack: Stack) -> None:
    make_volumes(stack.data)
    assert stack.backup("now").returncode == 0
    (stack.data / "devices" / "registry").write_text("a live stack's registry\n")
    result = stack.backup("restore-files-once")
    assert "not empty" in stderr_line(result)
    assert (stack.data / "devices" / "registry").read_text() == "a live stack's registry\n"
    assert not (stack.state / "restored").exists()


def run_until_it_sleeps(stack: Stack, log: Path) -> str:
    """`p2pvps-backup run` until it says when the next backup is due; then SIGTERM, which ends it."""
    with log.open("w") as output:
        service = subprocess.Popen([str(SCRIPT), "run"], env=stack.env, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while "next backup in" not in log.read_text():
                assert service.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            service.terminate()
            assert service.wait(timeout=30) == 143, log.read_text()
        finally:
            service.kill()
    return log.read_text()


def test_run_backs_up_at_once_then_waits_for_the_interval(stack: Stack) -> None:
    make_volumes(stack.data)
    first = run_until_it_sleeps(stack, stack.tmp / "first.log")
    assert "initialising" in first and "next backup in 86400 s" in first
    assert (stack.state / "last-check").exists(), "the first backup is checked at once"
    assert len(stack.snapshots()) == 1

    (stack.state / "last-success").write_text(f"{int(time.time()) - 3600}\n")
    again = run_until_it_sleeps(stack, stack.tmp / "again.log")
    due = int(re.findall(r"next backup in (\d+) s", again)[0])
    assert 82700 <= due <= 82800, "a restart waits for the rest of the interval"
    assert len(stack.snapshots()) == 1


def test_dockerfile_pins_its_bases_restic_and_the_databases_tools() -> None:
    stages = dockerfile_stages(BACKUP)
    bases = [stage[0][1].split()[0] for stage in stages]
    assert bases[-1] == "mongo:4.4.29", "mongodump/mongorestore of the MongoDB the stack runs"
    assert all(re.search(r":[^:]*\d", base) and not base.endswith(":latest") for base in bases)
    text = (BACKUP / "Dockerfile").read_text()
    assert "RESTIC_VERSION=0.19.1" in text
    assert len(re.findall(r"\b[0-9a-f]{64}\b", text)) == 2, "the amd64 and arm64 release checksums"
    assert "sha256sum -c" in text
    final = stages[-1]
    assert ("HEALTHCHECK", 'CMD ["/usr/local/bin/p2pvps-healthcheck"]') in final
    assert ("ENTRYPOINT", '["/usr/local/bin/p2pvps-backup"]') in final
    assert "0.19.1" in (BACKUP / "README.md").read_text()


def test_the_scripts_are_strict_shell_checked_by_shellcheck() -> None:
    for script in (SCRIPT, STANDIN):
        assert script.read_text().startswith("#!/bin/sh\n") and "set -eu" in script.read_text()
        assert script.stat().st_mode & stat.S_IXUSR
        result = run([require("shellcheck"), "-s", "sh", "-f", "gcc", str(script)])
        assert result.returncode == 0, result.stdout
