"""Alert delivery under faults, before and after issue 14, side by side on one moto server.

before: the job's old delivery path (commit d7a6265, ``alerts/publish.py`` and ``alerts/ledger.py``
        read from git; the operator's five lines re-stated below): claim -> SNS (5 attempts,
        botocore's own retries and 20 s read timeout) -> mark; any failure dead-letters the alert.
after:  ``alerts/delivery.py`` with its real adapters, called every 0.2 s as the KCL calls the
        record processor (the KCL itself is exercised in tests/test_delivery_service.py).

Each scenario sends the same alerts (4 per second for 60 s) while a fault proxy on 127.0.0.1
(``infra/local/faults.py``) breaks one service from 10 s to 50 s: SNS answering 503, DynamoDB
(the ledger) answering 500, or SNS answering after 22 s. Pages are counted on the SQS pager
queue: delivered (distinct alerts paged), lost (never paged by the end), repeated (extra copies),
the worst delay from the alert to its page, and how long alert handling stalled.

    .venv/bin/python -m bench.delivery_faults     # ~10 min; writes bench/results/delivery_faults.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from alerts.delivery import Delivery
from alerts.ledger import DynamoLedger
from alerts.render import page_id
from alerts.routing import Router
from alerts.sns import SnsPublisher
from core import aws
from core.schema.events import Alert, encode
from infra.local.faults import FaultProxy
from infra.local.stack import MotoServer, create_resources, receive_pages, use_local_credentials

ROOT = Path(__file__).resolve().parent.parent
BEFORE_COMMIT = "d7a6265"
RATE_PER_S, SEND_S, FAULT_FROM_S, FAULT_TO_S, DEADLINE_S = 4, 60, 10, 50, 150
SCENARIOS = {"sns_outage": ("sns", "fail"), "ledger_outage": ("dynamodb", "fail"), "slow_sns": ("sns", "slow")}


def old_modules():
    """The old alerts/publish.py and alerts/ledger.py, from git, importable (their schema import moved to core/)."""
    tmp = Path(tempfile.mkdtemp(prefix="old-alerts-"))
    mods = {}
    for name in ("publish", "ledger"):
        src = subprocess.run(["git", "show", f"{BEFORE_COMMIT}:alerts/{name}.py"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.replace("flink_app.schema.events", "core.schema.events")
        path = tmp / f"old_{name}.py"
        path.write_text(src)
        spec = importlib.util.spec_from_file_location(f"old_{name}", path)
        mods[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mods[name])
    return mods["publish"], mods["ledger"]


def alerts() -> list[tuple[float, Alert]]:
    now = int(time.time() * 1000)
    out = []
    for i in range(RATE_PER_S * SEND_S):
        h = f"H0{1 + i % 3}"
        out.append((i / RATE_PER_S, Alert(
            alert_id=f"bench-{now}-{i}", rule="spo2_low", severity="critical", status="open", patient_id=f"P-{i:06d}",
            encounter_id=f"E-{i}", hospital_id=h, unit="ICU", bed=f"ICU-{i % 9:02d}", ts_ms=now + i,
            episode_start_ms=now, message=f"CRITICAL {h} ICU bed ICU-{i % 9:02d}: SpO2 82% (limit <85) since 11:06Z",
            values={"spo2": 82.0})))
    return out


class Pager(threading.Thread):
    def __init__(self, sqs, url: str, key):
        super().__init__(daemon=True)
        self.sqs, self.url, self.key = sqs, url, key
        self.first: dict[str, float] = {}
        self.copies = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            for page in receive_pages(self.sqs, self.url, wait_s=1):
                self.copies += 1
                self.first.setdefault(self.key(page), time.monotonic())


def run(label: str, scenario: str, moto: str) -> dict:
    service, mode = SCENARIOS[scenario]
    res = create_resources(moto, stream_name=f"b-{label}-{scenario}", topic_name=f"b-{label}-{scenario}",
                           queue_name=f"b-{label}-{scenario}-pager")
    ddb = aws.client("dynamodb", res.region, res.endpoint)
    ddb.create_table(TableName=f"{res.ledger_table}-old", KeySchema=[{"AttributeName": "alert_id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "alert_id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    todo = alerts()
    with FaultProxy(res.endpoint) as proxy:
        sns_at = proxy.endpoint if service == "sns" else res.endpoint
        ddb_at = proxy.endpoint if service == "dynamodb" else res.endpoint
        key = (lambda p: p["alert"]["alert_id"]) if label == "before" else (lambda p: p["attributes"]["page_id"])
        pager = Pager(aws.client("sqs", res.region, res.endpoint), res.queue_url, key)
        pager.start()
        start = time.monotonic()
        sent_at: dict[str, float] = {}
        stalls, lost_now = [], 0

        def fault_clock():
            while time.monotonic() - start < FAULT_TO_S:
                elapsed = time.monotonic() - start
                on = elapsed >= FAULT_FROM_S
                if mode == "fail":
                    (proxy.failing.set if on else proxy.failing.clear)()
                else:
                    proxy.delay_s = 22.0 if on else 0.0
                time.sleep(0.1)
            proxy.failing.clear()
            proxy.delay_s = 0.0

        threading.Thread(target=fault_clock, daemon=True).start()
        if label == "before":
            publish, ledger_mod = old_modules()
            publisher = publish.SnsPublisher(aws.client("sns", res.region, sns_at), res.topic_arn)
            ledger = ledger_mod.AlertLedger(aws.client("dynamodb", res.region, ddb_at), f"{res.ledger_table}-old")
            for due, alert in todo:
                wait = start + due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if time.monotonic() - start > DEADLINE_S:
                    break
                sent_at[alert.alert_id] = start + due
                t0 = time.monotonic()
                try:  # PublishAlerts.process_element at d7a6265
                    ok, message_id = ledger.claim(alert.alert_id)
                    if ok:
                        message_id = publisher.publish(alert)
                        ledger.mark_published(alert.alert_id, message_id)
                except (publish.PublishError, ClientError, BotoCoreError):
                    lost_now += 1  # dead-lettered: nobody is paged
                stalls.append(time.monotonic() - t0)
        else:
            names = {"H01": "Northgate General", "H02": "Riverside", "H03": "Hillcrest"}
            delivery = Delivery(
                ledger=DynamoLedger(aws.client("dynamodb", res.region, ddb_at, attempts=2, timeout_s=5), res.ledger_table),
                publisher=SnsPublisher(None, names, timeout_s=5, client_for=lambda t: aws.client(
                    "sns", res.region, sns_at, attempts=1, timeout_s=t)),
                router=Router(res.topic_arn, []), names=names, clock_ms=lambda: int(time.time() * 1000),
                dead_letter=lambda data, reason: None, retry_max_ms=5000)
            pending = list(todo)
            seq = 0
            while time.monotonic() - start < DEADLINE_S and (pending or delivery.held):
                t0 = time.monotonic()
                while pending and start + pending[0][0] <= time.monotonic():
                    due, alert = pending.pop(0)
                    sent_at[page_id(alert)] = start + due
                    seq += 1
                    delivery.accept((seq, 0), encode(alert))
                delivery.retry_due()
                delivery.checkpoint_position()
                stalls.append(time.monotonic() - t0)
                time.sleep(0.2)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(pager.first) < len(sent_at):
            time.sleep(0.5)
        time.sleep(2)
        pager.stop.set()
        pager.join(5)
    delays = [pager.first[k] - sent_at[k] for k in pager.first if k in sent_at]
    produced = len(todo)
    return {"produced": produced, "delivered": len(pager.first), "lost": produced - len(pager.first),
            "dead_lettered": lost_now, "repeated": pager.copies - len(pager.first),
            "worst_delay_s": round(max(delays, default=0), 1), "longest_stall_s": round(max(stalls, default=0), 1),
            "faulty_requests": proxy.refused + proxy.delayed}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.delivery_faults", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), help="default: all")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "delivery_faults.json")
    args = p.parse_args(argv)
    use_local_credentials()
    results: dict = {"before_commit": BEFORE_COMMIT, "after_commit": subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip(),
        "alerts": f"{RATE_PER_S}/s for {SEND_S} s, fault from {FAULT_FROM_S} s to {FAULT_TO_S} s", "scenarios": {}}
    with tempfile.TemporaryDirectory() as tmp, MotoServer(log_path=Path(tmp) / "moto.log") as moto:
        for scenario in args.scenario or list(SCENARIOS):
            for label in ("before", "after"):
                r = run(label, scenario, moto.endpoint)
                results["scenarios"].setdefault(scenario, {})[label] = r
                print(f"{scenario:14s} {label:6s} produced {r['produced']}, delivered {r['delivered']}, lost "
                      f"{r['lost']}, repeated {r['repeated']}, worst delay {r['worst_delay_s']} s, longest stall "
                      f"{r['longest_stall_s']} s", flush=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
