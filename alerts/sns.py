"""SNS publishing for the delivery service: one attempt per call, short timeouts, no SDK retries.

Retrying is the delivery's job (``alerts/delivery.py`` holds the page and tries again for as
long as it takes), so botocore never re-sends on its own: a slow SNS costs one attempt's
timeout, not a stalled pipeline, and any repeat carries the page's id.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from alerts.delivery import PublishFailed
from alerts.ledger import _reason
from alerts.render import Page

PERMANENT = {"NotFound", "NotFoundException", "AuthorizationError", "AccessDenied", "AccessDeniedException",
             "InvalidParameter", "InvalidParameterValue", "KMSAccessDenied", "KMSDisabled", "KMSNotFound",
             "InvalidClientTokenId", "UnrecognizedClientException"}


class SnsPublisher:
    def __init__(self, client, names: dict[str, str]):
        self.client = client
        self.names = names

    def publish(self, page: Page, topic_arn: str) -> str:
        try:
            return self.client.publish(**page.sns_request(topic_arn, self.names))["MessageId"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise PublishFailed(_reason(exc), permanent=code in PERMANENT) from None
        except BotoCoreError as exc:
            raise PublishFailed(_reason(exc)) from None
