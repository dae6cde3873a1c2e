"""Delivery of pages from the alerts stream: never lost, never twice, in stream order for checkpoints.

Pure (no boto3, no KCL): the ledger and the publisher are passed in, so the rules below test in
milliseconds and the KCL consumer (``alerts/consumer.py``) is a thin adapter.

- A record is done when its page is delivered, or deliberately not sent (an alert the detector
  recorded without paging, a page already delivered, an alert that can never be rendered,
  which goes to the dead-letter queue with the reason). The stream is checkpointed only up to
  the last record before the first one that is not done, so a crash re-reads every page not yet
  delivered, and loses none.
- A page SNS does not take is held and tried again, with backoff capped at ``retry_max_ms``,
  for as long as it takes; the pages after it are not held up. When it finally goes out it says
  it was held and when it was raised.
- Before publishing, the page id is claimed in the ledger with a conditional write. A page whose
  id the ledger records as delivered is dropped. If the ledger cannot be reached the page is sent
  anyway (a repeat with the same id beats a missing page) and marked later. What remains, a
  crash between SNS's answer and the mark, may repeat a page: it carries the same ``page_id``,
  which every consumer drops on (``infra/local/stack.py`` ``PageDeduplicator``).
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from alerts.render import Page, render
from alerts.routing import Router
from core.schema.events import InvalidRecord, decode_alert

log = logging.getLogger("wardwatch.delivery")
RECENT_IDS = 50_000  # page ids delivered by this process, dropped without asking the ledger
LEDGER_PROBE_MS = 5_000


class LedgerUnavailable(RuntimeError):
    """The deduplication store did not answer: page anyway, reconcile later."""


class PublishFailed(RuntimeError):
    def __init__(self, reason: str, permanent: bool = False):
        super().__init__(reason)
        self.permanent = permanent  # will not heal by itself (a missing topic, access denied): said loudly


class Ledger(Protocol):
    def claim(self, page_id: str) -> str:
        """'new', 'delivered' (drop it) or 'claimed' (an attempt that died: send it again)."""

    def mark_delivered(self, page_id: str, message_id: str) -> None: ...


class Publisher(Protocol):
    def publish(self, page: Page, topic_arn: str) -> str:
        """The SNS message id; raises PublishFailed."""


@dataclass
class Pending:
    position: tuple[int, int]  # (sequence number, sub-sequence number) of the record
    page: Page
    topic: str
    attempts: int = 0
    last_error: str = ""


@dataclass
class Counts:
    records: int = 0
    delivered: int = 0
    delivered_late: int = 0
    not_paged: int = 0
    duplicates_dropped: int = 0
    dead_lettered: int = 0
    ledger_errors: int = 0
    publish_failures: int = 0
    held: int = 0
    oldest_held_s: float = 0.0
    permanent_failure: str = ""

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Delivery:
    ledger: Ledger | None
    publisher: Publisher
    router: Router
    names: dict[str, str]
    clock_ms: Callable[[], int]
    dead_letter: Callable[[bytes, str], None]
    retry_max_ms: int = 30_000
    retry_base_ms: int = 250
    counts: Counts = field(default_factory=Counts)
    _open: deque = field(default_factory=deque)  # [position, done] in stream order, not yet checkpointable
    _held: dict = field(default_factory=dict)  # position -> Pending, in stream order
    _entries: dict = field(default_factory=dict)  # position -> its entry in _open, while held
    _down: dict = field(default_factory=dict)  # topic -> (consecutive failures, next attempt ms)
    _recent: OrderedDict = field(default_factory=OrderedDict)
    _unmarked: dict = field(default_factory=dict)  # page id -> message id, to write once the ledger is back
    _ledger_failing: bool = False
    _ledger_failed_ms: int = 0

    # ---- records in -------------------------------------------------------------------------
    def accept(self, position: tuple[int, int], data: bytes) -> None:
        """One alerts-stream record: render it and try to deliver its page now."""
        self.counts.records += 1
        entry = [position, True]
        self._open.append(entry)
        try:
            alert = decode_alert(data)
            page = render(alert, self.names)
            topic = self.router.topic_for(alert)
        except (InvalidRecord, TypeError, ValueError, KeyError) as exc:
            self.counts.dead_lettered += 1
            log.error("alert record at %s cannot be rendered and goes to the dead-letter queue: %s", position[0], exc)
            self.dead_letter(data, str(exc)[:300])
            return
        if not alert.paged:
            self.counts.not_paged += 1  # recorded by the detector without paging: the ward board shows it
            return
        if page.page_id in self._recent:
            self.counts.duplicates_dropped += 1
            return
        claim = "new"
        if self.ledger is not None and self._ledger_probe_due():
            try:
                claim = self.ledger.claim(page.page_id)
            except LedgerUnavailable as exc:
                self._ledger_down(exc)
                claim = "unknown"
        if claim == "delivered":
            self.counts.duplicates_dropped += 1
            self._remember(page.page_id)
            return
        pending = Pending(position, page, topic)
        if topic in self._down or not self._attempt(pending):
            entry[1] = False
            if pending.page.held_since_ms is None:
                pending.page = replace(pending.page, held_since_ms=self.clock_ms())
            self._held[position] = pending
            self._entries[position] = entry

    def _attempt(self, p: Pending) -> bool:
        """One publish; on failure the topic is down until its backoff passes (one probe at a time)."""
        now = self.clock_ms()
        p.attempts += 1
        try:
            message_id = self.publisher.publish(p.page, p.topic)
        except PublishFailed as exc:
            self.counts.publish_failures += 1
            failures = self._down.get(p.topic, (0, 0))[0] + 1
            self._down[p.topic] = (failures, now + min(self.retry_max_ms, self.retry_base_ms * 2 ** min(failures - 1, 16)))
            p.last_error = str(exc)
            if exc.permanent and self.counts.permanent_failure != str(exc):
                log.error("SNS refuses pages (%s): they are held until this is fixed", exc)
            if exc.permanent:
                self.counts.permanent_failure = str(exc)
            return False
        self._down.pop(p.topic, None)
        self.counts.delivered += 1
        if p.page.held_since_ms is not None:
            self.counts.delivered_late += 1
        self.counts.permanent_failure = "" if not self._down else self.counts.permanent_failure
        self._remember(p.page.page_id)
        self._mark(p.page.page_id, message_id)
        return True

    def _remember(self, pid: str) -> None:
        self._recent[pid] = None
        if len(self._recent) > RECENT_IDS:
            self._recent.popitem(last=False)

    def _mark(self, pid: str, message_id: str) -> None:
        if self.ledger is None:
            return
        if not self._ledger_probe_due():
            self._unmarked[pid] = message_id  # down a moment ago: do not wait on it for every page
            return
        try:
            self.ledger.mark_delivered(pid, message_id)
            self._unmarked.pop(pid, None)
            if self._ledger_failing:
                self._ledger_failing = False
                log.warning("ledger answers again; %d page(s) still to mark", len(self._unmarked))
        except LedgerUnavailable as exc:
            self._ledger_down(exc)
            self._unmarked[pid] = message_id

    def _ledger_probe_due(self) -> bool:
        """While the ledger is down, ask it again only every few seconds (pages go out meanwhile)."""
        return not self._ledger_failing or self.clock_ms() - self._ledger_failed_ms >= LEDGER_PROBE_MS

    def _ledger_down(self, exc: Exception) -> None:
        self.counts.ledger_errors += 1
        self._ledger_failed_ms = self.clock_ms()
        if not self._ledger_failing:  # said once per outage, not once per page
            self._ledger_failing = True
            log.warning("ledger unavailable, paging without it (repeats carry the same page id): %s", exc)

    # ---- time passing -----------------------------------------------------------------------
    def retry_due(self) -> None:
        """Held pages, oldest first per topic, once the topic's backoff has passed; ledger marks owed."""
        now = self.clock_ms()
        probing: set[str] = set()
        for position, p in list(self._held.items()):
            down = self._down.get(p.topic)
            if p.topic in probing or (down is not None and down[1] > now):
                continue  # one failed probe per topic per round; the rest wait with it
            if self._attempt(p):
                del self._held[position]
                self._entries.pop(position)[1] = True
            else:
                probing.add(p.topic)
        for pid, message_id in list(self._unmarked.items()):
            self._mark(pid, message_id)
            if pid in self._unmarked:
                break  # still down: try again next round
        self.counts.held = len(self._held)
        oldest = min((p.page.held_since_ms for p in self._held.values() if p.page.held_since_ms), default=None)
        self.counts.oldest_held_s = 0.0 if oldest is None else round((now - oldest) / 1000, 1)

    def checkpoint_position(self) -> tuple[int, int] | None:
        """The last record up to which every page is done (None: nothing new to checkpoint)."""
        last = None
        while self._open and self._open[0][1]:
            last = self._open.popleft()[0]
        return last

    @property
    def held(self) -> int:
        return len(self._held)
