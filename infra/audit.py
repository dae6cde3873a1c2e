"""Who read patient data: CloudTrail data events on the lake, the quarantine and the raw zone.

S3 data events (every GetObject, PutObject, DeleteObject on the curated lake and the
quarantine) go to an audit bucket of their own, encrypted with the data key, validated (digest
files), and to an encrypted log group for searching. Kept ``audit_retention_days`` (README,
"Retention"). Management events are left to the account's own trail.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.environments import Environment
from infra.security import Keys
from infra.storage import Storage


class Audit(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env: Environment, name: str, keys: Keys,
                 storage: Storage, removal: cdk.RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        trail_name = f"{name}-patient-data-access"
        trail_arn = f"arn:{stack.partition}:cloudtrail:{stack.region}:{stack.account}:trail/{trail_name}"
        keys.data.add_to_resource_policy(iam.PolicyStatement(
            sid="CloudTrailEncryptsTheAuditTrail", principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
            actions=["kms:GenerateDataKey*", "kms:DescribeKey"], resources=["*"],  # in a key policy, "*" is this key
            conditions={"StringEquals": {"aws:SourceArn": trail_arn}}))
        self.bucket = s3.Bucket(
            self, "Bucket", encryption=s3.BucketEncryption.KMS, encryption_key=keys.data, bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL, enforce_ssl=True, versioned=True,
            minimum_tls_version=1.2, removal_policy=removal, server_access_logs_bucket=storage.access_logs,
            server_access_logs_prefix="audit/",
            lifecycle_rules=[s3.LifecycleRule(id="audit-retention", expiration=cdk.Duration.days(env.audit_retention_days),
                                              noncurrent_version_expiration=cdk.Duration.days(30))])
        log_group = logs.LogGroup(self, "Log", log_group_name=f"{name}-patient-data-access",
                                  retention=logs.RetentionDays.ONE_YEAR, encryption_key=keys.data, removal_policy=removal)
        self.trail = cloudtrail.Trail(
            self, "Trail", trail_name=trail_name, bucket=self.bucket, encryption_key=keys.data,
            enable_file_validation=True, include_global_service_events=False, is_multi_region_trail=False,
            management_events=cloudtrail.ReadWriteType.NONE, send_to_cloud_watch_logs=True,
            cloud_watch_log_group=log_group)
        self.trail.add_s3_event_selector(
            [cloudtrail.S3EventSelector(bucket=storage.lake), cloudtrail.S3EventSelector(bucket=storage.quarantine),
             cloudtrail.S3EventSelector(bucket=storage.raw)],
            include_management_events=False, read_write_type=cloudtrail.ReadWriteType.ALL)
        self.trail.node.default_child.add_metadata("checkov", {"skip": [{
            "id": "CKV_AWS_67", "comment": "A data-event trail for this stack's buckets, which live in one region; "
                                           "the account's own multi-region trail keeps management events."}]})
