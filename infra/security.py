"""Customer-managed KMS keys (rotation on): one for patient data at rest, one for alerts in flight."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


class Keys(Construct):
    """``data``: stream, lake, ledger table, logs. ``alerts``: SNS topics and pager queues.
    ``quarantine``: refused records kept unchanged (may hold identities: only the job writes them).
    ``raw``: the raw zone, every stream record unchanged (only Firehose writes it; no analyst reads it).
    ``reports``: Athena results and the daily report CSVs (aggregates, no record-level reads).
    ``pseudonym``: the secret under which patient ids become analysts' keys (only the job decrypts it).

    Separate keys where data of different sensitivity meet: a team can read pages, or report
    results, without being able to decrypt the lake, and nobody who reads the lake decrypts the
    quarantine. Service principals get only what they need, scoped to this account.
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
        self.quarantine = kms.Key(self, "Quarantine", alias=f"alias/{name}-quarantine", enable_key_rotation=True,
                                  description="WardWatch refused records kept unchanged for replay",
                                  removal_policy=removal, pending_window=cdk.Duration.days(30))
        self.raw = kms.Key(self, "Raw", alias=f"alias/{name}-raw", enable_key_rotation=True,
                           description="WardWatch raw zone: every stream record kept unchanged for reprocessing",
                           removal_policy=removal, pending_window=cdk.Duration.days(30))
        self.pseudonym = kms.Key(self, "Pseudonym", alias=f"alias/{name}-pseudonym", enable_key_rotation=True,
                                 description="WardWatch key of the analysts' pseudonymous patient keys (Secrets Manager)",
                                 removal_policy=removal, pending_window=cdk.Duration.days(30))
        self.reports = kms.Key(self, "Reports", alias=f"alias/{name}-reports", enable_key_rotation=True,
                               description="WardWatch Athena results and report files", removal_policy=removal,
                               pending_window=cdk.Duration.days(30))
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
