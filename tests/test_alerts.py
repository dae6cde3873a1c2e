"""The delivery service's AWS adapters against a real moto server: the DynamoDB page ledger, SNS
publishing and subscription filter policies (SNS -> SQS)."""

from __future__ import annotations

import json

import pytest

from alerts.delivery import LedgerUnavailable, PublishFailed
from alerts.ledger import DynamoLedger
from alerts.render import render
from alerts.routing import filter_policy
from alerts.sns import SnsPublisher
from core import aws
from core.schema.events import Alert
from infra.local.stack import create_resources, receive_pages, subscribe_queue

NAMES = {"H01": "Northgate General", "H02": "Riverside"}


def alert(hospital: str = "H01", unit: str = "ICU", bed: str = "ICU-02", i: int = 0) -> Alert:
    return Alert(alert_id=f"a{hospital}{i}", rule="spo2_low", severity="critical", status="open",
                 patient_id=f"P-{hospital}-{i}", encounter_id="E-9", hospital_id=hospital, unit=unit, bed=bed,
                 ts_ms=1_795_000_000_000 + i, episode_start_ms=1_795_000_000_000,
                 message=f"CRITICAL {hospital} {unit} bed {bed}: SpO2 82% (limit <85) since 11:06Z",
                 values={"spo2": 82.0})


@pytest.fixture
def res(moto_endpoint, unique):
    return create_resources(moto_endpoint, stream_name=f"s-{unique}", topic_name=f"t-{unique}",
                            queue_name=f"q-{unique}", shards=1)


def test_ledger_claims_each_page_once_and_remembers_delivery(res):
    ledger = DynamoLedger(aws.client("dynamodb", res.region, res.endpoint), res.ledger_table)
    assert ledger.claim("p1") == "new"
    assert ledger.claim("p1") == "claimed"  # claimed by an attempt that may have died: send again
    ledger.mark_delivered("p1", "m-1")
    assert ledger.claim("p1") == "delivered"


def test_ledger_that_cannot_be_reached_is_unavailable_not_a_failed_page():
    from flink_app.local_cluster import free_port

    ledger = DynamoLedger(aws.client("dynamodb", "us-east-1", f"http://127.0.0.1:{free_port()}", attempts=1,
                                     timeout_s=1), "nowhere")
    with pytest.raises(LedgerUnavailable):
        ledger.claim("p1")
    with pytest.raises(LedgerUnavailable):
        ledger.mark_delivered("p1", "m")


def test_publish_reaches_the_pager_with_hospital_unit_and_bed(res):
    pub = SnsPublisher(aws.client("sns", res.region, res.endpoint), NAMES)
    page = render(alert(), NAMES)
    assert pub.publish(page, res.topic_arn)
    [got] = receive_pages(aws.client("sqs", res.region, res.endpoint), res.queue_url)
    assert got["alert"]["text"] == "CRITICAL Northgate General (H01), ICU, bed ICU-02: SpO2 82% (limit <85) since 11:06Z"
    assert got["attributes"]["hospital"] == "H01" and got["attributes"]["page_id"] == page.page_id
    assert "patient_id" not in got["alert"] and "P-H01-0" not in json.dumps(got)


def test_a_removed_topic_is_a_permanent_failure_said_as_such(res):
    sns = aws.client("sns", res.region, res.endpoint)
    topic = sns.create_topic(Name="short-lived")["TopicArn"]
    sns.delete_topic(TopicArn=topic)
    with pytest.raises(PublishFailed, match="NotFound") as err:
        SnsPublisher(sns, NAMES).publish(render(alert(), NAMES), topic)
    assert err.value.permanent


