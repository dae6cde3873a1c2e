"""The alert delivery service on AWS: ``python -m alerts`` (KCL MultiLangDaemon) as an ECS Fargate service.

Its own least-privilege task role: read the alerts stream, its KCL lease tables, the page
ledger, publish to the clinical topics and the undeliverable queue; nothing else (no
cloudwatch:PutMetricData, which only takes Resource "*": the KCL's metrics are off and the
service's own figures are JSON status lines that log metric filters turn into metrics). Logs are
encrypted with the data key. Alarms: pages held, undeliverable records, alerts-stream iterator age.
"""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from core.config import Config
from infra.alerting import Alerting
from infra.environments import Environment
from infra.security import Keys

ROOT = Path(__file__).resolve().parent.parent
METRICS_NAMESPACE = "WardWatch/Delivery"
# Only what the image needs goes into the build context (and the asset hash).
IMAGE_EXCLUDE = [".git", ".venv*", "data", "cdk.out", "dist", "connectors/target", "tests", "bench", "reports",
                 "producer", "flink_app", "infra", "docs", "scripts", "connectors", "**/__pycache__", "*.md"]


def delivery_settings(env: Environment, alerting: Alerting, region: str) -> dict[str, str]:
    """The delivery service's settings on AWS, checked against the one configuration model."""
    routes = [{"tier": tier, "topic": topic.topic_arn} for tier, topic in alerting.tier_topics.items()]
    settings = {
        "aws.region": region,
        "alerts.stream.name": alerting.stream.stream_name,
        "delivery.application.name": f"{alerting.stream.stream_name}-delivery",
        "delivery.topic.arn": alerting.topic.topic_arn,
        "delivery.routes": json.dumps(routes),
        "delivery.hospital.names": json.dumps(dict(env.hospital_names)),
        "delivery.ledger.table": alerting.ledger.table_name,
        "delivery.deadletter.queue.url": alerting.undeliverable.queue_url,
    }
    Config({k: ("[]" if k == "delivery.routes" else v) if "${Token[" in v else v for k, v in settings.items()})
    return settings


