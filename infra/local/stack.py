"""The local AWS: a moto server on 127.0.0.1 and the resources the pipeline needs on it.

Used by ``make run`` and by the end-to-end tests, so both exercise the same set-up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from alerts.routing import filter_policy
from core import aws
from core.canary import CANARY_HOSPITAL, CANARY_UNIT
from flink_app.local_cluster import free_port

ROOT = Path(__file__).resolve().parents[2]

# moto accepts any credentials; set dummies so boto3 never looks for real ones.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


def use_local_credentials() -> None:
    for key, value in LOCAL_CREDENTIALS.items():
        os.environ.setdefault(key, value)


class MotoServer:
    """A moto server process on 127.0.0.1 (HTTP/1.1 and h2c, ``infra/local/moto_server.py``);
    stopped (by its own PID) on exit or ``stop()``."""

    def __init__(self, port: int = 0, log_path: Path | None = None):
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 30) -> MotoServer:
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115 (the child keeps it)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "infra.local.moto_server", "-p", str(self.port)], cwd=ROOT,
            stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the runner, which stops moto last, after the drain
        )
        if self.log_path:
            out.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto server exited with code {self.proc.returncode} (port {self.port} in use?)")
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1)
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto server did not answer on {self.endpoint} within {timeout_s:.0f}s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class LocalResources:
    endpoint: str
    region: str
    stream_name: str
    topic_arn: str
    queue_url: str
    ledger_table: str
    alerts_stream: str
    dead_letter_url: str
    canary_queue_url: str


def subscribe_queue(endpoint: str, region: str, topic_arn: str, queue_name: str,
                    filter_policy: dict | None = None) -> str:
    """An SQS queue subscribed to the topic (optionally filtered on message attributes); its URL."""
    sqs = aws.client("sqs", region, endpoint)
    queue_url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
                       "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}],
    })})
    attributes = {"FilterPolicy": json.dumps(filter_policy)} if filter_policy else {}
    aws.client("sns", region, endpoint).subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn,
                                                  Attributes=attributes)
    return queue_url


def create_resources(endpoint: str, region: str = "us-east-1", stream_name: str = "wardwatch-vitals",
                     shards: int = 2, topic_name: str = "wardwatch-alerts",
                     queue_name: str = "wardwatch-pager", ledger_table: str | None = None,
                     alerts_shards: int = 1) -> LocalResources:
    """The readings stream, the alerts stream, the alert topic with an SQS 'pager' queue and the
    canary's queue on it, the page ledger (DynamoDB) and the delivery's dead-letter queue."""
    kinesis = aws.client("kinesis", region, endpoint)
    alerts_stream = f"{topic_name}-stream"
    for name, count in ((stream_name, shards), (alerts_stream, alerts_shards)):
        kinesis.create_stream(StreamName=name, ShardCount=count)
    for name in (stream_name, alerts_stream):
        kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    topic_arn = aws.client("sns", region, endpoint).create_topic(Name=topic_name)["TopicArn"]
    # The local "pager" shows every hospital's pages but the canary's, which go to their own queue
    # (as on AWS, infra/canary.py), so a canary page never reaches a clinician.
    queue_url = subscribe_queue(endpoint, region, topic_arn, queue_name,
                                {"hospital": [{"anything-but": [CANARY_HOSPITAL]}]})
    canary_url = subscribe_queue(endpoint, region, topic_arn, f"{queue_name}-canary",
                                 filter_policy(CANARY_HOSPITAL, [CANARY_UNIT]))
    dead_letter_url = aws.client("sqs", region, endpoint).create_queue(QueueName=f"{topic_name}-undeliverable")["QueueUrl"]
    ledger_table = ledger_table or f"{topic_name}-ledger"
    aws.client("dynamodb", region, endpoint).create_table(
        TableName=ledger_table, KeySchema=[{"AttributeName": "page_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "page_id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    return LocalResources(endpoint, region, stream_name, topic_arn, queue_url, ledger_table, alerts_stream,
                          dead_letter_url, canary_url)


def delivery_settings(res: LocalResources, **extra: str) -> dict[str, str]:
    """The settings that point the job's alerts out and the delivery service at these resources."""
    return {"aws.region": res.region, "aws.endpoint.url": res.endpoint, "alerts.stream.name": res.alerts_stream,
            "delivery.topic.arn": res.topic_arn, "delivery.ledger.table": res.ledger_table,
            "delivery.deadletter.queue.url": res.dead_letter_url, **extra}


def receive_pages(sqs, queue_url: str, wait_s: int = 1) -> list[dict]:
    """Pages waiting on a pager queue, unwrapped from the SNS envelope, then deleted."""
    resp = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s,
                               MessageAttributeNames=["All"])
    pages = []
    for msg in resp.get("Messages", []):
        envelope = json.loads(msg["Body"])
        attributes = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
        pages.append({"alert": json.loads(envelope["Message"]), "attributes": attributes,
                      "subject": envelope.get("Subject")})
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=msg["ReceiptHandle"])
    return pages


class PageDeduplicator:
    """What a pager integration does with ``page_id``: show a page once, however often it arrives.

    The delivery service may, after a crash between SNS's answer and its ledger write, send a
    page again; the repeat carries the same id (``alerts/render.py``).
    """

    def __init__(self, capacity: int = 100_000):
        self.capacity = capacity
        self._seen: dict[str, None] = {}
        self.repeats = 0

    def first_time(self, page: dict) -> bool:
        pid = page["alert"].get("page_id") or page["attributes"].get("page_id")
        if pid in self._seen:
            self.repeats += 1
            return False
        self._seen[pid] = None
        if len(self._seen) > self.capacity:
            self._seen.pop(next(iter(self._seen)))
        return True
