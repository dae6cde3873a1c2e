"""The clinical alert topic, example subscriptions filtered by severity and unit, and the alert ledger.

Pages carry no patient name (alerts/publish.py); the topic and queues are still encrypted with
the alerts key, and only the job's role may publish.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.environments import Environment
from infra.security import Keys


class Alerting(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env: Environment, name: str, keys: Keys,
                 removal: cdk.RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Alerts", topic_name=f"{name}-alerts", display_name="WardWatch",
                               master_key=keys.alerts, enforce_ssl=True)
        self._dlq = sqs.Queue(self, "PagerDeadLetters", queue_name=f"{name}-pager-dlq",
                              encryption_master_key=keys.alerts, enforce_ssl=True,
                              retention_period=cdk.Duration.days(14))
        # Example 1: the rapid-response pager integration reads a queue of critical alerts only.
        self.pager_queue = self._queue("CriticalPager", f"{name}-critical-pager", 4, keys,
                                       severity=env.pager_severities)
        # Example 2: a unit's ward board (a display or integration) reads every alert of its units.
        self.unit_queue = self._queue("UnitBoard", f"{name}-unit-board", 1, keys, unit=env.charge_nurse_units)
        # Example 3: a unit's charge nurse by email, only that unit's urgent and critical alerts.
        if env.alert_email:
            self.topic.add_subscription(subs.EmailSubscription(env.alert_email, filter_policy={
                "unit": sns.SubscriptionFilter.string_filter(allowlist=list(env.charge_nurse_units)),
                "severity": sns.SubscriptionFilter.string_filter(allowlist=["urgent", "critical"]),
            }))
        # Operational alarms go to a separate topic: never mixed with clinical pages.
        self.ops_topic = sns.Topic(self, "Ops", topic_name=f"{name}-ops", display_name="WardWatch operations",
                                   master_key=keys.alerts, enforce_ssl=True)
        if env.ops_email:
            self.ops_topic.add_subscription(subs.EmailSubscription(env.ops_email))
        # One item per alert id: a restarted job never pages the same episode twice (alerts/ledger.py).
        self.ledger = dynamodb.Table(
            self, "AlertLedger", table_name=f"{name}-alert-ledger",
            partition_key=dynamodb.Attribute(name="alert_id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST, time_to_live_attribute="expires_at",
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED, encryption_key=keys.data,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            deletion_protection=removal == cdk.RemovalPolicy.RETAIN, removal_policy=removal)

    def _queue(self, construct_id: str, queue_name: str, retention_days: int, keys: Keys, **allow) -> sqs.Queue:
        """An encrypted SQS queue subscribed to the alert topic, filtered on message attributes."""
        queue = sqs.Queue(self, construct_id, queue_name=queue_name, encryption_master_key=keys.alerts,
                          enforce_ssl=True, retention_period=cdk.Duration.days(retention_days),
                          dead_letter_queue=sqs.DeadLetterQueue(queue=self._dlq, max_receive_count=5))
        self.topic.add_subscription(subs.SqsSubscription(queue, raw_message_delivery=True, filter_policy={
            attribute: sns.SubscriptionFilter.string_filter(allowlist=list(values)) for attribute, values in allow.items()}))
        return queue
