"""Which run of the job this is, across restores: its lineage, and the checkpoint to restore.

The lake sink names its files and journal after the lineage (``io/lake.py``): a restored job
must carry on the lineage of the checkpoint it restores, so that it finds and undoes the
flushes written after that checkpoint; a fresh job takes a new lineage and never touches an
earlier job's files. Locally checkpoints live under ``<job.checkpoint.dir>/<lineage>/``, so
the lineage of a checkpoint is read from its path. No Flink import.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from core.config import Config, ConfigError

_LINEAGE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def latest_checkpoint(checkpoint_root: Path) -> str | None:
    """The newest completed checkpoint (a chk-N folder holding _metadata) under the root."""
    found = sorted(checkpoint_root.glob("*/*/chk-*/_metadata"), key=lambda p: p.stat().st_mtime)
    return str(found[-1].parent) if found else None


def lineage_of(checkpoint: str, checkpoint_root: Path) -> str | None:
    try:
        return Path(checkpoint).resolve().relative_to(checkpoint_root.resolve()).parts[0]
    except (ValueError, IndexError):
        return None


def resolve(cfg: Config) -> Config:
    """The configuration with ``job.lineage`` and ``job.restore.from`` made definite."""
    root = Path(cfg["job.checkpoint.dir"]).resolve()
    restore = cfg["job.restore.from"]
    if restore == "latest":
        restore = latest_checkpoint(root) or ""
    lineage = cfg["job.lineage"]
    if not lineage:
        if restore:
            lineage = lineage_of(restore, root)
            if not lineage:
                raise ConfigError(f"setting job.lineage is needed to restore from {restore}, which is not under "
                                  f"job.checkpoint.dir ({root})")
        else:
            lineage = uuid.uuid4().hex[:12]
    if not _LINEAGE.match(lineage):
        raise ConfigError(f"setting job.lineage: {lineage!r} may hold only letters, digits, '.', '_' and '-'")
    return Config({**cfg.as_dict(), "job.lineage": lineage, "job.restore.from": restore})
