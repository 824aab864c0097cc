"""The explicit AWS provider of a stack's region (never `aws:region`), tagging all it creates with the stack."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.settings import ServerSettings, Settings


def stack_provider(name: str, settings: Settings, server: ServerSettings, parent: pulumi.Resource) -> aws.Provider:
    return aws.Provider(
        name,
        region=server.region,
        default_tags=aws.ProviderDefaultTagsArgs(tags={"project": settings.project, "stack": settings.stack}),
        opts=pulumi.ResourceOptions(parent=parent),
    )
