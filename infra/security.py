"""Customer-managed KMS keys (rotation on): one for patient data at rest, one for alerts in flight."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


class Keys(Construct):
    """``data``: stream, lake, Athena results, ledger table, logs. ``alerts``: SNS topics and pager queues.

    Two keys so that a team can be allowed to read pages without being able to decrypt the lake.
    Service principals get only what they need, scoped to this account (confused-deputy guard).
    """

    def __init__(self, scope: Construct, construct_id: str, *, name: str, removal: cdk.RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.data = kms.Key(self, "Data", alias=f"alias/{name}-data", enable_key_rotation=True,
                            description="WardWatch patient data at rest", removal_policy=removal,
                            pending_window=cdk.Duration.days(30))
        self.data.add_to_resource_policy(iam.PolicyStatement(
            sid="CloudWatchLogsEncryptTheJobLog",
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            resources=["*"],  # in a key policy, "*" means this key
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                    f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:{name}*"}},
        ))
        self.alerts = kms.Key(self, "Alerts", alias=f"alias/{name}-alerts", enable_key_rotation=True,
                              description="WardWatch alert topics and pager queues", removal_policy=removal,
                              pending_window=cdk.Duration.days(30))
        self.alerts.add_to_resource_policy(iam.PolicyStatement(
            sid="SnsAndCloudWatchDeliverEncryptedMessages",
            principals=[iam.ServicePrincipal("sns.amazonaws.com"), iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],  # in a key policy, "*" means this key
            conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
        ))
