"""The page ledger in DynamoDB: one item per page id, claimed before publishing, marked after.

The conditional write (``attribute_not_exists``) lets exactly one attempt claim a page; a page
marked delivered is never sent again, whichever worker or restart reads its record. Any other
DynamoDB failure (throttling, 5xx, timeouts) is ``LedgerUnavailable``: the delivery pages anyway
(``alerts/delivery.py``). Items expire through DynamoDB TTL (``expires_at``).
"""

from __future__ import annotations

import time

from botocore.exceptions import BotoCoreError, ClientError

from alerts.delivery import LedgerUnavailable

TTL_S = 7 * 24 * 3600


class DynamoLedger:
    def __init__(self, client, table: str):
        self.client = client
        self.table = table

    def claim(self, page_id: str) -> str:
        now = int(time.time())
        try:
            self.client.put_item(
                TableName=self.table,
                Item={"page_id": {"S": page_id}, "status": {"S": "claimed"}, "claimed_at": {"N": str(now)},
                      "expires_at": {"N": str(now + TTL_S)}},
                ConditionExpression="attribute_not_exists(page_id)")
            return "new"
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise LedgerUnavailable(_reason(exc)) from None
        except BotoCoreError as exc:
            raise LedgerUnavailable(_reason(exc)) from None
        try:
            item = self.client.get_item(TableName=self.table, Key={"page_id": {"S": page_id}},
                                        ConsistentRead=True).get("Item", {})
        except (ClientError, BotoCoreError) as exc:
            raise LedgerUnavailable(_reason(exc)) from None
        return "delivered" if item.get("status", {}).get("S") == "delivered" else "claimed"

    def mark_delivered(self, page_id: str, message_id: str) -> None:
        now = int(time.time())
        try:
            self.client.update_item(
                TableName=self.table, Key={"page_id": {"S": page_id}},
                UpdateExpression="SET #s = :d, message_id = :m, delivered_at = :t, expires_at = :e",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":d": {"S": "delivered"}, ":m": {"S": message_id},
                                           ":t": {"N": str(now)}, ":e": {"N": str(now + TTL_S)}})
        except (ClientError, BotoCoreError) as exc:
            raise LedgerUnavailable(_reason(exc)) from None


def _reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'ClientError')}: {err.get('Message', '')}"[:300]
    return f"{type(exc).__name__}: {exc}"[:300]
