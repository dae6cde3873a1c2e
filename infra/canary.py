"""The end-to-end canary on AWS: every ``canary_minutes`` a synthetic patient must page the canary queue.

EventBridge -> the canary Lambda (``producer/canary.py``) puts an admission, three critical readings
and a discharge on the vitals stream -> the job pages -> the delivery service publishes -> SNS
delivers to the canary queue only (filtered on the canary hospital and unit, like every
subscription; no clinical subscription names that hospital) -> an alarm fires on the ops topic
when the queue has received nothing for two canary periods: pages are not getting through,
whatever the job's own metrics say.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from alerts.routing import filter_policy
from core.canary import CANARY_HOSPITAL, CANARY_UNIT
from infra.alerting import Alerting
from infra.environments import Environment
from infra.lambda_source import staged
from infra.security import Keys
from infra.streaming import Streaming

LAMBDA_FILES = ["producer/__init__.py", "producer/canary.py", "core/__init__.py", "core/canary.py"]


class Canary(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env: Environment, name: str, keys: Keys,
                 streaming: Streaming, alerting: Alerting, removal: cdk.RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        # Kept a day: nobody reads it; the alarm counts what arrives.
        self.queue = alerting.subscribed_queue("CanaryPages", f"{name}-canary-pages", 1, keys,
                                               filter_policy(CANARY_HOSPITAL, [CANARY_UNIT]))
        log_group = logs.LogGroup(self, "Log", log_group_name=f"{name}-canary", retention=logs.RetentionDays.ONE_MONTH,
                                  encryption_key=keys.data, removal_policy=removal)
        dlq = sqs.Queue(self, "DeadLetters", queue_name=f"{name}-canary-dlq", encryption_master_key=keys.alerts,
                        enforce_ssl=True, retention_period=cdk.Duration.days(4))
        with staged(LAMBDA_FILES) as source:
            self.function = lambda_.Function(
                self, "Function", function_name=f"{name}-canary", runtime=lambda_.Runtime.PYTHON_3_12,
                handler="producer.canary.handler", code=lambda_.Code.from_asset(source),
                timeout=cdk.Duration.seconds(30), memory_size=128, reserved_concurrent_executions=1,
                environment={"STREAM_NAME": streaming.stream.stream_name}, environment_encryption=keys.data,
                dead_letter_queue=dlq, log_group=log_group, tracing=lambda_.Tracing.ACTIVE,
                description="WardWatch end-to-end canary: a synthetic patient who must page the canary queue")
        self.function.node.default_child.add_metadata("checkov", {"skip": [{
            "id": "CKV_AWS_117", "comment": "Calls only Kinesis (PutRecord); a VPC would add NAT cost without "
                                            "reducing exposure."}]})
        streaming.stream.grant_write(self.function)  # PutRecord(s) on the vitals stream + the data key's encrypt
        events.Rule(self, "Schedule", rule_name=f"{name}-canary",
                    schedule=events.Schedule.rate(cdk.Duration.minutes(env.canary_minutes)),
                    targets=[targets.LambdaFunction(self.function, retry_attempts=2, dead_letter_queue=dlq)])
        self.alarm = cw.Alarm(
            self, "NoCanaryPage", alarm_name=f"{name}-NoCanaryPage",
            alarm_description=f"No canary page for {2 * env.canary_minutes} minutes: pages are not getting from the "
                              "stream to SNS subscribers (job, alerts stream, delivery service, topics or their "
                              "policies). Clinical pages are likely not arriving either: act now.",
            metric=self.queue.metric_number_of_messages_sent(statistic="Sum",
                                                             period=cdk.Duration.minutes(env.canary_minutes)),
            threshold=1, evaluation_periods=2, datapoints_to_alarm=2,
            comparison_operator=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.BREACHING)
        action = cw_actions.SnsAction(alerting.ops_topic)
        self.alarm.add_alarm_action(action)
        self.alarm.add_ok_action(action)