class Delivery(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env: Environment, name: str, keys: Keys,
                 alerting: Alerting, removal: cdk.RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        vpc = ec2.Vpc(self, "Vpc", max_azs=2, nat_gateways=1, restrict_default_security_group=False,
                      subnet_configuration=[
                          ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC,
                                                  map_public_ip_on_launch=False),
                          ec2.SubnetConfiguration(name="service", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)])
        vpc.node.default_child.add_metadata("checkov", {"skip": [{
            "id": "CKV2_AWS_12",
            "comment": "Nothing uses the default security group: the one task has its own, egress-only group.",
        }]})
        flow_logs = logs.LogGroup(self, "FlowLogs", log_group_name=f"{name}-delivery-vpc-flows",
                                  retention=logs.RetentionDays.THREE_MONTHS, encryption_key=keys.data,
                                  removal_policy=removal)
        vpc.add_flow_log("Flows", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))
        cluster = ecs.Cluster(self, "Cluster", cluster_name=f"{name}-delivery", vpc=vpc,
                              container_insights_v2=ecs.ContainerInsights.ENABLED)
        self.log_group = logs.LogGroup(self, "Log", log_group_name=f"{name}-delivery",
                                       retention=logs.RetentionDays.THREE_MONTHS, encryption_key=keys.data,
                                       removal_policy=removal)

        self.role = iam.Role(self, "TaskRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
                             description="WardWatch alert delivery: read the alerts stream, page through SNS")
        alerting.stream.grant_read(self.role)  # GetRecords, GetShardIterator, DescribeStream*, ListShards + key
        app = f"{alerting.stream.stream_name}-delivery"
        tables = [f"arn:{stack.partition}:dynamodb:{stack.region}:{stack.account}:table/{t}"
                  for t in (app, f"{app}-CoordinatorState", f"{app}-WorkerMetricStats")]
        self.role.add_to_policy(iam.PolicyStatement(  # the KCL's lease, coordinator and worker-metrics tables
            actions=["dynamodb:CreateTable", "dynamodb:DescribeTable", "dynamodb:UpdateTable", "dynamodb:Scan",
                     "dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                     "dynamodb:DeleteItem"],
            resources=tables + [f"{t}/index/*" for t in tables]))
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            resources=[alerting.ledger.table_arn]))
        keys.data.grant_encrypt_decrypt(self.role)  # the ledger table's key
        for topic in alerting.topics:
            topic.grant_publish(self.role)  # + alerts key
        alerting.undeliverable.grant_send_messages(self.role)

        task = ecs.FargateTaskDefinition(self, "Task", cpu=512, memory_limit_mib=1024, task_role=self.role,
                                         ephemeral_storage_gib=21)
        task.add_volume(name="scratch")
        settings = delivery_settings(env, alerting, stack.region)
        container = task.add_container(
            "delivery", container_name="delivery",
            image=ecs.ContainerImage.from_asset(str(ROOT), file="alerts/Dockerfile", exclude=IMAGE_EXCLUDE),
            command=[arg for k, v in settings.items() for arg in ("--set", f"{k}={v}")],
            logging=ecs.LogDrivers.aws_logs(stream_prefix="delivery", log_group=self.log_group),
            readonly_root_filesystem=True, environment={"JAVA_TOOL_OPTIONS": "-Xmx512m"},
            stop_timeout=cdk.Duration.seconds(60))  # the KCL asks each processor to finish its shard
        container.add_mount_points(ecs.MountPoint(container_path="/tmp", source_volume="scratch", read_only=False))
        group = ec2.SecurityGroup(self, "ServiceGroup", vpc=vpc, allow_all_outbound=False,
                                  description="WardWatch delivery: HTTPS to AWS APIs only, nothing inbound")
        group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "AWS APIs (Kinesis, DynamoDB, SNS, SQS)")
        self.service = ecs.FargateService(self, "Service", service_name=f"{name}-delivery", cluster=cluster,
                                          task_definition=task, desired_count=env.delivery_workers,
                                          min_healthy_percent=100, max_healthy_percent=200,
                                          security_groups=[group], assign_public_ip=False,
                                          circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True))

        action = cw_actions.SnsAction(alerting.ops_topic)
        self.alarms = {}

        def alarm(alarm_id: str, metric: cw.IMetric, threshold: float, periods: int, why: str) -> None:
            a = cw.Alarm(self, alarm_id, alarm_name=f"{name}-{alarm_id}", alarm_description=why, metric=metric,
                         threshold=threshold, evaluation_periods=periods,
                         comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                         treat_missing_data=cw.TreatMissingData.NOT_BREACHING)
            a.add_alarm_action(action)
            a.add_ok_action(action)
            self.alarms[alarm_id] = a

        held = logs.MetricFilter(self, "HeldPagesFilter", log_group=self.log_group, metric_namespace=METRICS_NAMESPACE,
                                 metric_name="HeldPages", metric_value="$.held_pages",
                                 filter_pattern=logs.FilterPattern.exists("$.held_pages"))
        alarm("PagesHeld", held.metric(statistic="Maximum", period=cdk.Duration.minutes(1)), 0, 2,
              "Pages are held: SNS does not take them (outage, removed topic, permissions). They are delivered "
              "when it does; clinicians are not being paged now.")
        bad = logs.MetricFilter(self, "UndeliverableFilter", log_group=self.log_group,
                                metric_namespace=METRICS_NAMESPACE, metric_name="UndeliverableAlerts",
                                metric_value="1", filter_pattern=logs.FilterPattern.literal("\"cannot be rendered\""))
        alarm("UndeliverableAlerts", bad.metric(statistic="Sum", period=cdk.Duration.minutes(5)), 0, 1,
              "An alert record could not be rendered as a page: it is on the undeliverable queue with the reason.")
        alarm("AlertStreamIteratorAge", alerting.stream.metric_get_records_iterator_age_milliseconds(
            statistic="Maximum", period=cdk.Duration.minutes(1)), 60_000, 3,
              "The delivery service is more than a minute behind the alerts stream (or not running): pages are late.")
