"""One way to build boto3 clients, so the job, the producer and the tools share retries and endpoints."""

from __future__ import annotations

import boto3
from botocore.config import Config as BotoConfig

# Standard retry mode: exponential backoff with jitter on throttling and 5xx.
_BOTO = BotoConfig(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=20)


def client(service: str, region: str, endpoint_url: str = ""):
    """A boto3 client; ``endpoint_url`` points it at the local moto server (empty on AWS)."""
    return boto3.client(service, region_name=region, endpoint_url=endpoint_url or None, config=_BOTO)
