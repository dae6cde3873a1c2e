"""The Firehose transform Lambda of the raw zone: each stream record to one raw-zone line.

Firehose reads the readings stream (de-aggregating KPL records first, as it does for a Kinesis
source), calls this with a batch and writes what it returns, gzip, under
``raw/dt=!{partitionKeyFromLambda:dt}/hour=!{partitionKeyFromLambda:hour}/``. Nothing is
dropped or failed here: a record the job would refuse is exactly what the raw zone is for.
No PHI is logged: only counts.
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime

from archive.raw_format import RawRecord, partition_values, to_line

log = logging.getLogger()
log.setLevel(logging.INFO)


def _arrival_ms(record: dict) -> int:
    """The Kinesis arrival time: the metadata's (epoch ms or ISO-8601, both seen), else Firehose's."""
    value = (record.get("kinesisRecordMetadata") or {}).get("approximateArrivalTimestamp")
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value:
        if value.isdigit():
            return int(value)
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    return int(record["approximateArrivalTimestamp"])


def raw_record(record: dict) -> RawRecord:
    meta = record.get("kinesisRecordMetadata") or {}
    sub = str(meta.get("subsequenceNumber", "") or "")
    return RawRecord(_arrival_ms(record), str(meta.get("shardId", "")), str(meta.get("sequenceNumber", "")),
                     int(sub) if sub.isdigit() else None, str(meta.get("partitionKey", "")),
                     base64.b64decode(record["data"]))


def handler(event: dict, context=None) -> dict:
    out = []
    for record in event["records"]:
        raw = raw_record(record)
        out.append({"recordId": record["recordId"], "result": "Ok",
                    "data": base64.b64encode(to_line(raw)).decode("ascii"),
                    "metadata": {"partitionKeys": partition_values(raw.arrival_ms)}})
    log.info("raw zone: %d records transformed", len(out))
    return {"records": out}