def test_two_hospitals_with_the_same_unit_and_bed_each_get_only_their_own_pages(res, unique):
    """Beds ICU-02 existed in two hospitals of one make run: subscriptions filter on hospital and unit."""
    queues = {h: subscribe_queue(res.endpoint, res.region, res.topic_arn, f"board-{h}-{unique}",
                                 filter_policy(h, ["ICU"])) for h in ("H01", "H02")}
    charge_h02 = subscribe_queue(res.endpoint, res.region, res.topic_arn, f"charge-{unique}",
                                 filter_policy("H02", ["ICU"], severity=["urgent", "critical"]))
    pub = SnsPublisher(aws.client("sns", res.region, res.endpoint), NAMES)
    for i, h in enumerate(["H01", "H02", "H01", "H02", "H02"]):
        pub.publish(render(alert(h, i=i), NAMES), res.topic_arn)
    pub.publish(render(alert("H02", unit="Ward-A", bed="ICU-02", i=9), NAMES), res.topic_arn)  # same bed label
    sqs = aws.client("sqs", res.region, res.endpoint)

    def drain(url):
        out, batch = [], receive_pages(sqs, url)
        while batch:
            out += batch
            batch = receive_pages(sqs, url)
        return out

    got = {h: drain(url) for h, url in queues.items()}
    assert sorted(p["attributes"]["hospital"] for p in got["H01"]) == ["H01", "H01"]
    assert sorted(p["attributes"]["hospital"] for p in got["H02"]) == ["H02", "H02", "H02"]
    assert all(p["alert"]["text"].startswith("CRITICAL Riverside (H02), ICU, bed ICU-02") for p in got["H02"])
    assert len(drain(charge_h02)) == 3
    assert len(drain(res.queue_url)) == 6  # the unfiltered pager sees everything


def test_a_filter_policy_never_filters_on_unit_alone():
    with pytest.raises(ValueError):
        filter_policy("", ["ICU"])
    assert filter_policy("H01", ["Ward-A", "ICU"], severity=["critical"]) == {
        "hospital": ["H01"], "unit": ["ICU", "Ward-A"], "severity": ["critical"]}


def test_the_pager_integration_shows_a_repeated_page_id_once():
    from infra.local.stack import PageDeduplicator

    dedup = PageDeduplicator(capacity=2)
    page = {"alert": {"page_id": "p1"}, "attributes": {"page_id": "p1"}}
    assert dedup.first_time(page) and not dedup.first_time(page) and dedup.repeats == 1
    for pid in ("p2", "p3"):
        assert dedup.first_time({"alert": {"page_id": pid}, "attributes": {}})
    assert dedup.first_time(page)  # forgotten past its capacity (the ledger covers older repeats)


def test_an_unrenderable_record_reaches_the_undeliverable_queue_with_its_reason(res):
    import base64

    from alerts.consumer import DeadLetterQueue

    sqs = aws.client("sqs", res.region, res.endpoint)
    DeadLetterQueue(sqs, res.dead_letter_url)(b"\xff not an alert", "not JSON: invalid")
    [msg] = sqs.receive_message(QueueUrl=res.dead_letter_url, MessageAttributeNames=["All"])["Messages"]
    body = json.loads(msg["Body"])
    assert body["reason"] == "not JSON: invalid" and base64.b64decode(body["record_base64"]) == b"\xff not an alert"
    assert msg["MessageAttributes"]["reason"]["StringValue"] == "not JSON: invalid"


def test_a_slow_sns_gets_a_longer_timeout_instead_of_a_repeat_per_attempt(res):
    """SNS answering in 3 s against a 1-s timeout: before, every attempt timed out and was
    delivered anyway (a repeat per attempt, the page never marked sent). Now the timeout doubles
    after each read timeout until SNS answers, then follows SNS's pace: the next page goes once."""
    import time

    from infra.local.faults import FaultProxy

    sqs = aws.client("sqs", res.region, res.endpoint)
    with FaultProxy(res.endpoint) as proxy:
        proxy.delay_s = 3.0
        pub = SnsPublisher(None, NAMES, timeout_s=1, max_timeout_s=30, client_for=lambda t: aws.client(
            "sns", res.region, proxy.endpoint, attempts=1, timeout_s=t))
        first, second = render(alert(), NAMES), render(alert(bed="ICU-05", i=2), NAMES)
        failures = 0
        while True:
            try:
                pub.publish(first, res.topic_arn)
                break
            except PublishFailed:
                failures += 1
                assert failures < 5, "the timeout never grew past SNS's answer time"
        assert failures == 2 and pub.timeout_s >= 6  # 1 s, 2 s timed out; 4 s got the answer
        pub.publish(second, res.topic_arn)  # at SNS's pace: no timeout, no repeat
        time.sleep(3.5)  # the timed-out requests still reach SNS, late
    pages = []
    for _ in range(5):
        pages += receive_pages(sqs, res.queue_url)
    ids = [p["attributes"]["page_id"] for p in pages]
    assert ids.count(first.page_id) == 3 and ids.count(second.page_id) == 1  # the repeats carry one id
