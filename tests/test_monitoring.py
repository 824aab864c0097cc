"""Monitoring under Pulumi's mocks: on each cloud, what watches the site and the tunnels and the server,
at which thresholds, and who gets the alerts; `monitoring: false` creates none; the settings' messages."""

from __future__ import annotations

import logging

import pulumi
import pytest

from components.cms_routes import PUBLIC_ROUTES
from components.monitoring import watched_urls
from harness import DROPLET_ID, INSTANCE_ID, Evaluation, Registration, evaluate, run_program, settings_for
from offline.mock_cloud import sns_topic_arn

pytestmark = pytest.mark.unit

ADMIN_EMAIL = "ops@p2pvps.net"
ALERTS = "alerts@example.net"
DO_CHECK = "digitalocean:index/uptimeCheck:UptimeCheck"
DO_UPTIME_ALERT = "digitalocean:index/uptimeAlert:UptimeAlert"
DO_MONITOR_ALERT = "digitalocean:index/monitorAlert:MonitorAlert"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
MONITORING_TYPES = (DO_CHECK, DO_UPTIME_ALERT, DO_MONITOR_ALERT, HEALTH_CHECK, ALARM, TOPIC, SUBSCRIPTION)
DEV_URLS = {"https://dev.p2pvps.net/", "https://lt.dev.p2pvps.net/"}
AWS_HOSTS = {"us-east-1.p2pvps.net", "lt.us-east-1.p2pvps.net"}


@pytest.fixture(scope="module")
def aws_frankfurt() -> Evaluation:
    return evaluate("aws-us-east-1", overrides={"region": "eu-central-1", "alertEmail": ALERTS})


def monitoring_resources(evaluation: Evaluation) -> list[Registration]:
    return [r for r in evaluation.resources if r.type in MONITORING_TYPES or ":Monitoring" in r.type]


def by_name(evaluation: Evaluation, type_: str) -> dict[str, Registration]:
    return {r.plain("name"): r for r in evaluation.of_type(type_)}


def test_the_watched_site_page_is_open_to_anyone() -> None:
    """The clouds' probes come from anywhere: a page only adminCidrs reach would always look down."""
    (site, _) = watched_urls(settings_for("dev"))
    assert f"= {site.path}" in {route.location for route in PUBLIC_ROUTES}


# DigitalOcean


def test_digitalocean_checks_the_site_and_the_tunnel_host_over_https(dev: Evaluation) -> None:
    checks = dev.of_type(DO_CHECK)
    assert {check.plain("target") for check in checks} == DEV_URLS
    assert all(check.plain("type") == "https" and check.plain("enabled") for check in checks)


def test_digitalocean_alerts_on_down_slow_and_expiring_certificates_of_each_check(dev: Evaluation) -> None:
    alerts = by_name(dev, DO_UPTIME_ALERT)
    for check in dev.of_type(DO_CHECK):
        prefix = check.plain("name")
        mine = {name: alert for name, alert in alerts.items() if alert.plain("checkId") == f"{check.name}-id"}
        assert set(mine) == {f"{prefix}-down", f"{prefix}-slow", f"{prefix}-certificate"}
        down, slow, certificate = mine[f"{prefix}-down"], mine[f"{prefix}-slow"], mine[f"{prefix}-certificate"]
        assert (down.plain("type"), down.plain("period")) == ("down", "2m")
        assert slow.plain("type") == "latency"
        assert (slow.plain("comparison"), slow.plain("threshold"), slow.plain("period")) == ("greater_than", 2000, "5m")
        assert certificate.plain("type") == "ssl_expiry"
        assert (certificate.plain("comparison"), certificate.plain("threshold")) == ("less_than", 14)
        for alert in mine.values():
            assert alert.plain("notifications") == [{"emails": [ADMIN_EMAIL]}]


def test_digitalocean_alerts_on_the_droplets_cpu_memory_and_disk(dev: Evaluation) -> None:
    alerts = {r.plain("type"): r for r in dev.of_type(DO_MONITOR_ALERT)}
    expected = {
        "v1/insights/droplet/cpu": 90,
        "v1/insights/droplet/memory_utilization_percent": 90,
        "v1/insights/droplet/disk_utilization_percent": 85,
    }
    assert {kind: alert.plain("value") for kind, alert in alerts.items()} == expected
    for alert in alerts.values():
        assert (alert.plain("compare"), alert.plain("window")) == ("GreaterThan", "10m")
        assert alert.plain("entities") == [DROPLET_ID]
        assert alert.plain("alerts") == {"emails": [ADMIN_EMAIL]}
        assert alert.plain("enabled") is True


