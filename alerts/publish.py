"""Publishing alerts to SNS with the attributes subscription filter policies match on.

The message body is the JSON alert minus the patient id (a pager needs unit, bed, what and
since when; the pseudonymous id stays in the lake). Throttling and 5xx are retried with
exponential backoff and jitter; after the last attempt the caller dead-letters the alert.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict

from botocore.exceptions import BotoCoreError, ClientError

from core.schema.events import Alert, iso_ms

PAGER_FIELDS = ("alert_id", "rule", "severity", "status", "hospital_id", "unit", "bed", "message", "values",
                "news2_total", "episode_id", "delayed", "tier", "context", "oldest_value_age_s")


def sns_message(alert: Alert) -> dict:
    """The SNS message body and attributes for an alert."""
    body = {k: v for k, v in asdict(alert).items() if k in PAGER_FIELDS}
    body["ts"] = iso_ms(alert.ts_ms)
    body["episode_start"] = iso_ms(alert.episode_start_ms)
    attributes = {
        name: {"DataType": "String", "StringValue": str(value)}
        for name, value in (("severity", alert.severity), ("rule", alert.rule), ("status", alert.status),
                            ("hospital", alert.hospital_id), ("unit", alert.unit), ("tier", alert.tier or "primary"))
    }
    return {"Message": json.dumps(body, sort_keys=True), "Subject": alert.message[:99],
            "MessageAttributes": attributes}


class PublishError(RuntimeError):
    pass


class SnsPublisher:
    def __init__(self, client, topic_arn: str, attempts: int = 5, base_delay_s: float = 0.2):
        self.client = client
        self.topic_arn = topic_arn
        self.attempts = attempts
        self.base_delay_s = base_delay_s

    def publish(self, alert: Alert) -> str:
        """Publish; returns the SNS MessageId, or raises PublishError with the last cause."""
        last = ""
        for attempt in range(self.attempts):
            try:
                return self.client.publish(TopicArn=self.topic_arn, **sns_message(alert))["MessageId"]
            except ClientError as exc:
                err = exc.response.get("Error", {})
                last = f"{err.get('Code', 'ClientError')}: {err.get('Message', '')}"
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                if status < 500 and err.get("Code") not in ("Throttling", "ThrottlingException", "ThrottledException"):
                    break  # not retryable (missing topic, bad request, access denied)
            except BotoCoreError as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(random.uniform(0, self.base_delay_s * 2 ** attempt))
        raise PublishError(f"SNS publish failed after {attempt + 1} attempt(s): {last}")
