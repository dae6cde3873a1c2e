"""An idempotency ledger for alert publishing, in DynamoDB, so a replay never pages twice.

After a restore, Flink replays the records after the checkpoint and the detector raises the
same alerts again, with the same ids (``detect.alert_id``). Before publishing, the publisher
claims the id with a conditional write; once SNS accepts the message it marks the id
published. A replayed alert whose id is marked published is not sent again. An id left
claimed but unmarked belongs to an attempt that died in between: it is published again, so
the only window for a duplicate page is a crash between SNS's answer and the marking write
(milliseconds), and never a lost alert. Items expire through DynamoDB TTL (``expires_at``).
"""

from __future__ import annotations

import time

from botocore.exceptions import ClientError

TTL_S = 7 * 24 * 3600


class AlertLedger:
    def __init__(self, client, table: str):
        self.client = client
        self.table = table

    def claim(self, alert_id: str) -> tuple[bool, str | None]:
        """(publish it?, the SNS message id already recorded when it was published before)."""
        now = int(time.time())
        try:
            self.client.put_item(
                TableName=self.table,
                Item={"alert_id": {"S": alert_id}, "status": {"S": "claimed"}, "claimed_at": {"N": str(now)},
                      "expires_at": {"N": str(now + TTL_S)}},
                ConditionExpression="attribute_not_exists(alert_id)",
            )
            return True, None
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        item = self.client.get_item(TableName=self.table, Key={"alert_id": {"S": alert_id}},
                                    ConsistentRead=True).get("Item", {})
        if item.get("status", {}).get("S") == "published":
            return False, item.get("message_id", {}).get("S")
        return True, None  # claimed by an attempt that died before publishing: publish now

    def mark_published(self, alert_id: str, message_id: str) -> None:
        self.client.update_item(
            TableName=self.table, Key={"alert_id": {"S": alert_id}},
            UpdateExpression="SET #s = :p, message_id = :m, published_at = :t",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":p": {"S": "published"}, ":m": {"S": message_id},
                                       ":t": {"N": str(int(time.time()))}},
        )
