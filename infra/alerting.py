"""Where alerts go after the job: the alerts stream, the clinical topics, example subscriptions
(always filtered on hospital and unit together), the page ledger and the undeliverable queue.

Pages carry no patient name or id (alerts/render.py); the stream, topics and queues are still
encrypted, and only the delivery service may publish.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from alerts.routing import filter_policy
from infra.environments import Environment
from infra.security import Keys


def _filters(policy: dict[str, list[str]]) -> dict[str, sns.SubscriptionFilter]:
    return {attribute: sns.SubscriptionFilter.string_filter(allowlist=values) for attribute, values in policy.items()}


class Alerting(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env: Environment, name: str, keys: Keys,
                 removal: cdk.RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        # The job writes every alert here (partition key: patient); the delivery service reads it.
        self.stream = kinesis.Stream(self, "AlertStream", stream_name=f"{name}-alerts",
                                     stream_mode=kinesis.StreamMode.ON_DEMAND,
                                     encryption=kinesis.StreamEncryption.KMS, encryption_key=keys.data,
                                     retention_period=cdk.Duration.hours(max(24, env.stream_retention_hours)),
                                     removal_policy=removal)
        self.topic = sns.Topic(self, "Alerts", topic_name=f"{name}-alerts", display_name="WardWatch",
                               master_key=keys.alerts, enforce_ssl=True)
        # An escalation tier's pages go to a topic of its own (delivery.routes), e.g. the rapid-response team.
        self.tier_topics = {tier: sns.Topic(self, f"Tier{tier.title().replace('_', '')}",
                                            topic_name=f"{name}-alerts-{tier.replace('_', '-')}",
                                            display_name=f"WardWatch {tier.replace('_', ' ')}",
                                            master_key=keys.alerts, enforce_ssl=True)
                            for tier in env.escalation_tiers}
        self._dlq = sqs.Queue(self, "PagerDeadLetters", queue_name=f"{name}-pager-dlq",
                              encryption_master_key=keys.alerts, enforce_ssl=True,
                              retention_period=cdk.Duration.days(14))
        # Alert records the delivery service can never render, with the reason (it alarms on them).
        self.undeliverable = sqs.Queue(self, "Undeliverable", queue_name=f"{name}-alerts-undeliverable",
                                       encryption_master_key=keys.alerts, enforce_ssl=True,
                                       retention_period=cdk.Duration.days(14))
        # Example 1: each hospital's rapid-response pager integration reads its critical pages.
        self.pager_queues = [self.subscribed_queue(f"CriticalPager{h}", f"{name}-critical-pager-{h.lower()}", 4, keys,
                                         filter_policy(h, units, severity=list(env.pager_severities)))
                             for h, units in env.pager_wards]
        # Example 2: a unit's ward board (a display or integration) reads every page of its unit.
        self.board_queues = [self.subscribed_queue(f"WardBoard{h}{u.replace('-', '')}", f"{name}-board-{h}-{u}".lower(), 1, keys,
                                         filter_policy(h, [u])) for h, u in env.ward_boards]
        # Example 3: a unit's charge nurse by e-mail (a text body, alerts/render.py), urgent and critical only.
        if env.alert_email:
            hospital, unit = env.charge_nurse
            self.topic.add_subscription(subs.EmailSubscription(env.alert_email, filter_policy=_filters(
                filter_policy(hospital, [unit], severity=["urgent", "critical"]))))
        # Operational alarms go to a separate topic: never mixed with clinical pages.
        self.ops_topic = sns.Topic(self, "Ops", topic_name=f"{name}-ops", display_name="WardWatch operations",
                                   master_key=keys.alerts, enforce_ssl=True)
        if env.ops_email:
            self.ops_topic.add_subscription(subs.EmailSubscription(env.ops_email))
        # One item per page id: a restart or a repeated record never pages twice (alerts/ledger.py).
        self.ledger = dynamodb.Table(
            self, "PageLedger", table_name=f"{name}-page-ledger",
            partition_key=dynamodb.Attribute(name="page_id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST, time_to_live_attribute="expires_at",
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED, encryption_key=keys.data,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            deletion_protection=removal == cdk.RemovalPolicy.RETAIN, removal_policy=removal)

    @property
    def topics(self) -> list[sns.Topic]:
        return [self.topic, *self.tier_topics.values()]

    def subscribed_queue(self, construct_id: str, queue_name: str, retention_days: int, keys: Keys,
               policy: dict[str, list[str]]) -> sqs.Queue:
        """An encrypted SQS queue subscribed to every clinical topic, filtered on hospital and unit."""
        queue = sqs.Queue(self, construct_id, queue_name=queue_name, encryption_master_key=keys.alerts,
                          enforce_ssl=True, retention_period=cdk.Duration.days(retention_days),
                          dead_letter_queue=sqs.DeadLetterQueue(queue=self._dlq, max_receive_count=5))
        for topic in self.topics:
            topic.add_subscription(subs.SqsSubscription(queue, raw_message_delivery=True,
                                                        filter_policy=_filters(policy)))
        return queue