def test_the_droplet_runs_the_metrics_agent_memory_and_disk_alerts_need(dev: Evaluation) -> None:
    assert dev.one("digitalocean:index/droplet:Droplet").plain("monitoring") is True


def test_monitoring_starts_once_the_stack_serves(dev: Evaluation, aws: Evaluation) -> None:
    """No "down" alert for the minutes a first deploy builds and starts the containers."""
    for evaluation, component in ((dev, "p2pvps:digitalocean:Monitoring"), (aws, "p2pvps:aws:Monitoring")):
        nginx = evaluation.named("p2pvps-stack-nginx-container")
        assert nginx.urn in evaluation.one(component).dependencies


# AWS


def test_aws_health_checks_the_site_and_the_tunnel_host_over_https_with_sni(aws: Evaluation) -> None:
    checks = aws.of_type(HEALTH_CHECK)
    assert {check.plain("fqdn") for check in checks} == AWS_HOSTS
    for check in checks:
        assert check.plain("type") == "HTTPS"
        assert (check.plain("port"), check.plain("resourcePath"), check.plain("enableSni")) == (443, "/", True)
        assert (check.plain("requestInterval"), check.plain("failureThreshold")) == (30, 3)


def test_aws_alarms_on_each_health_check_in_us_east_1_where_its_metric_lives(aws_frankfurt: Evaluation) -> None:
    alarms = by_name(aws_frankfurt, ALARM)
    topic = sns_topic_arn("us-east-1", "p2pvps-aws-us-east-1-alerts")
    for check in aws_frankfurt.of_type(HEALTH_CHECK):
        alarm = alarms[f"{check.plain('tags')['Name']}-down"]
        assert alarm.plain("region") == "us-east-1"
        assert (alarm.plain("namespace"), alarm.plain("metricName")) == ("AWS/Route53", "HealthCheckStatus")
        assert alarm.plain("dimensions") == {"HealthCheckId": check.id}
        assert (alarm.plain("statistic"), alarm.plain("comparisonOperator"), alarm.plain("threshold")) == (
            "Minimum",
            "LessThanThreshold",
            1,
        )
        assert (alarm.plain("period"), alarm.plain("evaluationPeriods")) == (60, 2)
        assert alarm.plain("treatMissingData") == "breaching"
        assert alarm.plain("alarmActions") == alarm.plain("okActions") == [topic]


def test_aws_alarms_on_the_instances_cpu_and_status_checks_in_its_region(aws_frankfurt: Evaluation) -> None:
    alarms = by_name(aws_frankfurt, ALARM)
    cpu, status = alarms["p2pvps-aws-us-east-1-cpu"], alarms["p2pvps-aws-us-east-1-status-check"]
    topic = sns_topic_arn("eu-central-1", "p2pvps-aws-us-east-1-alerts")
    for alarm in (cpu, status):
        assert alarm.plain("region") == "eu-central-1"
        assert alarm.plain("namespace") == "AWS/EC2"
        assert alarm.plain("dimensions") == {"InstanceId": INSTANCE_ID}
        assert alarm.plain("alarmActions") == alarm.plain("okActions") == [topic]
    assert (cpu.plain("metricName"), cpu.plain("statistic"), cpu.plain("comparisonOperator")) == (
        "CPUUtilization",
        "Average",
        "GreaterThanThreshold",
    )
    assert (cpu.plain("threshold"), cpu.plain("period"), cpu.plain("evaluationPeriods")) == (90, 300, 2)
    assert (status.plain("metricName"), status.plain("statistic"), status.plain("comparisonOperator")) == (
        "StatusCheckFailed",
        "Maximum",
        "GreaterThanOrEqualToThreshold",
    )
    assert (status.plain("threshold"), status.plain("period"), status.plain("evaluationPeriods")) == (1, 60, 2)


