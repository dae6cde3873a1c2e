"""The KCL record processor: one process per alerts-stream shard, started by the MultiLangDaemon.

``python -m alerts.consumer --config FILE`` speaks the KCL multi-language protocol on stdin and
stdout (so nothing else may ever print to stdout); logs and the status lines go to stderr, which
the daemon passes through. The work is ``alerts/delivery.py``; this adapter feeds it records,
calls it again on every (possibly empty) batch so held pages are retried, and checkpoints only up
to the last record whose page is done.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import time
from pathlib import Path

from amazon_kclpy import kcl
from amazon_kclpy.v3 import processor
from botocore.exceptions import BotoCoreError, ClientError

from alerts.delivery import Delivery
from alerts.ledger import DynamoLedger
from alerts.routing import Router, hospital_names
from alerts.sns import SnsPublisher
from core import aws
from core.config import Config, load

log = logging.getLogger("wardwatch.delivery")
STATUS_EVERY_S = 10.0


def now_ms() -> int:
    return int(time.time() * 1000)


def status_path(base: str, shard_id: str) -> Path | None:
    """Each shard's process writes its own counts next to ``delivery.status.file``."""
    if not base:
        return None
    p = Path(base)
    return p.with_name(f"{p.stem}.{shard_id}{p.suffix or '.json'}")


def read_status(base: str) -> dict:
    """The counts of every shard's process, summed (``make run`` and the tests read this)."""
    p = Path(base)
    total: dict = {}
    for f in sorted(p.parent.glob(f"{p.stem}.*{p.suffix or '.json'}")):
        try:
            counts = json.loads(f.read_text())
        except (OSError, ValueError):
            continue  # being rewritten
        for k, v in counts.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                total[k] = max(total.get(k, 0), v) if k == "oldest_held_s" else total.get(k, 0) + v
    return total


class DeadLetterQueue:
    """Alert records that can never be rendered, with the reason, on an SQS queue."""

    def __init__(self, client, queue_url: str):
        self.client, self.queue_url = client, queue_url

    def __call__(self, data: bytes, reason: str) -> None:
        if not self.queue_url:
            return
        body = json.dumps({"reason": reason, "record_base64": base64.b64encode(data).decode()})
        for attempt in range(10):
            try:
                self.client.send_message(QueueUrl=self.queue_url, MessageBody=body,
                                         MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:250] or "?"}})
                return
            except (ClientError, BotoCoreError) as exc:
                log.warning("dead-letter queue: %s (attempt %d)", exc, attempt + 1)
                time.sleep(min(5.0, 0.2 * 2 ** attempt))
        raise RuntimeError("the dead-letter queue does not take records; not checkpointing past this one")


def build_delivery(cfg: Config) -> Delivery:
    region, endpoint = cfg["aws.region"], cfg["aws.endpoint.url"]
    timeout = cfg["delivery.publish.timeout.ms"] / 1000
    names = hospital_names(cfg)
    ledger = None
    if cfg["delivery.ledger.table"]:
        ledger = DynamoLedger(aws.client("dynamodb", region, endpoint, attempts=2, timeout_s=timeout),
                              cfg["delivery.ledger.table"])
    return Delivery(
        ledger=ledger, publisher=SnsPublisher(None, names, client_for=lambda t: aws.client(
            "sns", region, cfg["delivery.sns.endpoint.url"] or endpoint, attempts=1, timeout_s=t), timeout_s=timeout),
        router=Router.from_config(cfg), names=names, clock_ms=now_ms,
        dead_letter=DeadLetterQueue(aws.client("sqs", region, endpoint), cfg["delivery.deadletter.queue.url"]),
        retry_max_ms=cfg["delivery.retry.max.ms"])


class RecordProcessor(processor.RecordProcessorBase):
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.delivery = build_delivery(cfg)
        self.shard_id = "?"
        self.last_status = 0.0
        self.last_written: dict = {}

    def initialize(self, initialize_input) -> None:
        self.shard_id = initialize_input.shard_id
        log.info("delivering pages from %s", self.shard_id)

    def process_records(self, process_records_input) -> None:
        for record in process_records_input.records:
            position = (int(record.sequence_number), int(record.sub_sequence_number or 0))
            self.delivery.accept(position, record.binary_data)
        self.delivery.retry_due()
        self._checkpoint(process_records_input.checkpointer)
        self._status()

    def _checkpoint(self, checkpointer) -> None:
        position = self.delivery.checkpoint_position()
        if position is None:
            return
        try:
            checkpointer.checkpoint(str(position[0]), position[1])
        except kcl.CheckpointError as exc:
            # Throttled or shutting down: the next batch checkpoints further; a lost lease means
            # another worker re-reads these records and the ledger drops what was delivered.
            log.warning("checkpoint at %s not taken: %s", position[0], exc)

    def _status(self, force: bool = False) -> None:
        counts = self.delivery.counts
        counts.held = self.delivery.held
        now = time.monotonic()
        snapshot = counts.as_dict()
        if not force and snapshot == self.last_written and now - self.last_status < STATUS_EVERY_S:
            return
        self.last_status, self.last_written = now, snapshot
        # One JSON line per status: CloudWatch metric filters turn held_pages into the alarm's metric.
        print(json.dumps({"wardwatch_delivery": "status", "shard": self.shard_id, "held_pages": counts.held,
                          "oldest_held_s": counts.oldest_held_s, "delivered": counts.delivered,
                          "delivered_late": counts.delivered_late, "duplicates_dropped": counts.duplicates_dropped,
                          "dead_lettered": counts.dead_lettered, "ledger_errors": counts.ledger_errors,
                          "publish_failures": counts.publish_failures}), file=sys.stderr, flush=True)
        path = status_path(self.cfg["delivery.status.file"], self.shard_id)
        if path is not None:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(snapshot))
            tmp.replace(path)

    def _drain(self, checkpointer, must_finish: bool) -> None:
        """Deliver what is held before giving the shard up; a shard that ended must be finished."""
        deadline = time.monotonic() + 20
        while self.delivery.held and (must_finish or time.monotonic() < deadline):
            time.sleep(0.5)
            self.delivery.retry_due()
            self._status()
        self._checkpoint(checkpointer)
        self._status(force=True)

    def lease_lost(self, lease_lost_input) -> None:
        log.warning("lease of %s lost: another worker delivers what is left", self.shard_id)

    def shard_ended(self, shard_ended_input) -> None:
        self._drain(shard_ended_input.checkpointer, must_finish=True)
        shard_ended_input.checkpointer.checkpoint()

    def shutdown_requested(self, shutdown_requested_input) -> None:
        self._drain(shutdown_requested_input.checkpointer, must_finish=False)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    kcl.KCLProcess(RecordProcessor(load(argv))).run()


if __name__ == "__main__":
    main()
