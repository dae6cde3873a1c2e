"""One way to build boto3 clients, so the job, the producer and the tools share retries and endpoints,
and one table of the AWS errors that do not heal by retrying."""

from __future__ import annotations

import boto3
import botocore.session
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError, PartialCredentialsError

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


# Errors that do not heal by waiting: someone must fix a permission, a key, a stream name or the
# credentials. Each maps to what to check.
_PERMANENT = {
    "AccessDeniedException": "access denied: the job's role lacks a Kinesis permission on the stream",
    "AccessDenied": "access denied: the job's role lacks a permission",
    "UnrecognizedClientException": "the credentials are not valid for this account or region",
    "InvalidSignatureException": "the request signature is refused: check the credentials and the clock",
    "ExpiredTokenException": "the session credentials have expired",
    "ResourceNotFoundException": "the stream does not exist (source.stream.name, aws.region)",
    "KMSAccessDeniedException": "KMS denied the decrypt: the job's role lacks kms:Decrypt on the stream's key",
    "KMSDisabledException": "the stream's KMS key is disabled",
    "KMSNotFoundException": "the stream's KMS key does not exist",
    "KMSInvalidStateException": "the stream's KMS key is pending deletion or unusable",
    "KMSOptInRequired": "KMS is not enabled for this account",
    # S3 (the lake, the quarantine)
    "NoSuchBucket": "the bucket does not exist (lake.path, lake.quarantine.path, aws.region)",
    "InvalidAccessKeyId": "the credentials are not valid for this account",
    "SignatureDoesNotMatch": "the request signature is refused: check the credentials and the clock",
    "KMS.DisabledException": "the bucket's KMS key is disabled",
    "KMS.NotFoundException": "the bucket's KMS key does not exist",
    "KMS.KMSInvalidStateException": "the bucket's KMS key is pending deletion or unusable",
}


def permanent_cause(exc: BaseException) -> str | None:
    """What to fix when ``exc`` will not heal by retrying; None for faults worth retrying."""
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return "no AWS credentials: the job cannot sign requests"
    if isinstance(exc, NoRegionError):
        return "no AWS region configured (aws.region)"
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _PERMANENT:
            return f"{_PERMANENT[code]} ({code})"
    return None
