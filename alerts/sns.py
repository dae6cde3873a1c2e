"""SNS publishing for the delivery service: one attempt per call, short timeouts, no SDK retries.

Retrying is the delivery's job (``alerts/delivery.py`` holds the page and tries again for as
long as it takes), so botocore never re-sends on its own: a slow SNS costs one attempt's
timeout, not a stalled pipeline, and any repeat carries the page's id.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

from alerts.delivery import PublishFailed
from alerts.ledger import _reason
from alerts.render import Page

PERMANENT = {"NotFound", "NotFoundException", "AuthorizationError", "AccessDenied", "AccessDeniedException",
             "InvalidParameter", "InvalidParameterValue", "KMSAccessDenied", "KMSDisabled", "KMSNotFound",
             "InvalidClientTokenId", "UnrecognizedClientException"}


class SnsPublisher:
    """Publishes one attempt per call.

    With ``client_for`` (a client per read timeout) the timeout adapts to a slow SNS: a read
    timeout leaves the outcome unknown (SNS may deliver the page anyway, and the retry is then a
    repeat carrying the same page id), so the next attempt waits twice as long, up to
    ``max_timeout_s``; after an answer, the timeout follows twice the answer's time, never below
    ``timeout_s``. A 22-s SNS then costs a few repeats, not one per attempt.
    """

    def __init__(self, client, names: dict[str, str], *, client_for: Callable[[float], object] | None = None,
                 timeout_s: float = 5.0, max_timeout_s: float = 60.0):
        self.client, self.names = client, names
        self.client_for, self.base_s, self.max_s = client_for, timeout_s, max_timeout_s
        self.timeout_s = timeout_s
        self._clients: dict[float, object] = {}

    def _client(self):
        if self.client_for is None:
            return self.client
        if self.timeout_s not in self._clients:
            self._clients[self.timeout_s] = self.client_for(self.timeout_s)
        return self._clients[self.timeout_s]

    def publish(self, page: Page, topic_arn: str) -> str:
        started = time.monotonic()
        try:
            message_id = self._client().publish(**page.sns_request(topic_arn, self.names))["MessageId"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise PublishFailed(_reason(exc), permanent=code in PERMANENT) from None
        except ReadTimeoutError as exc:  # sent, answer unknown: give the next attempt longer
            self.timeout_s = min(self.max_s, self.timeout_s * 2)
            raise PublishFailed(_reason(exc)) from None
        except BotoCoreError as exc:
            raise PublishFailed(_reason(exc)) from None
        took = time.monotonic() - started
        self.timeout_s = min(self.max_s, max(self.base_s, round(2 * took)))
        return message_id
