"""Which SNS topic a page goes to: per hospital, unit and escalation tier, from configuration.

Escalation tiers raised by the detector (``charge_nurse``, ``rapid_response``, …) each have a
destination of their own where a hospital configures one; everything else goes to the default
topic. The most specific matching route wins (hospital, then unit, then tier).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from core.config import Config, ConfigError
from core.schema.events import Alert

_KEYS = ("hospital", "unit", "tier", "topic")


@dataclass(frozen=True)
class Route:
    topic: str
    hospital: str | None = None
    unit: str | None = None
    tier: str | None = None

    def matches(self, alert: Alert) -> bool:
        return all(want is None or want == got for want, got in
                   ((self.hospital, alert.hospital_id), (self.unit, alert.unit), (self.tier, alert.tier or "primary")))

    @property
    def specificity(self) -> tuple[bool, bool, bool]:
        return self.hospital is not None, self.unit is not None, self.tier is not None


class Router:
    def __init__(self, default_topic: str, routes: list[Route]):
        self.default_topic = default_topic
        # Most specific first; among equals, the order given.
        self.routes = sorted(routes, key=lambda r: r.specificity, reverse=True)

    @classmethod
    def from_config(cls, cfg: Config) -> Router:
        routes = []
        for i, entry in enumerate(json.loads(cfg["delivery.routes"])):
            if not isinstance(entry, dict) or not isinstance(entry.get("topic"), str) or not entry["topic"]:
                raise ConfigError(f"setting delivery.routes: entry {i} needs a \"topic\" (an SNS topic ARN)")
            unknown = set(entry) - set(_KEYS)
            if unknown:
                raise ConfigError(f"setting delivery.routes: entry {i} has unknown keys {sorted(unknown)}")
            routes.append(Route(**{k: str(entry[k]) for k in _KEYS if entry.get(k) is not None}))
        if not cfg["delivery.topic.arn"] and not any(r.hospital is r.unit is r.tier is None for r in routes):
            raise ConfigError("setting delivery.topic.arn is required (the topic for pages no route matches)")
        return cls(cfg["delivery.topic.arn"], routes)

    def topic_for(self, alert: Alert) -> str:
        for route in self.routes:
            if route.matches(alert):
                return route.topic
        return self.default_topic


def hospital_names(cfg: Config) -> dict[str, str]:
    return {str(k): str(v) for k, v in json.loads(cfg["delivery.hospital.names"]).items()}


def filter_policy(hospital: str, units: list[str] | tuple[str, ...], **more: list[str]) -> dict[str, list[str]]:
    """An SNS subscription filter policy on hospital and unit together (bed and unit names repeat
    across hospitals, so a unit alone would deliver every hospital's pages). The CDK app and the
    tests build their subscriptions with this."""
    if not hospital or not units:
        raise ValueError("a subscription filters on one hospital and at least one of its units")
    return {"hospital": [hospital], "unit": sorted(units), **{k: sorted(v) for k, v in more.items()}}