def test_aws_mails_alert_email_from_a_topic_in_each_region_with_alarms(aws_frankfurt: Evaluation) -> None:
    topics = {topic.plain("region"): topic for topic in aws_frankfurt.of_type(TOPIC)}
    assert set(topics) == {"us-east-1", "eu-central-1"}
    subscriptions = {s.plain("region"): s for s in aws_frankfurt.of_type(SUBSCRIPTION)}
    for region in topics:
        subscription = subscriptions[region]
        assert subscription.plain("topic") == sns_topic_arn(region, "p2pvps-aws-us-east-1-alerts")
        assert (subscription.plain("protocol"), subscription.plain("endpoint")) == ("email", ALERTS)


def test_an_aws_stack_in_us_east_1_has_one_topic_for_all_its_alarms(aws: Evaluation) -> None:
    assert [topic.plain("region") for topic in aws.of_type(TOPIC)] == ["us-east-1"]
    assert len(aws.of_type(SUBSCRIPTION)) == 1
    assert {alarm.plain("region") for alarm in aws.of_type(ALARM)} == {"us-east-1"}


# Vultr


def test_vultr_creates_nothing_and_says_nothing_watches_the_stack(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        evaluation = evaluate("vultr-ewr")
    assert monitoring_resources(evaluation) == []
    warned = " ".join(record.getMessage() for record in caplog.records)
    assert "Vultr's provider offers no uptime checks or alerts: nothing watches this stack" in warned
    assert ADMIN_EMAIL in warned and "p2pvps:monitoring false" in warned


def test_vultr_with_monitoring_off_is_quiet(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        evaluate("vultr-ewr", overrides={"monitoring": False})
    assert "nothing watches this stack" not in " ".join(record.getMessage() for record in caplog.records)


# Turning it off, and the settings


@pytest.mark.parametrize("stack", ["dev", "aws-us-east-1"])
def test_monitoring_false_creates_no_check_alert_or_topic(stack: str) -> None:
    assert monitoring_resources(evaluate(stack)) != []
    assert monitoring_resources(evaluate(stack, overrides={"monitoring": False})) == []


def test_the_local_stack_has_no_monitoring() -> None:
    assert settings_for("local").monitoring.enabled is False
    assert monitoring_resources(evaluate("local")) == []
    assert settings_for("local", monitoring="false").monitoring.enabled is False


def test_the_local_stack_refuses_monitoring_true_and_says_why() -> None:
    with pytest.raises(pulumi.RunError) as caught:
        settings_for("local", monitoring="true")
    assert "p2pvps:monitoring: true is not possible on the local stack: no cloud watches your own machine" in str(
        caught.value
    )
    assert "`pulumi config rm p2pvps:monitoring`" in str(caught.value)


def test_monitoring_is_on_by_default_on_every_cloud() -> None:
    for stack in ("dev", "aws-us-east-1", "vultr-ewr"):
        assert settings_for(stack).monitoring.enabled is True


def test_alerts_go_to_the_admin_email_unless_alert_email_is_set() -> None:
    assert settings_for("dev").monitoring.alert_email == ADMIN_EMAIL
    assert settings_for("dev", alertEmail=ALERTS).monitoring.alert_email == ALERTS


def test_alert_email_reaches_every_digitalocean_alert() -> None:
    evaluation = evaluate("dev", overrides={"alertEmail": ALERTS})
    for alert in evaluation.of_type(DO_UPTIME_ALERT):
        assert alert.plain("notifications") == [{"emails": [ALERTS]}]
    for alert in evaluation.of_type(DO_MONITOR_ALERT):
        assert alert.plain("alerts") == {"emails": [ALERTS]}


def test_the_tunnel_host_is_watched_in_the_tunnel_domain() -> None:
    evaluation = evaluate("dev", overrides={"tunnelDomain": "p2pvps-tunnels.net"})
    targets = {check.plain("target") for check in evaluation.of_type(DO_CHECK)}
    assert targets == {"https://dev.p2pvps.net/", "https://lt.p2pvps-tunnels.net/"}


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("alertEmail", "alerts-at-example.net", '"alerts-at-example.net" is not a valid e-mail address'),
        ("alertEmail", "alerts@example", '"alerts@example" is not a valid e-mail address'),
        ("monitoring", "yes", '"yes" is not a boolean; expected true or false'),
    ],
)
def test_a_bad_monitoring_setting_is_refused_before_anything_is_created(key: str, value: str, expected: str) -> None:
    evaluation = run_program("dev", overrides={key: value})
    assert f"p2pvps:{key}: {expected}" in str(evaluation.error)
    assert evaluation.resources == []
