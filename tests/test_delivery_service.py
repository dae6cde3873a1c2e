"""The delivery service as it runs: ``python -m alerts`` (the KCL MultiLangDaemon and its record
processors) against a real moto server, alerts written to the alerts stream, pages read from
the SQS pager queue.

- Killed with SIGKILL mid-stream, twice: every page is delivered; any repeat carries the same
  page id and the pager integration (``PageDeduplicator``) drops it.
- SNS failing (``infra/local/faults.py``, a fault-injecting proxy on 127.0.0.1 in front of moto's SNS) for longer than any
  retry budget: no page is dropped, the held count shows, and when SNS is back every held page
  is delivered, marked held with its original time.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import DeliveryService as Service

from alerts.consumer import read_status
from alerts.render import page_id
from core import aws
from core.schema.events import Alert, encode
from infra.local.faults import FaultProxy
from infra.local.stack import PageDeduplicator, create_resources, receive_pages

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.e2e
T0 = int(time.time() * 1000) - 60_000


def alert(i: int) -> Alert:
    hospital = f"H0{1 + i % 2}"
    return Alert(alert_id=f"a{i}", rule="spo2_low", severity="critical", status="open", patient_id=f"P-{i:06d}",
                 encounter_id=f"E-{i}", hospital_id=hospital, unit="ICU", bed=f"ICU-{i % 7:02d}", ts_ms=T0 + i,
                 episode_start_ms=T0, message=f"CRITICAL {hospital} ICU bed ICU-{i % 7:02d}: SpO2 82% (limit <85) since 11:06Z",
                 values={"spo2": 82.0})


def write_alerts(res, alerts: list[Alert]) -> None:
    kinesis = aws.client("kinesis", res.region, res.endpoint)
    resp = kinesis.put_records(StreamName=res.alerts_stream,
                               Records=[{"Data": encode(a), "PartitionKey": a.patient_id} for a in alerts])
    assert resp["FailedRecordCount"] == 0


def collect(sqs, url: str, want: set[str], dedup: PageDeduplicator, timeout_s: float, service: Service) -> list[dict]:
    pages: list[dict] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not want <= {p["attributes"]["page_id"] for p in pages}:
        assert service.proc.poll() is None, service.log_tail()
        pages += receive_pages(sqs, url, wait_s=1)
    return pages


def test_sigkill_twice_mid_stream_loses_no_page_and_repeats_carry_the_same_id(moto_endpoint, unique, tmp_path):
    res = create_resources(moto_endpoint, stream_name=f"v-{unique}", topic_name=f"k-{unique}", queue_name=f"pk-{unique}",
                           alerts_shards=2)
    sqs = aws.client("sqs", res.region, res.endpoint)
    service = Service(res, tmp_path)
    alerts = [alert(i) for i in range(300)]
    want = {page_id(a) for a in alerts}
    dedup, received = PageDeduplicator(), []
    resumed_after = []
    try:
        service.start()
        write_alerts(res, alerts[:100])
        # Kill as soon as pages flow (mid-stream), write more while it is down, start it again.
        received += collect(sqs, res.queue_url, {page_id(alerts[0])}, dedup, 120, service)
        for batch in (alerts[100:200], alerts[200:]):
            service.kill()
            killed = time.monotonic()
            write_alerts(res, batch)
            service.start()
            # The KCL 3 leader lock of the killed worker lasts 2 minutes: only then are its leases reassigned.
            received += collect(sqs, res.queue_url, {page_id(batch[0])}, dedup, 240, service)
            resumed_after.append(round(time.monotonic() - killed))
            assert page_id(batch[0]) in {p["attributes"]["page_id"] for p in received}, service.log_tail()
        received += collect(sqs, res.queue_url, want, dedup, 120, service)
        time.sleep(5)  # a repeat sent late would show now
        received += receive_pages(sqs, res.queue_url, wait_s=1)
    finally:
        service.stop()
    ids = [p["attributes"]["page_id"] for p in received]
    shown = [p for p in received if dedup.first_time(p)]
    assert {p["attributes"]["page_id"] for p in shown} == want, service.log_tail()  # every page delivered
    assert len(shown) == len(want)  # the pager shows each page once
    repeats = len(ids) - len(set(ids))
    print(f"\nSIGKILL x2: {len(want)} pages produced, {len(set(ids))} delivered, {repeats} repeats "
          f"(same page id, dropped by the pager), {service.starts} starts; paging resumed {resumed_after} s after each kill")
    assert repeats == dedup.repeats


def test_sns_outage_longer_than_any_retry_budget_holds_pages_and_delivers_all_later(moto_endpoint, unique, tmp_path):
    res = create_resources(moto_endpoint, stream_name=f"v-{unique}", topic_name=f"o-{unique}", queue_name=f"po-{unique}")
    proxy = FaultProxy(res.endpoint).__enter__()
    sqs = aws.client("sqs", res.region, res.endpoint)
    service = Service(res, tmp_path, **{"delivery.sns.endpoint.url": proxy.endpoint})
    before = [alert(i) for i in range(20)]
    during = [alert(i) for i in range(20, 80)]
    dedup = PageDeduplicator()
    try:
        service.start()
        write_alerts(res, before)
        received = collect(sqs, res.queue_url, {page_id(a) for a in before}, dedup, 120, service)
        proxy.failing.set()
        outage_start = time.monotonic()
        write_alerts(res, during)
        held = {}
        while time.monotonic() - outage_start < 40:  # 40 s: past the old 5-attempt budget many times over
            held = read_status(str(service.status_file))
            time.sleep(1)
        assert held.get("held") == len(during) and held.get("oldest_held_s", 0) > 30, held
        assert receive_pages(sqs, res.queue_url, wait_s=1) == []
        proxy.failing.clear()
        received += collect(sqs, res.queue_url, {page_id(a) for a in before + during}, dedup, 60, service)
        time.sleep(3)
        received += receive_pages(sqs, res.queue_url, wait_s=1)
        after = read_status(str(service.status_file))
    finally:
        service.stop()
        proxy.__exit__()
    ids = [p["attributes"]["page_id"] for p in received]
    assert sorted(ids) == sorted(page_id(a) for a in before + during)  # every page, none twice
    late = [p for p in received if p["attributes"]["page_id"] in {page_id(a) for a in during}]
    assert all(p["alert"]["held"] and p["alert"]["text"].startswith("HELD, raised ") for p in late)
    assert not any(p["alert"]["held"] for p in received if p not in late)
    assert after["held"] == 0 and after["delivered_late"] == len(during)
    print(f"\nSNS outage 40 s: {len(before) + len(during)} pages produced, {len(set(ids))} delivered, "
          f"{held.get('held')} held at the peak (oldest {held.get('oldest_held_s')} s), "
          f"{len(ids) - len(set(ids))} duplicated, {proxy.refused} publishes refused")
