"""Backups under Pulumi's mocks: each cloud's private repository and a key that reaches only it, the backup
container (stack network, no published port, read-only data), its secrets, the restoreFrom order, the
compose file's backup service and the backup settings' messages. The image and its scripts:
tests/test_backup_scripts.py."""

from __future__ import annotations

import json
import logging
from typing import Any

import pulumi
import pytest
import yaml

from components.backup_storage.aws import backup_policy
from components.catalog import COMPOSE_DIR
from harness import (
    CONTAINER,
    SENTINEL,
    Evaluation,
    MockCloud,
    Registration,
    container_env,
    containers,
    evaluate,
    is_secret,
    run_program,
    settings_for,
    unwrap,
)
from offline.mock_cloud import BUCKET_SUFFIX, VULTR_OBJECT_STORAGE_HOST

pytestmark = pytest.mark.unit

OLD_REPOSITORY = "s3:https://nyc3.digitaloceanspaces.com/p2pvps-old-backup-12345678/old"
BACKED_UP = {"connextcms", "devices", "letsencrypt", "openbazaar", "ssh-server"}
EXPORTS = ("backupRepository", "backupPassword", "backupAccessKeyId", "backupSecretAccessKey")


@pytest.fixture(scope="module")
def restoring() -> Evaluation:
    return evaluate("dev", overrides={"restoreFrom": OLD_REPOSITORY})


def backup_env(evaluation: Evaluation) -> dict[str, str]:
    return container_env(containers(evaluation)["backup"])


def env_entry(container: Registration, key: str) -> Any:
    """The recorded `KEY=value` entry of a container's environment, secret wrapper and all."""
    return next(entry for entry in container.inputs["envs"] if unwrap(entry).startswith(f"{key}="))


# The repository on each cloud


def test_digitalocean_backs_up_to_a_private_versioned_spaces_bucket_kept_with_the_stack(dev: Evaluation) -> None:
    bucket = dev.one("digitalocean:index/spacesBucket:SpacesBucket")
    assert bucket.plain("name") == f"p2pvps-dev-backup-{BUCKET_SUFFIX}"
    assert bucket.plain("region") == "nyc3"
    assert bucket.plain("acl") == "private"
    assert bucket.plain("versioning") == {"enabled": True}
    assert bucket.protect and bucket.retain_on_delete
    assert backup_env(dev)["RESTIC_REPOSITORY"] == f"s3:https://nyc3.digitaloceanspaces.com/{bucket.plain('name')}/dev"


@pytest.mark.parametrize(("region", "spaces"), [("nyc1", "nyc3"), ("ams2", "ams3"), ("sfo1", "sfo3"), ("fra1", "fra1")])
def test_the_bucket_is_in_the_nearest_spaces_region(region: str, spaces: str) -> None:
    evaluation = evaluate("dev", overrides={"region": region})
    assert evaluation.one("digitalocean:index/spacesBucket:SpacesBucket").plain("region") == spaces


def test_the_spaces_key_may_read_and_write_that_bucket_and_nothing_else(dev: Evaluation) -> None:
    bucket = dev.one("digitalocean:index/spacesBucket:SpacesBucket").plain("name")
    key = dev.one("digitalocean:index/spacesKey:SpacesKey")
    assert key.plain("grants") == [{"bucket": bucket, "permission": "readwrite"}]
    env = backup_env(dev)
    assert env["AWS_ACCESS_KEY_ID"] == "DO00MOCKSPACESKEY"
    assert env["AWS_SECRET_ACCESS_KEY"] == f"{SENTINEL}spacessecretkey"


def test_aws_bucket_is_private_encrypted_versioned_and_kept_with_the_stack(aws: Evaluation) -> None:
    bucket = aws.one("aws:s3/bucket:Bucket")
    name = bucket.plain("bucket")
    assert name == f"p2pvps-aws-us-east-1-backup-{BUCKET_SUFFIX}"
    assert bucket.protect and bucket.retain_on_delete
    block = aws.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").plain()
    assert block == {
        "bucket": name,
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }
    (rule,) = aws.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").plain(
        "rules"
    )
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    ownership = aws.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").plain()
    assert ownership == {"bucket": name, "rule": {"objectOwnership": "BucketOwnerEnforced"}}
    versioning = aws.one("aws:s3/bucketVersioning:BucketVersioning").plain()
    assert versioning == {"bucket": name, "versioningConfiguration": {"status": "Enabled"}}
    (lifecycle,) = aws.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").plain("rules")
    assert lifecycle["noncurrentVersionExpiration"]["noncurrentDays"] > 0
    assert backup_env(aws)["RESTIC_REPOSITORY"] == f"s3:https://s3.us-east-1.amazonaws.com/{name}/aws-us-east-1"


