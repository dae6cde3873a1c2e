"""The SNS alert contract and publisher, against SNS -> SQS on a real moto server."""

import json

import pytest

from alerts.publish import PublishError, SnsPublisher, sns_message
from core import aws
from core.schema.events import Alert
from infra.local.stack import create_resources, receive_pages


def alert() -> Alert:
    return Alert(alert_id="a1", rule="spo2_low", severity="critical", status="open", patient_id="P-000042",
                 encounter_id="E-9", hospital_id="H01", unit="ICU", bed="ICU-04", ts_ms=1_795_000_000_000,
                 episode_start_ms=1_795_000_000_000, message="CRITICAL ICU bed ICU-04: SpO2 82% (limit <85) since 11:06Z",
                 values={"spo2": 82.0, "limit": 85}, news2_total=None)


def test_message_carries_what_a_nurse_needs_and_no_identifiers():
    msg = sns_message(alert())
    body = json.loads(msg["Message"])
    assert "patient_id" not in body and "encounter_id" not in body
    assert body["bed"] == "ICU-04" and body["episode_start"] == "2026-11-18T11:06:40.000Z"
    assert {k: v["StringValue"] for k, v in msg["MessageAttributes"].items()} == {
        "severity": "critical", "rule": "spo2_low", "status": "open", "hospital": "H01", "unit": "ICU", "tier": "primary"}


def test_publish_reaches_the_pager(moto_endpoint, unique):
    res = create_resources(moto_endpoint, stream_name=f"s-{unique}", topic_name=f"t-{unique}",
                           queue_name=f"q-{unique}", shards=1)
    pub = SnsPublisher(aws.client("sns", res.region, res.endpoint), res.topic_arn)
    assert pub.publish(alert())
    [page] = receive_pages(aws.client("sqs", res.region, res.endpoint), res.queue_url)
    assert page["alert"]["alert_id"] == "a1" and page["attributes"]["severity"] == "critical"


def test_publish_to_missing_topic_fails_with_the_cause(moto_endpoint):
    pub = SnsPublisher(aws.client("sns", "us-east-1", moto_endpoint),
                       "arn:aws:sns:us-east-1:123456789012:no-such-topic", attempts=3, base_delay_s=0.001)
    with pytest.raises(PublishError, match="NotFound"):
        pub.publish(alert())
