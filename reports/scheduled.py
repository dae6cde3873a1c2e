"""The daily report job on AWS: a Lambda (EventBridge, once a day) runs every report through Athena.

Each report's SQL (the same files as the local engine) runs for yesterday (UTC) in the
WardWatch workgroup; the CSV Athena writes is copied to ``s3://<results>/reports/<day>/<name>.csv``.
Failures are collected and raised at the end, so one bad report neither hides the others nor
goes unnoticed (the Lambda's error metric and its dead-letter queue see it).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import boto3

from reports.catalog import check_day, load

POLL_S = 1.0


def run_report(athena, s3, sql: str, *, database: str, workgroup: str, bucket: str, key: str,
               timeout_s: float = 240) -> str:
    qid = athena.start_query_execution(QueryString=sql, QueryExecutionContext={"Database": database},
                                       WorkGroup=workgroup)["QueryExecutionId"]
    deadline = time.monotonic() + timeout_s
    while True:
        status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        state = status["Status"]["State"]
        if state == "SUCCEEDED":
            break
        if state in ("FAILED", "CANCELLED") or time.monotonic() > deadline:
            raise RuntimeError(f"{key}: {state} {status['Status'].get('StateChangeReason', '')}")
        time.sleep(POLL_S)
    source = urlparse(status["ResultConfiguration"]["OutputLocation"])
    s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": source.netloc, "Key": source.path.lstrip("/")},
                   ServerSideEncryption="aws:kms", SSEKMSKeyId=os.environ["RESULTS_KEY_ARN"])
    return qid


def handler(event, context=None, *, athena=None, s3=None) -> dict:
    day = check_day(event.get("day") or (datetime.now(UTC).date() - timedelta(days=1)).isoformat())
    athena = athena or boto3.client("athena")
    s3 = s3 or boto3.client("s3")
    bucket = os.environ["RESULTS_BUCKET"]
    done, failed = {}, {}
    for report in load():
        key = f"reports/{day}/{report.name}.csv"
        try:
            done[report.name] = run_report(athena, s3, report.for_day(day), database=os.environ["DATABASE"],
                                           workgroup=os.environ["WORKGROUP"], bucket=bucket, key=key)
        except Exception as exc:  # collected, raised below
            failed[report.name] = str(exc)[:500]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(done) + len(failed)} reports failed for {day}: {failed}")
    return {"day": day, "reports": len(done), "prefix": f"s3://{bucket}/reports/{day}/"}
