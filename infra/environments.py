"""Per-environment settings of the AWS deployment (dev, prod), chosen by CDK context ``env``.

Plain Python (no CDK import): the stack reads these, tests read them, and `make deploy`
checks the name before anything talks to AWS.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


class EnvironmentError_(ValueError):
    """An unknown environment or a bad override; the message names the context key."""


@dataclass(frozen=True)
class Environment:
    name: str
    stream_mode: str = "ON_DEMAND"  # or PROVISIONED
    shard_count: int = 2  # PROVISIONED only
    stream_retention_hours: int = 24  # replay window after an outage
    parallelism: int = 1
    parallelism_per_kpu: int = 1  # Python operators: one slot per KPU leaves CPU for PEMJA
    autoscaling: bool = False
    checkpoint_interval_ms: int = 60_000
    log_level: str = "INFO"
    lake_infrequent_access_days: int = 90
    lake_expire_days: int | None = None  # None: keep the curated lake (medical-records retention)
    athena_results_expire_days: int = 30
    quarantine_expire_days: int = 30  # refused records kept unchanged: long enough to fix and replay, no longer
    # The raw zone (every stream record unchanged): long enough to rebuild a year of the lake after a
    # bug found late (past the stream's 7 days), no longer: it is a second copy of patient data.
    raw_expire_days: int = 365
    audit_retention_days: int = 6 * 365  # CloudTrail data events on patient data: HIPAA keeps documentation 6 years
    athena_bytes_scanned_limit: int = 10 * 1024**3  # per query
    retain_data: bool = True  # RETAIN buckets, stream, keys, table on stack deletion
    # Example subscriptions to the alert topic, filtered by message attributes: always on hospital
    # and unit together (bed and unit names repeat across hospitals).
    pager_severities: tuple[str, ...] = ("critical",)
    pager_wards: tuple[tuple[str, tuple[str, ...]], ...] = (("H01", ("ICU", "ER", "Surgery")),)  # rapid response
    ward_boards: tuple[tuple[str, str], ...] = (("H01", "ICU"), ("H01", "Ward-A"))  # one queue per board
    charge_nurse: tuple[str, str] = ("H01", "ICU")  # the e-mail example's hospital and unit
    alert_email: str = ""  # optional email subscription (charge nurse example); empty: none
    # Escalation tiers with a topic of their own (alerts/routing.py); others go to the main topic.
    escalation_tiers: tuple[str, ...] = ("charge_nurse", "rapid_response")
    hospital_names: tuple[tuple[str, str], ...] = ()  # hospital id -> name, for the page text
    # QuickSight row-level security: one group per hospital sees that hospital's rows
    # (<name>-hospital-<id>); <name>-analysts sees every hospital (infra/quicksight.py).
    quicksight_hospitals: tuple[str, ...] = ("H01", "H02", "H03")
    delivery_workers: int = 1  # KCL workers of the delivery service (Fargate tasks)
    ops_email: str = ""  # optional email for operational alarms
    canary_minutes: int = 15  # the end-to-end canary pages its queue this often (infra/canary.py)
    job_lineage: str = "1"  # change when the application is started without a snapshot (README)
    tags: dict[str, str] = field(default_factory=dict)


ENVIRONMENTS: dict[str, Environment] = {
    "dev": Environment("dev", retain_data=False, lake_expire_days=30, quarantine_expire_days=7, raw_expire_days=7, audit_retention_days=90, athena_bytes_scanned_limit=1024**3,
                       log_level="INFO", checkpoint_interval_ms=60_000),
    "prod": Environment("prod", stream_retention_hours=168, parallelism=2, autoscaling=True, retain_data=True,
                        log_level="WARN", delivery_workers=2),
}

_OVERRIDABLE = {"stream_mode": str, "shard_count": int, "parallelism": int, "alert_email": str, "ops_email": str,
                "job_lineage": str, "canary_minutes": int}


def resolve(name: str | None, overrides: dict | None = None) -> Environment:
    """The named environment with context overrides applied (``-c parallelism=4``)."""
    name = name or "dev"
    if name not in ENVIRONMENTS:
        raise EnvironmentError_(f"context env={name!r}: choose one of {', '.join(ENVIRONMENTS)}")
    env = ENVIRONMENTS[name]
    changes = {}
    for key, value in (overrides or {}).items():
        if key not in _OVERRIDABLE or value is None:
            continue
        try:
            changes[key] = _OVERRIDABLE[key](value)
        except ValueError as exc:
            raise EnvironmentError_(f"context {key}={value!r}: {exc}") from None
    env = replace(env, **changes)
    if env.stream_mode not in ("ON_DEMAND", "PROVISIONED"):
        raise EnvironmentError_(f"context stream_mode={env.stream_mode!r}: ON_DEMAND or PROVISIONED")
    if env.parallelism < 1 or env.shard_count < 1:
        raise EnvironmentError_("context parallelism and shard_count must be at least 1")
    if not 5 <= env.canary_minutes <= 60:
        raise EnvironmentError_(f"context canary_minutes={env.canary_minutes}: 5 to 60 (minutes between canary pages)")
    return env


def prefix(env: Environment) -> str:
    """Every resource name starts with this, so two environments never collide in one account."""
    return f"wardwatch-{env.name}"


def tags(env: Environment) -> dict[str, str]:
    return {"Project": "WardWatch", "Environment": env.name, "DataClassification": "PHI",
            "ManagedBy": "aws-cdk", **env.tags}
