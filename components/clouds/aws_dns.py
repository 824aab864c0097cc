"""The AWS server's DNS: Route 53 A records for the site and LocalTunnel names, and certbot's IAM
user, allowed to write only the *.lt challenge record, whose key certbot answers DNS-01 with."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components import dns
from components.settings import Settings

ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"


def certbot_policy(zone_id: str, tunnel_domain: str) -> str:
    """Least privilege for certbot-dns-route53: TXT records of the one challenge name, in the one zone."""
    challenge = f"_acme-challenge.{dns.fqdn('lt', tunnel_domain)}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["route53:ListHostedZones", "route53:GetChange"], "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Action": "route53:ChangeResourceRecordSets",
                    "Resource": f"arn:aws:route53:::hostedzone/{zone_id}",
                    "Condition": {
                        "ForAllValues:StringEquals": {"route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]},
                        "ForAllValues:StringLike": {
                            "route53:ChangeResourceRecordSetsNormalizedRecordNames": [challenge]
                        },
                    },
                },
            ],
        },
        sort_keys=True,
    )


class AwsDns(pulumi.ComponentResource):
    """Route 53 A records for the site and LocalTunnel names, in zones looked up by name (or created)."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        *,
        create_zone: bool,
        address: pulumi.Input[str],
        opts: pulumi.ResourceOptions,
    ) -> None:
        super().__init__("p2pvps:aws:Dns", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        def zone_id(slug: str, zone_name: str) -> pulumi.Output[str]:
            if create_zone:
                return aws.route53.Zone(f"{name}-{slug}", name=zone_name, opts=child).zone_id
            invoke = pulumi.InvokeOptions(parent=self)
            return aws.route53.get_zone_output(name=zone_name, private_zone=False, opts=invoke).zone_id

        zones = dns.zones(settings.domain, settings.tunnel_domain, zone_id)
        self.records = [
            aws.route53.Record(
                f"{name}-a-{dns.record_slug(record)}",
                zone_id=zone,
                name=dns.fqdn(record, zone_name),
                type="A",
                ttl=dns.TTL_SECONDS,
                records=[address],
                opts=child,
            )
            for zone_name, zone, records in zones
            for record in records
        ]
        # The zone of the LocalTunnel names (the last one, see dns.zones): certbot answers the *.lt challenge there.
        self.tunnel_zone_id = zones[-1][1]
        self.register_outputs({"tunnelZoneId": self.tunnel_zone_id})


def certbot_credentials(
    name: str, settings: Settings, tunnel_zone_id: pulumi.Output[str], opts: pulumi.ResourceOptions
) -> dict[str, pulumi.Output[str]]:
    """certbot's IAM user, its policy and its access key, as the secret environment certbot reads."""
    user = aws.iam.User(name, name=f"{settings.resource_prefix}-certbot", path="/p2pvps/", opts=opts)
    aws.iam.UserPolicy(
        f"{name}-policy",
        user=user.name,
        policy=tunnel_zone_id.apply(lambda zone_id: certbot_policy(zone_id, settings.tunnel_domain)),
        opts=opts,
    )
    key = aws.iam.AccessKey(f"{name}-key", user=user.name, opts=opts)
    return {ACCESS_KEY_ID: pulumi.Output.secret(key.id), SECRET_ACCESS_KEY: pulumi.Output.secret(key.secret)}
