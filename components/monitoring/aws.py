"""AWS: Route 53 HTTPS health checks of the stack's URLs with CloudWatch alarms on them, and CPU and
status-check alarms on the instance, every alarm notifying an SNS topic that mails `alertEmail`.

Route 53 publishes health-check metrics in us-east-1 only, and an alarm notifies topics of its own
region: the health-check alarms and a topic for them are in us-east-1 whatever the stack's region,
and a stack elsewhere has a second topic in its own region for the instance's alarms (two subscriptions to
confirm). pulumi-aws 7 sets the region per resource, on the stack's one provider.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from components.clouds.aws_provider import stack_provider
from components.monitoring import BUSY_MINUTES, CPU_PERCENT, DOWN_MINUTES, watched_urls
from components.ports import HTTPS_PORT
from components.settings import ServerSettings, Settings

METRICS_REGION = "us-east-1"
CHECK_INTERVAL_SECONDS = 30
CHECK_FAILURES = 3
"""Route 53 calls an endpoint unhealthy after this many failed checks in a row (from each checker)."""
MINUTE = 60
EC2_BASIC_PERIOD = 300
"""Basic EC2 monitoring publishes CPU every 5 minutes; status checks every minute."""


class AwsMonitoring(pulumi.ComponentResource):
    """Creates: an SNS topic with `alertEmail` subscribed in each region that has alarms; a Route 53 HTTPS
    health check (SNI, path) per watched URL and an alarm on each; the instance's CPU and status-check
    alarms."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        server: ServerSettings,
        machine_id: pulumi.Output[str],
        opts: pulumi.ResourceOptions,
    ) -> None:
        super().__init__("p2pvps:aws:Monitoring", name, None, opts)
        self._name = name
        self._prefix = settings.resource_prefix
        provider = stack_provider(f"{name}-aws", settings, server, self)
        self._child = pulumi.ResourceOptions(parent=self, provider=provider)
        self._topics = {
            region: self._topic(region, settings.monitoring.alert_email)
            for region in sorted({server.region, METRICS_REGION})
        }
        for watched in watched_urls(settings):
            check = aws.route53.HealthCheck(
                f"{name}-{watched.slug}",
                type="HTTPS",
                fqdn=watched.host,
                port=HTTPS_PORT,
                resource_path=watched.path,
                enable_sni=True,
                request_interval=CHECK_INTERVAL_SECONDS,
                failure_threshold=CHECK_FAILURES,
                tags={"Name": f"{self._prefix}-{watched.slug}"},
                opts=self._child,
            )
            self._alarm(
                f"{watched.slug}-down",
                METRICS_REGION,
                f"{watched.url} fails Route 53's health checks",
                namespace="AWS/Route53",
                metric="HealthCheckStatus",
                dimensions={"HealthCheckId": check.id},
                statistic="Minimum",
                period=MINUTE,
                periods=DOWN_MINUTES,
                comparison="LessThanThreshold",
                threshold=1,
                missing="breaching",
            )
        instance = {"InstanceId": machine_id}
        self._alarm(
            "cpu",
            server.region,
            f"{self._prefix}: CPU above {CPU_PERCENT}% for {BUSY_MINUTES} minutes",
            namespace="AWS/EC2",
            metric="CPUUtilization",
            dimensions=instance,
            statistic="Average",
            period=EC2_BASIC_PERIOD,
            periods=BUSY_MINUTES * MINUTE // EC2_BASIC_PERIOD,
            comparison="GreaterThanThreshold",
            threshold=CPU_PERCENT,
        )
        self._alarm(
            "status-check",
            server.region,
            f"{self._prefix}: the instance or its host fails EC2's status checks",
            namespace="AWS/EC2",
            metric="StatusCheckFailed",
            dimensions=instance,
            statistic="Maximum",
            period=MINUTE,
            periods=DOWN_MINUTES,
            comparison="GreaterThanOrEqualToThreshold",
            threshold=1,
        )
        self.register_outputs({})

    def _topic(self, region: str, recipient: str) -> pulumi.Output[str]:
        """A topic in `region` and `recipient`'s e-mail subscription, which AWS asks the recipient to confirm."""
        topic = aws.sns.Topic(
            f"{self._name}-alerts-{region}", name=f"{self._prefix}-alerts", region=region, opts=self._child
        )
        aws.sns.TopicSubscription(
            f"{self._name}-alerts-{region}-email",
            topic=topic.arn,
            protocol="email",
            endpoint=recipient,
            region=region,
            opts=self._child,
        )
        return topic.arn

    def _alarm(
        self,
        slug: str,
        region: str,
        description: str,
        *,
        namespace: str,
        metric: str,
        dimensions: Mapping[str, pulumi.Input[str]],
        statistic: str,
        period: int,
        periods: int,
        comparison: str,
        threshold: float,
        missing: str = "missing",
    ) -> None:
        """An alarm in `region` that notifies the region's topic when it fires and when it clears."""
        topic = self._topics[region]
        aws.cloudwatch.MetricAlarm(
            f"{self._name}-{slug}",
            name=f"{self._prefix}-{slug}",
            region=region,
            alarm_description=description,
            namespace=namespace,
            metric_name=metric,
            dimensions=dimensions,
            statistic=statistic,
            period=period,
            evaluation_periods=periods,
            comparison_operator=comparison,
            threshold=threshold,
            treat_missing_data=missing,
            alarm_actions=[topic],
            ok_actions=[topic],
            opts=self._child,
        )


def monitoring(
    name: str, settings: Settings, server: ServerSettings, machine_id: pulumi.Output[str], opts: pulumi.ResourceOptions
) -> None:
    AwsMonitoring(name, settings, server, machine_id, opts)
