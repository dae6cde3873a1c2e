"""The Kinesis stream and the Managed Service for Apache Flink application that reads it.

L1 ``CfnApplication`` (runtime FLINK-2_2): the alpha L2 construct wraps a deprecated one
(DESIGN.md). The application's property groups are the job's own configuration model
(``core/config.py``), validated here at synth time, so a typo fails `cdk synth`, not
the running job.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisanalyticsv2 as msf
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as assets
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from core.config import MSF_RUN_OPTIONS_GROUP, Config
from infra.alerting import Alerting
from infra.environments import Environment
from infra.security import Keys
from infra.storage import CANARY_PREFIX, LAKE_PREFIX, Storage

RUNTIME = "FLINK-2_2"
DEPENDENCY_DIR = "dep/"  # inside the zip; infra/bundle.py puts the Python dependencies there


QUARANTINE_PREFIX = "raw"  # its own prefix in the quarantine bucket


def job_settings(env: Environment, *, region: str, stream: str, alerts_stream: str, lake_uri: str,
                 quarantine_uri: str, canary_uri: str, pseudonym_secret: str) -> dict:
    """The job settings this deployment sets (everything else keeps the job's default)."""
    return {
        "aws.region": region,
        "source.stream.name": stream,
        "source.initial.position": "TRIM_HORIZON",  # a new application reads what is retained: nothing lost
        "alerts.stream.name": alerts_stream,
        "lake.path": lake_uri,
        "lake.quarantine.path": quarantine_uri,
        "lake.canary.path": canary_uri,
        "lake.pseudonym.secret": pseudonym_secret,
        "job.parallelism": env.parallelism,
        "job.lineage": f"{env.name}-{env.job_lineage}",
    }


def property_groups(settings: dict) -> list[dict]:
    """``{"group.key": value}`` as MSF property groups, checked against the job's configuration model."""
    tokens = {k: v for k, v in settings.items() if isinstance(v, str) and "${Token[" in v}
    Config({k: ("placeholder" if k in tokens else v) for k, v in settings.items()})  # raises on a bad key/value
    groups: dict[str, dict[str, str]] = {}
    for name, value in settings.items():
        group, _, key = name.partition(".")
        groups.setdefault(group, {})[key] = str(value) if not isinstance(value, str) else value
    groups[MSF_RUN_OPTIONS_GROUP] = {"python": "main.py", "pyFiles": DEPENDENCY_DIR}
    return [{"group": g, "map": m} for g, m in groups.items()]


class Streaming(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env: Environment, name: str, keys: Keys,
                 storage: Storage, alerting: Alerting, bundle_path: str, removal: cdk.RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        on_demand = env.stream_mode == "ON_DEMAND"
        self.stream = kinesis.Stream(
            self, "Vitals", stream_name=f"{name}-vitals",
            stream_mode=kinesis.StreamMode.ON_DEMAND if on_demand else kinesis.StreamMode.PROVISIONED,
            shard_count=None if on_demand else env.shard_count,
            encryption=kinesis.StreamEncryption.KMS, encryption_key=keys.data,
            retention_period=cdk.Duration.hours(env.stream_retention_hours), removal_policy=removal)

        if not Path(bundle_path).is_file():
            raise FileNotFoundError(f"MSF bundle {bundle_path} not found: run `make bundle` first "
                                    "(or pass -c bundle=PATH)")
        self.bundle = assets.Asset(self, "JobBundle", path=bundle_path)

        self.log_group = logs.LogGroup(self, "JobLog", log_group_name=f"{name}-job",
                                       retention=logs.RetentionDays.THREE_MONTHS, encryption_key=keys.data,
                                       removal_policy=removal)
        log_stream = logs.LogStream(self, "JobLogStream", log_group=self.log_group, log_stream_name="application",
                                    removal_policy=removal)

        self.role = iam.Role(self, "JobRole", assumed_by=iam.ServicePrincipal(
            "kinesisanalytics.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}),
            description="WardWatch MSF job: read the stream, write the lake and the alerts stream")
        self.stream.grant_read(self.role)  # GetRecords, GetShardIterator, DescribeStream*, ListShards + kms:Decrypt
        self.role.add_to_policy(iam.PolicyStatement(actions=["kinesis:ListShards", "kinesis:DescribeStreamSummary"],
                                                    resources=[self.stream.stream_arn]))
        self.bundle.grant_read(self.role)
        # Only under its own prefixes: Parquet files and the commit journal (+ the bucket's key);
        # delete because recover() removes files of flushes a restore replays.
        for bucket, prefix_ in ((storage.lake, LAKE_PREFIX), (storage.lake, CANARY_PREFIX),
                                (storage.quarantine, QUARANTINE_PREFIX)):
            bucket.grant_read_write(self.role, f"{prefix_}/*")
            bucket.grant_delete(self.role, f"{prefix_}/*")
        # The key of the analysts' pseudonymous patient keys: only the job reads it. Not rotated: a new
        # key gives every patient a new key, and old and new rows would no longer join (core/pseudonym.py).
        self.pseudonym_secret = secretsmanager.Secret(
            self, "PseudonymKey", secret_name=f"{name}-pseudonym-key", encryption_key=keys.pseudonym,
            description="WardWatch: HMAC key of patient_key and encounter_key (read only by the job)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True, include_space=False),
            removal_policy=removal)
        self.pseudonym_secret.node.default_child.add_metadata("checkov", {"skip": [{
            "id": "CKV2_AWS_57", "comment": "Rotating the pseudonym key would give every patient a new key: "
                                            "analysts' joins across the change would break."}]})
        self.pseudonym_secret.grant_read(self.role)  # GetSecretValue + kms:Decrypt via Secrets Manager
        alerting.stream.grant_write(self.role)  # PutRecords to the alerts stream (+ data key); no SNS, no ledger
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["logs:PutLogEvents", "logs:DescribeLogStreams"],
            resources=[self.log_group.log_group_arn, f"{self.log_group.log_group_arn}:log-stream:*"]))
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["logs:DescribeLogGroups"],
            resources=[f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"]))

        settings = job_settings(env, region=stack.region, stream=self.stream.stream_name,
                                alerts_stream=alerting.stream.stream_name,
                                lake_uri=f"s3://{storage.lake.bucket_name}/{LAKE_PREFIX}",
                                quarantine_uri=f"s3://{storage.quarantine.bucket_name}/{QUARANTINE_PREFIX}",
                                canary_uri=f"s3://{storage.lake.bucket_name}/{CANARY_PREFIX}",
                                pseudonym_secret=self.pseudonym_secret.secret_arn)
        self.application_name = f"{name}-job"
        self.application = msf.CfnApplication(
            self, "Application", application_name=self.application_name, runtime_environment=RUNTIME,
            service_execution_role=self.role.role_arn,
            application_description="WardWatch: vitals enrichment, early-warning scores, alerts, curated lake",
            application_configuration=msf.CfnApplication.ApplicationConfigurationProperty(
                application_code_configuration=msf.CfnApplication.ApplicationCodeConfigurationProperty(
                    code_content_type="ZIPFILE",
                    code_content=msf.CfnApplication.CodeContentProperty(
                        s3_content_location=msf.CfnApplication.S3ContentLocationProperty(
                            bucket_arn=self.bundle.bucket.bucket_arn, file_key=self.bundle.s3_object_key))),
                environment_properties=msf.CfnApplication.EnvironmentPropertiesProperty(property_groups=[
                    msf.CfnApplication.PropertyGroupProperty(property_group_id=g["group"], property_map=g["map"])
                    for g in property_groups(settings)]),
                flink_application_configuration=msf.CfnApplication.FlinkApplicationConfigurationProperty(
                    checkpoint_configuration=msf.CfnApplication.CheckpointConfigurationProperty(
                        configuration_type="CUSTOM", checkpointing_enabled=True,
                        checkpoint_interval=env.checkpoint_interval_ms, min_pause_between_checkpoints=5000),
                    monitoring_configuration=msf.CfnApplication.MonitoringConfigurationProperty(
                        configuration_type="CUSTOM", log_level=env.log_level, metrics_level="APPLICATION"),
                    parallelism_configuration=msf.CfnApplication.ParallelismConfigurationProperty(
                        configuration_type="CUSTOM", parallelism=env.parallelism,
                        parallelism_per_kpu=env.parallelism_per_kpu, auto_scaling_enabled=env.autoscaling)),
                application_snapshot_configuration=msf.CfnApplication.ApplicationSnapshotConfigurationProperty(
                    snapshots_enabled=True)))
        self.application.node.add_dependency(self.role.node.find_child("DefaultPolicy"))  # grants before start
        msf.CfnApplicationCloudWatchLoggingOption(
            self, "ApplicationLogging", application_name=self.application.ref,
            cloud_watch_logging_option=msf.CfnApplicationCloudWatchLoggingOption.CloudWatchLoggingOptionProperty(
                log_stream_arn=f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:"
                               f"{self.log_group.log_group_name}:log-stream:{log_stream.log_stream_name}"))
