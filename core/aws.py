"""One way to build boto3 clients, so the job, the producer and the tools share retries and endpoints."""

from __future__ import annotations

import boto3
import botocore.session
from botocore.config import Config as BotoConfig

# Standard retry mode: exponential backoff with jitter on throttling and 5xx.
_BOTO = BotoConfig(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=20)


def client(service: str, region: str, endpoint_url: str = "", raw_timestamps: bool = False,
           attempts: int | None = None, timeout_s: float | None = None):
    """A boto3 client; ``endpoint_url`` points it at the local moto server (empty on AWS).

    ``raw_timestamps`` leaves timestamps as the service sent them (epoch seconds for Kinesis'
    JSON protocol): botocore's conversion to a tz-aware datetime was ~40% of the reader's CPU
    per record, on the job's one Python thread (bench/job_throughput profile). ``attempts`` and
    ``timeout_s`` override the retries and timeouts for a caller that retries on its own.
    """
    config = _BOTO
    if attempts is not None or timeout_s is not None:
        config = _BOTO.merge(BotoConfig(
            # total_max_attempts counts the first try; botocore's max_attempts counts retries only, so
            # attempts=1 had still sent a slow publish twice.
            retries={"total_max_attempts": attempts or 5, "mode": "standard"},
            connect_timeout=timeout_s or 5, read_timeout=timeout_s or 20))
    core = botocore.session.get_session()
    if raw_timestamps:
        core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=lambda v: v)
    return boto3.session.Session(botocore_session=core).client(
        service, region_name=region, endpoint_url=endpoint_url or None, config=config)
