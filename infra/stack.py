"""The WardWatch stack: everything one environment needs, encrypted and least-privilege.

    KMS keys (data, alerts, quarantine, raw, pseudonym, reports; rotation on) -> Kinesis stream -> Firehose raw zone
    (every record unchanged) and MSF application (FLINK-2_2, the
    zip from `make bundle`) -> curated-lake bucket (Glue tables with partition projection,
    Athena workgroup, QuickSight data source, data sets and dashboards) and alerts stream -> delivery service (ECS Fargate, KCL) -> SNS alert
    topics by tier (example subscriptions filtered on hospital and unit) + DynamoDB page
    ledger; CloudWatch alarms and a dashboard on an ops topic.

The pieces live in small modules (``infra/security.py``, ``storage.py``, ``streaming.py``,
``alerting.py``, ``raw_zone.py``, ``analytics.py``, ``quicksight.py``, ``analyst.py``, ``monitoring.py``); this file wires them together.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from infra.alerting import Alerting
from infra.analyst import AnalystAccess
from infra.analytics import Analytics
from infra.audit import Audit
from infra.canary import Canary
from infra.delivery import Delivery
from infra.environments import Environment, prefix, tags
from infra.monitoring import Monitoring
from infra.quicksight import Dashboards
from infra.raw_zone import RawZone
from infra.security import Keys
from infra.storage import Storage
from infra.streaming import Streaming


class WardWatchStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, env_settings: Environment, bundle_path: str,
                 **kwargs) -> None:
        super().__init__(scope, construct_id, description=f"WardWatch patient-deterioration pipeline ({env_settings.name})",
                         **kwargs)
        name = prefix(env_settings)
        removal = cdk.RemovalPolicy.RETAIN if env_settings.retain_data else cdk.RemovalPolicy.DESTROY
        keys = Keys(self, "Keys", name=name, removal=removal)
        storage = Storage(self, "Storage", env=env_settings, name=name, keys=keys, removal=removal)
        alerting = Alerting(self, "Alerting", env=env_settings, name=name, keys=keys, removal=removal)
        streaming = Streaming(self, "Streaming", env=env_settings, name=name, keys=keys, storage=storage,
                              alerting=alerting, bundle_path=bundle_path, removal=removal)
        self.raw_zone = RawZone(self, "RawZone", env=env_settings, name=name, keys=keys, storage=storage,
                                streaming=streaming, alerting=alerting, removal=removal)
        self.delivery = Delivery(self, "Delivery", env=env_settings, name=name, keys=keys, alerting=alerting,
                                 removal=removal)
        self.canary = Canary(self, "Canary", env=env_settings, name=name, keys=keys, streaming=streaming,
                             alerting=alerting, removal=removal)
        self.analytics = Analytics(self, "Analytics", env=env_settings, name=name, keys=keys, storage=storage,
                                   removal=removal)
        self.audit = Audit(self, "Audit", env=env_settings, name=name, keys=keys, storage=storage, removal=removal)
        self.dashboards = Dashboards(self, "Dashboards", env=env_settings, name=name, keys=keys, storage=storage,
                                     analytics=self.analytics)
        self.analyst = AnalystAccess(self, "Analyst", env=env_settings, name=name, keys=keys, storage=storage,
                                     analytics=self.analytics, quicksight_role=self.dashboards.role,
                                     quicksight_tables=self.dashboards.tables, removal=removal)
        Monitoring(self, "Monitoring", env=env_settings, name=name, keys=keys, streaming=streaming,
                   alerting=alerting)
        for key, value in tags(env_settings).items():
            cdk.Tags.of(self).add(key, value)
        cdk.CfnOutput(self, "StreamName", value=streaming.stream.stream_name)
        cdk.CfnOutput(self, "ApplicationName", value=streaming.application_name)
        cdk.CfnOutput(self, "LakeBucket", value=storage.lake.bucket_name)
        cdk.CfnOutput(self, "AlertTopicArn", value=alerting.topic.topic_arn)
        cdk.CfnOutput(self, "AlertStreamName", value=alerting.stream.stream_name)
        cdk.CfnOutput(self, "RawBucket", value=storage.raw.bucket_name)
        cdk.CfnOutput(self, "AthenaWorkGroup", value=self.analytics.workgroup_name)
        cdk.CfnOutput(self, "AnalystWorkGroup", value=self.analyst.workgroup_name)
        cdk.CfnOutput(self, "AnalystRoleArn", value=self.analyst.role.role_arn)
        cdk.CfnOutput(self, "AnalystDatabase", value=self.analyst.database_name)
