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

from core import aws
from flink_app.local_cluster import free_port

# moto accepts any credentials; set dummies so boto3 never looks for real ones.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


def use_local_credentials() -> None:
    for key, value in LOCAL_CREDENTIALS.items():
        os.environ.setdefault(key, value)


class MotoServer:
    """A moto server process on 127.0.0.1; stopped (by its own PID) on exit or ``stop()``."""

    def __init__(self, port: int = 0, log_path: Path | None = None):
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 30) -> MotoServer:
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115 (the child keeps it)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
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


def create_resources(endpoint: str, region: str = "us-east-1", stream_name: str = "wardwatch-vitals",
                     shards: int = 2, topic_name: str = "wardwatch-alerts",
                     queue_name: str = "wardwatch-pager", ledger_table: str | None = None) -> LocalResources:
    """Kinesis stream, SNS topic, an SQS 'pager' queue subscribed to it, and the alert ledger (DynamoDB)."""
    kinesis = aws.client("kinesis", region, endpoint)
    kinesis.create_stream(StreamName=stream_name, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream_name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    sns = aws.client("sns", region, endpoint)
    topic_arn = sns.create_topic(Name=topic_name)["TopicArn"]
    sqs = aws.client("sqs", region, endpoint)
    queue_url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
                       "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}],
    })})
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    ledger_table = ledger_table or f"{topic_name}-ledger"
    aws.client("dynamodb", region, endpoint).create_table(
        TableName=ledger_table, KeySchema=[{"AttributeName": "alert_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "alert_id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    return LocalResources(endpoint, region, stream_name, topic_arn, queue_url, ledger_table)


def receive_pages(sqs, queue_url: str, wait_s: int = 1) -> list[dict]:
    """Alerts waiting on the pager queue, unwrapped from the SNS envelope, then deleted."""
    resp = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s)
    pages = []
    for msg in resp.get("Messages", []):
        envelope = json.loads(msg["Body"])
        attributes = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
        pages.append({"alert": json.loads(envelope["Message"]), "attributes": attributes,
                      "subject": envelope.get("Subject")})
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=msg["ReceiptHandle"])
    return pages
