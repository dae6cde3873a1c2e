"""The raw zone on AWS: a Firehose delivery stream copies every record of the vitals stream, unchanged.

Kinesis stream -> Firehose (de-aggregates KPL records) -> transform Lambda (``archive/firehose.py``:
one lossless JSON line per record, partition keys from the arrival time) -> the raw bucket,
``raw/dt=YYYY-MM-DD/hour=HH/``, gzip, SSE-KMS with the raw key. The managed way: no code of ours
polls, buffers, retries or writes; Firehose does, and ``python -m archive.reprocess`` reads the
result. Firehose is a second polling consumer of the stream beside the job (5 GetRecords/s per
shard are shared; issue 13 moves the job to enhanced fan-out).

Least privilege: Firehose's role reads the stream and writes (never deletes) under ``raw/`` and
``raw-errors/``; the Lambda's role only logs; nobody else holds the raw key (template tests).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.alerting import Alerting
from infra.environments import Environment
from infra.lambda_source import staged
from infra.security import Keys
from infra.storage import Storage
from infra.streaming import Streaming

RAW_PREFIX = "raw"
ERROR_PREFIX = "raw-errors"
LAMBDA_FILES = ["archive/__init__.py", "archive/raw_format.py", "archive/firehose.py"]
# Firehose's buffer before a file is written: dynamic partitioning needs at least 64 MB; the
# interval bounds how stale the raw zone is (it is for rebuilding days, not for reading live).
BUFFER_MB, BUFFER_S = 128, 300


class RawZone(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env: Environment, name: str, keys: Keys,
                 storage: Storage, streaming: Streaming, alerting: Alerting, removal: cdk.RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.delivery_stream_name = f"{name}-raw"
        fn_log = logs.LogGroup(self, "TransformLog", log_group_name=f"{name}-raw-transform",
                               retention=logs.RetentionDays.THREE_MONTHS, encryption_key=keys.data,
                               removal_policy=removal)
        with staged(LAMBDA_FILES) as source:
            self.transform = lambda_.Function(
                self, "Transform", function_name=f"{name}-raw-transform", runtime=lambda_.Runtime.PYTHON_3_12,
                handler="archive.firehose.handler", code=lambda_.Code.from_asset(source),
                timeout=cdk.Duration.minutes(1), memory_size=256, reserved_concurrent_executions=20, log_group=fn_log,
                tracing=lambda_.Tracing.ACTIVE, description="WardWatch raw zone: each stream record to a lossless JSON line")
        self.transform.node.default_child.add_metadata("checkov", {"skip": [
            {"id": "CKV_AWS_117", "comment": "Transforms what Firehose hands it; calls no AWS API, so a VPC would add "
                                             "cost without reducing exposure."},
            {"id": "CKV_AWS_116", "comment": "Invoked synchronously by Firehose, which retries and then writes the "
                                             "unchanged record under raw-errors/: nothing is lost, a DLQ never fills."},
            {"id": "CKV_AWS_173", "comment": "No environment variables."}]})

        log_group = logs.LogGroup(self, "DeliveryLog", log_group_name=f"{name}-raw-delivery",
                                  retention=logs.RetentionDays.THREE_MONTHS, encryption_key=keys.data,
                                  removal_policy=removal)
        log_stream = logs.LogStream(self, "DeliveryLogStream", log_group=log_group, log_stream_name="S3Delivery",
                                    removal_policy=removal)
        self.role = iam.Role(self, "FirehoseRole", assumed_by=iam.ServicePrincipal(
            "firehose.amazonaws.com", conditions={"StringEquals": {"sts:ExternalId": stack.account}}),
            description="WardWatch raw zone: read the vitals stream, write the raw bucket")
        streaming.stream.grant_read(self.role)  # GetRecords, GetShardIterator, DescribeStream*, ListShards + kms:Decrypt
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["s3:PutObject", "s3:AbortMultipartUpload"],
            resources=[storage.raw.arn_for_objects(f"{RAW_PREFIX}/*"), storage.raw.arn_for_objects(f"{ERROR_PREFIX}/*")]))
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
            resources=[storage.raw.bucket_arn]))
        self.role.add_to_policy(iam.PolicyStatement(  # the raw key, only through S3
            actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[keys.raw.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}}))
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
            resources=[self.transform.function_arn, f"{self.transform.function_arn}:*"]))
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["logs:PutLogEvents"], resources=[f"{log_group.log_group_arn}:log-stream:*"]))

        p = firehose.CfnDeliveryStream
        self.delivery_stream = p(
            self, "DeliveryStream", delivery_stream_name=self.delivery_stream_name,
            delivery_stream_type="KinesisStreamAsSource",
            kinesis_stream_source_configuration=p.KinesisStreamSourceConfigurationProperty(
                kinesis_stream_arn=streaming.stream.stream_arn, role_arn=self.role.role_arn),
            extended_s3_destination_configuration=p.ExtendedS3DestinationConfigurationProperty(
                bucket_arn=storage.raw.bucket_arn, role_arn=self.role.role_arn,
                prefix=f"{RAW_PREFIX}/dt=!{{partitionKeyFromLambda:dt}}/hour=!{{partitionKeyFromLambda:hour}}/",
                error_output_prefix=f"{ERROR_PREFIX}/!{{firehose:error-output-type}}/dt=!{{timestamp:yyyy-MM-dd}}/"
                                    "hour=!{timestamp:HH}/",
                buffering_hints=p.BufferingHintsProperty(interval_in_seconds=BUFFER_S, size_in_m_bs=BUFFER_MB),
                compression_format="GZIP", file_extension=".jsonl.gz",
                encryption_configuration=p.EncryptionConfigurationProperty(
                    kms_encryption_config=p.KMSEncryptionConfigProperty(awskms_key_arn=keys.raw.key_arn)),
                cloud_watch_logging_options=p.CloudWatchLoggingOptionsProperty(
                    enabled=True, log_group_name=log_group.log_group_name, log_stream_name=log_stream.log_stream_name),
                dynamic_partitioning_configuration=p.DynamicPartitioningConfigurationProperty(
                    enabled=True, retry_options=p.RetryOptionsProperty(duration_in_seconds=900)),
                processing_configuration=p.ProcessingConfigurationProperty(enabled=True, processors=[p.ProcessorProperty(
                    type="Lambda", parameters=[
                        p.ProcessorParameterProperty(parameter_name="LambdaArn", parameter_value=self.transform.function_arn),
                        p.ProcessorParameterProperty(parameter_name="BufferSizeInMBs", parameter_value="1"),
                        p.ProcessorParameterProperty(parameter_name="BufferIntervalInSeconds", parameter_value="60"),
                        p.ProcessorParameterProperty(parameter_name="NumberOfRetries", parameter_value="3")])]),
                s3_backup_mode="Disabled"))
        self.delivery_stream.node.add_dependency(self.role.node.find_child("DefaultPolicy"))

        action = cw_actions.SnsAction(alerting.ops_topic)
        dims = {"DeliveryStreamName": self.delivery_stream_name}
        self.alarms = {}
        for alarm_id, metric_name, statistic, threshold, op, why in (
                ("RawZoneStale", "DeliveryToS3.DataFreshness", "Maximum", 3 * BUFFER_S,
                 cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                 "The oldest record not yet in the raw zone is over 15 minutes old: Firehose cannot write the raw "
                 "bucket (permissions, KMS) and the stream's retention is running down."),
                ("RawZoneTransformFailing", "ExecuteProcessing.Success", "Minimum", 1,
                 cw.ComparisonOperator.LESS_THAN_THRESHOLD,
                 "The raw-zone transform Lambda is failing: records go to raw-errors/ (kept, but not where "
                 "reprocessing looks).")):
            alarm = cw.Alarm(self, alarm_id, alarm_name=f"{name}-{alarm_id}", alarm_description=why,
                             metric=cw.Metric(namespace="AWS/Firehose", metric_name=metric_name, dimensions_map=dims,
                                              statistic=statistic, period=cdk.Duration.minutes(5)),
                             threshold=threshold, evaluation_periods=2, comparison_operator=op,
                             treat_missing_data=cw.TreatMissingData.NOT_BREACHING)
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
            self.alarms[alarm_id] = alarm
