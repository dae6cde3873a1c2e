"""CloudWatch alarms (to the ops topic, never the clinical one) and a dashboard for the job.

MSF publishes the Flink metrics and the job's own counters (``flink_app/operators.py``:
millisBehindLatest, recordsDeadLettered, alertsWritten, ...); the delivery service's alarms are in
``infra/delivery.py`` in the
``AWS/KinesisAnalytics`` namespace with the ``Application`` dimension.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from constructs import Construct

from infra.alerting import Alerting
from infra.environments import Environment
from infra.security import Keys
from infra.streaming import Streaming

NAMESPACE = "AWS/KinesisAnalytics"


@dataclass(frozen=True)
class AlarmRule:
    id: str
    metric: str
    statistic: str
    threshold: float
    periods: int
    why: str
    missing: cw.TreatMissingData = cw.TreatMissingData.NOT_BREACHING


ALARMS = (
    AlarmRule("SourceLag", "millisBehindLatest", "Maximum", 60_000, 5,
              "Readings wait more than a minute in Kinesis: alerts are late."),
    AlarmRule("CheckpointFailures", "numberOfFailedCheckpoints", "Sum", 0, 1,
              "A checkpoint failed: a restart would replay more, and the lake commit waits."),
    AlarmRule("Downtime", "downtime", "Maximum", 0, 3,
              "The job is not running: no alerts are raised.", cw.TreatMissingData.BREACHING),
    AlarmRule("ReadingNothing", "millisSinceLastRead", "Maximum", 300_000, 2,
              "The job is running but no read of the vitals stream has succeeded for 5 minutes "
              "(permissions, KMS, network): no readings, no alerts."),
    AlarmRule("DeadLetterGrowth", "recordsDeadLettered", "Sum", 100, 1,
              "More than 100 records dead-lettered in 5 minutes: a source is sending bad data."),
)


class Monitoring(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env: Environment, name: str, keys: Keys,
                 streaming: Streaming, alerting: Alerting) -> None:
        super().__init__(scope, construct_id)
        dims = {"Application": streaming.application_name}

        def metric(metric_name: str, statistic: str) -> cw.Metric:
            return cw.Metric(namespace=NAMESPACE, metric_name=metric_name, dimensions_map=dims,
                             statistic=statistic, period=cdk.Duration.minutes(5 if statistic == "Sum" else 1))

        action = cw_actions.SnsAction(alerting.ops_topic)
        self.alarms = {}
        for rule in ALARMS:
            alarm = cw.Alarm(self, rule.id, alarm_name=f"{name}-{rule.id}", alarm_description=rule.why,
                             metric=metric(rule.metric, rule.statistic), threshold=rule.threshold,
                             evaluation_periods=rule.periods,
                             comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                             treat_missing_data=rule.missing)
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
            self.alarms[rule.id] = alarm

        dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=f"{name}-job")
        dashboard.add_widgets(
            cw.GraphWidget(title="Readings in / enriched", left=[metric("recordsReadFromKinesis", "Sum"),
                                                                metric("readingsEnriched", "Sum")]),
            cw.GraphWidget(title="Source lag and time since the last successful read (ms)",
                           left=[metric("millisBehindLatest", "Maximum"), metric("millisSinceLastRead", "Maximum")]),
            cw.GraphWidget(title="Alerts written to the alerts stream", left=[metric("alertsWritten", "Sum")]),
        )
        dashboard.add_widgets(
            cw.GraphWidget(title="Alert latency, Kinesis -> alerts stream (ms)", left=[metric("alertLatencyMs", "Maximum")]),
            cw.GraphWidget(title="Dead-lettered and late", left=[metric("recordsDeadLettered", "Sum"),
                                                                 metric("lateReadings", "Sum")]),
            cw.GraphWidget(title="Checkpoints and uptime", left=[metric("numberOfFailedCheckpoints", "Sum"),
                                                                 metric("lastCheckpointDuration", "Maximum")],
                           right=[metric("downtime", "Maximum"), metric("fullRestarts", "Maximum")]),
            cw.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values())),
        )