def test_aws_bucket_refuses_requests_without_tls(aws: Evaluation) -> None:
    arn = f"arn:aws:s3:::{aws.one('aws:s3/bucket:Bucket').plain('bucket')}"
    statements = json.loads(aws.one("aws:s3/bucketPolicy:BucketPolicy").plain("policy"))["Statement"]
    (statement,) = [item for item in statements if "aws:SecureTransport" in item["Condition"].get("Bool", {})]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Deny", "*", "s3:*")
    assert statement["Resource"] == [arn, f"{arn}/*"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_aws_bucket_refuses_objects_written_with_a_key_of_the_writers_own(aws: Evaluation) -> None:
    """A taken-over server cannot overwrite the backups with SSE-C versions only the attacker can decrypt."""
    arn = f"arn:aws:s3:::{aws.one('aws:s3/bucket:Bucket').plain('bucket')}"
    statements = json.loads(aws.one("aws:s3/bucketPolicy:BucketPolicy").plain("policy"))["Statement"]
    header_present = {"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}}
    denies = [item for item in statements if item["Effect"] == "Deny" and item["Condition"] == header_present]
    assert [(item["Principal"], item["Action"], item["Resource"]) for item in denies] == [
        ("*", "s3:PutObject", f"{arn}/*")
    ]


def test_aws_backup_user_may_only_reach_that_bucket(aws: Evaluation) -> None:
    arn = f"arn:aws:s3:::{aws.one('aws:s3/bucket:Bucket').plain('bucket')}"
    user = aws.named("p2pvps-backup-user")
    policy_resource = aws.named("p2pvps-backup-policy")
    assert policy_resource.plain("user") == user.plain("name") == "p2pvps-aws-us-east-1-backup"
    policy = json.loads(policy_resource.plain("policy"))
    assert {statement["Resource"] for statement in policy["Statement"]} == {arn, f"{arn}/*"}
    assert all(statement["Effect"] == "Allow" for statement in policy["Statement"])
    actions = {action for statement in policy["Statement"] for action in statement["Action"]}
    assert actions == {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
    key = aws.named("p2pvps-backup-key")
    assert key.plain("user") == user.plain("name")
    env = backup_env(aws)
    assert env["AWS_ACCESS_KEY_ID"] == key.id
    assert env["AWS_SECRET_ACCESS_KEY"] == f"{SENTINEL}awssecretkey"


def test_the_backup_policy_names_no_wildcard_resource() -> None:
    policy = json.loads(backup_policy("arn:aws:s3:::b"))
    assert "*" not in [statement["Resource"] for statement in policy["Statement"]]
    assert not [a for s in policy["Statement"] for a in s["Action"] if a.endswith("*") or "Version" in a]


def test_vultr_backs_up_to_an_object_storage_subscription_of_its_own_in_the_region(vultr: Evaluation) -> None:
    storage = vultr.one("vultr:index/objectStorage:ObjectStorage")
    assert storage.plain() == {"clusterId": 2, "tierId": 3, "label": "p2pvps-vultr-ewr-backup"}
    assert storage.protect and storage.retain_on_delete
    env = backup_env(vultr)
    assert env["RESTIC_REPOSITORY"] == (
        f"s3:https://{VULTR_OBJECT_STORAGE_HOST}/p2pvps-vultr-ewr-backup-{BUCKET_SUFFIX}/vultr-ewr"
    )
    assert env["AWS_SECRET_ACCESS_KEY"] == f"{SENTINEL}vultrs3secretkey"


def test_vultr_looks_up_the_cluster_of_the_servers_region() -> None:
    cloud = MockCloud()
    evaluate("vultr-ewr", cloud=cloud)
    (cluster,) = [args for token, args in cloud.calls if token.endswith("getObjectStorageCluster")]
    assert cluster["filters"] == [{"name": "region", "values": ["ewr"]}]


def test_the_local_stack_backs_up_only_when_asked_into_a_directory_on_this_machine() -> None:
    assert "backup" not in containers(evaluate("local"))
    evaluation = evaluate("local", overrides={"backup": True})
    backup = containers(evaluation)["backup"]
    env = container_env(backup)
    assert env["RESTIC_REPOSITORY"] == "/backup/repository"
    assert "AWS_ACCESS_KEY_ID" not in env
    mounts = {mount["target"]: mount for mount in backup.plain("mounts")}
    assert mounts["/backup/repository"]["source"] == "p2pvps_backup-repository"
    assert not [r for r in evaluation.resources if r.type.startswith(("aws:", "digitalocean:", "vultr:"))]


def test_a_configured_repository_replaces_the_clouds_and_uses_its_own_key() -> None:
    url = "s3:https://s3.eu-central-1.amazonaws.com/other-account-backups/p2pvps"
    evaluation = evaluate("dev", overrides={"backupRepository": url})
    assert not evaluation.of_type("digitalocean:index/spacesBucket:SpacesBucket")
    env = backup_env(evaluation)
    assert env["RESTIC_REPOSITORY"] == url
    assert env["AWS_ACCESS_KEY_ID"] == f"{SENTINEL}backupAccessKeyId"
    assert env["RESTIC_PASSWORD"] == f"{SENTINEL}backupPassword"
    assert unwrap(evaluation.exports["backupPassword"]) == f"{SENTINEL}backupPassword"


# The backup container


def test_the_backup_container_is_on_the_stack_network_with_no_published_port(dev: Evaluation) -> None:
    backup = containers(dev)["backup"].plain()
    assert backup["name"] == "p2pvps-backup"
    assert backup["networkMode"] == "p2pvps"
    assert backup["networksAdvanced"] == [{"name": "p2pvps", "aliases": ["backup"]}]
    assert not backup.get("ports")
    assert backup["command"] == ["run"], "the image's entrypoint is p2pvps-backup"
    assert backup["capabilities"] == {"drops": ["ALL"], "adds": ["DAC_OVERRIDE"]}
    assert backup["tmpfs"] == {"/data/db": "", "/data/configdb": ""}
    assert not backup.get("privileged")
    assert backup["healthcheck"]["tests"] == ["CMD", "p2pvps-backup", "health"]
    assert backup["restart"] == "unless-stopped" and backup["wait"] is True


def test_the_backup_container_reads_every_data_volume_but_mongodbs_and_writes_only_its_state(dev: Evaluation) -> None:
    volumes = [m for m in containers(dev)["backup"].plain("mounts") if m["type"] == "volume"]
    by_target = {mount["target"]: mount for mount in volumes}
    assert set(by_target) == {f"/backup/data/{name}" for name in BACKED_UP} | {"/backup/state"}
    for name in BACKED_UP:
        assert by_target[f"/backup/data/{name}"] == {
            "type": "volume",
            "source": f"p2pvps_{name}",
            "target": f"/backup/data/{name}",
            "readOnly": True,
        }
    assert by_target["/backup/state"]["source"] == "p2pvps_backup"
    assert not by_target["/backup/state"].get("readOnly")


def test_the_backup_service_dumps_mongodb_with_the_apps_credentials(dev: Evaluation) -> None:
    env = backup_env(dev)
    mongodb = container_env(containers(dev)["mongodb"])
    assert (env["MONGO_HOST"], env["MONGO_PORT"]) == ("mongodb", "27017")
    assert env["MONGO_APP_USER"] == mongodb["MONGO_APP_USER"]
    assert env["MONGO_APP_PASSWORD"] == mongodb["MONGO_APP_PASSWORD"]
    assert "MONGO_INITDB_ROOT_PASSWORD" not in env


def test_schedule_and_retention_reach_the_backup_service() -> None:
    env = backup_env(evaluate("dev", overrides={"backupSchedule": "6h", "backupRetention": "14d,8w"}))
    assert (env["BACKUP_INTERVAL_HOURS"], env["BACKUP_KEEP_DAILY"], env["BACKUP_KEEP_WEEKLY"]) == ("6", "14", "8")
    assert env["BACKUP_KEEP_MONTHLY"] == "0"
    defaults = backup_env(evaluate("dev"))
    assert [defaults[f"BACKUP_KEEP_{n}"] for n in ("DAILY", "WEEKLY", "MONTHLY")] == ["7", "4", "6"]
    assert defaults["BACKUP_INTERVAL_HOURS"] == "24"


def test_backups_can_be_turned_off_on_a_cloud() -> None:
    evaluation = evaluate("dev", overrides={"backup": False})
    assert "backup" not in containers(evaluation)
    assert not [r for r in evaluation.resources if "backup" in r.name]
    assert not [name for name in evaluation.exports if name.startswith("backup")]


# Secrets


@pytest.mark.parametrize("stack", ["dev", "aws-us-east-1", "vultr-ewr"])
def test_every_repository_value_is_a_secret_in_the_container_and_the_stack_outputs(stack: str) -> None:
    evaluation = evaluate(stack)
    backup = containers(evaluation)["backup"]
    for key in ("RESTIC_REPOSITORY", "RESTIC_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert is_secret(env_entry(backup, key)), key
    for name in EXPORTS:
        assert is_secret(evaluation.exports[name]), name
    assert unwrap(evaluation.exports["backupPassword"]) == container_env(backup)["RESTIC_PASSWORD"]


def test_the_restic_password_is_generated_by_pulumi_random(dev: Evaluation) -> None:
    password = dev.named("p2pvps-backup-password")
    assert password.type == "random:index/randomPassword:RandomPassword"
    assert password.plain("length") >= 32
    assert backup_env(dev)["RESTIC_PASSWORD"] == f"{SENTINEL}p2pvpsbackuppassword"


# restoreFrom


def waits_for(evaluation: Evaluation, container: Registration) -> set[str]:
    names = {c.urn: c.plain("hostname") for c in evaluation.of_type(CONTAINER)}
    return {names[urn] for urn in container.dependencies if urn in names}


def test_without_restore_from_there_is_no_restore_step(dev: Evaluation) -> None:
    assert not {"restore-files", "restore-dump"} & set(containers(dev))


def test_files_are_restored_before_any_container_of_the_stack_is_created(restoring: Evaluation) -> None:
    by_name = containers(restoring)
    files = by_name["restore-files"]
    assert waits_for(restoring, files) == set()
    services = set(by_name) - {"restore-files", "restore-dump"}
    assert len(services) == 9
    for name in services:
        assert "restore-files" in waits_for(restoring, by_name[name]), name
    inputs = files.plain()
    assert inputs["command"] == ["restore-files-once"]
    assert inputs["capabilities"] == {"drops": ["ALL"], "adds": ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"]}
    assert inputs["mustRun"] is False and inputs["attach"] is True and inputs["restart"] == "no"
    volumes = {m["target"]: m for m in inputs["mounts"] if m["type"] == "volume"}
    assert set(volumes) == {f"/backup/data/{name}" for name in BACKED_UP} | {"/backup/state"}
    assert not [m for m in volumes.values() if m.get("readOnly")], "a restore writes the volumes"


def test_the_dump_is_restored_once_mongodb_is_healthy_and_before_what_uses_it(restoring: Evaluation) -> None:
    by_name = containers(restoring)
    dump = by_name["restore-dump"]
    assert dump.plain("command") == ["restore-dump-once"]
    assert "mongodb" in waits_for(restoring, dump)
    assert by_name["mongodb"].plain("wait") is True, "created means healthy"
    for name in ("connextcms", "backup"):
        assert "restore-dump" in waits_for(restoring, by_name[name]), name
    for name in ("mongodb", "openbazaar", "ssh-server", "nginx"):
        assert "restore-dump" not in waits_for(restoring, by_name[name]), name


def test_the_restore_reads_restore_from_with_its_own_secrets(restoring: Evaluation) -> None:
    files = containers(restoring)["restore-files"]
    env = container_env(files)
    assert env["RESTIC_REPOSITORY"] == OLD_REPOSITORY
    assert env["RESTIC_PASSWORD"] == f"{SENTINEL}restorePassword"
    assert env["AWS_ACCESS_KEY_ID"] == f"{SENTINEL}restoreAccessKeyId"
    assert env["AWS_SECRET_ACCESS_KEY"] == f"{SENTINEL}restoreSecretAccessKey"
    for key in ("RESTIC_REPOSITORY", "RESTIC_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert is_secret(env_entry(files, key)), key
    assert backup_env(restoring)["RESTIC_REPOSITORY"].startswith("s3:https://nyc3.digitaloceanspaces.com/p2pvps-dev-")


def test_restore_secrets_piped_into_pulumi_config_lose_their_newline() -> None:
    secrets = {"dnsToken": "token", "restorePassword": "pw\n", "restoreAccessKeyId": "id\n"}
    evaluation = evaluate(
        "dev", overrides={"restoreFrom": OLD_REPOSITORY}, secrets={**secrets, "restoreSecretAccessKey": "k"}
    )
    env = container_env(containers(evaluation)["restore-files"])
    assert (env["RESTIC_PASSWORD"], env["AWS_ACCESS_KEY_ID"]) == ("pw", "id")


def test_a_failed_restore_stops_the_deploy_before_any_app_container() -> None:
    evaluation = run_program("dev", overrides={"restoreFrom": OLD_REPOSITORY}, cloud=MockCloud(one_shot_exit_code=1))
    assert "p2pvps-restore-files exited with 1: see `docker logs p2pvps-restore-files`" in str(evaluation.error)
    assert set(containers(evaluation)) == {"restore-files"}


# The compose file


def test_the_compose_file_has_the_backup_service_without_ports_and_with_read_only_data() -> None:
    document = yaml.safe_load((COMPOSE_DIR / "docker-compose.yml").read_text())
    backup = document["services"]["backup"]
    assert backup["build"] == {"context": ".", "dockerfile": "backup/Dockerfile"}
    assert "ports" not in backup
    assert backup["networks"] == {"p2pvps": {"aliases": ["backup"]}}
    assert backup["depends_on"] == {"mongodb": {"condition": "service_healthy"}}
    data = [mount for mount in backup["volumes"] if ":/backup/data/" in mount]
    assert sorted(data) == sorted(f"{name}:/backup/data/{name}:ro" for name in BACKED_UP)
    assert backup["profiles"] == ["backup"], "it needs a repository, which compose cannot create"
    assert (backup["cap_drop"], backup["cap_add"]) == (["ALL"], ["DAC_OVERRIDE"])
    assert backup["environment"]["RESTIC_PASSWORD"] == "${BACKUP_PASSWORD:-}"
    assert backup["environment"]["BACKUP_INTERVAL_HOURS"] == "${BACKUP_INTERVAL_HOURS:-24}"


# Settings


def error_of(**changes: Any) -> str:
    with pytest.raises(pulumi.RunError) as caught:
        settings_for("dev", **changes)
    return str(caught.value)


def test_a_repository_without_its_key_says_how_to_set_it() -> None:
    with pytest.raises(pulumi.RunError) as caught:
        settings_for("dev", secrets={"dnsToken": "token"}, backupRepository=OLD_REPOSITORY, restoreFrom=OLD_REPOSITORY)
    message = str(caught.value)
    for key in ("backupAccessKeyId", "backupSecretAccessKey"):
        expected = f"p2pvps:{key}: missing; p2pvps:backupRepository needs"
        assert expected in message and f"`pulumi config set --secret p2pvps:{key} <value>`" in message
    for key in ("restorePassword", "restoreAccessKeyId", "restoreSecretAccessKey"):
        assert f"p2pvps:{key}: missing; p2pvps:restoreFrom needs" in message
    assert "backupPassword" not in message, "a new repository gets a generated password"


def test_restoring_needs_backups_on() -> None:
    message = error_of(backup="false", restoreFrom=OLD_REPOSITORY)
    assert "p2pvps:restoreFrom: needs backups on" in message
    assert "`pulumi config set p2pvps:backup true`" in message


def test_backups_default_to_on_for_clouds_and_off_for_the_local_stack_without_a_repository() -> None:
    assert settings_for("dev").backup.enabled
    assert not settings_for("local").backup.enabled
    assert settings_for("local", backupRepository=OLD_REPOSITORY).backup.enabled
    assert not settings_for("dev", backup="false").backup.enabled
    backup = settings_for("dev", backupSchedule="12h", backupRetention="3d, 2m").backup
    assert (backup.interval_hours, backup.retention.daily, backup.retention.weekly) == (12, 3, 0)
    assert backup.retention.monthly == 2


def test_secrets_of_a_repository_are_secret_outputs_and_unused_without_it() -> None:
    settings = settings_for("dev", backupRepository=OLD_REPOSITORY)
    repository = settings.backup.repository
    assert repository is not None and repository.url == OLD_REPOSITORY
    assert isinstance(repository.secret_access_key, pulumi.Output)
    assert settings_for("dev").backup.repository is None


def test_vultr_says_a_taken_over_server_can_delete_its_backups(caplog: pytest.LogCaptureFixture) -> None:
    """Vultr's key reaches the whole subscription with nothing to keep old versions: `pulumi up` says so."""
    with caplog.at_level(logging.WARNING):
        evaluate("vultr-ewr")
    warned = " ".join(record.getMessage() for record in caplog.records)
    assert "a server that is taken over can delete every backup" in warned
    assert "p2pvps:backupRepository" in warned
