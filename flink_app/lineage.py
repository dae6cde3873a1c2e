"""Which run of the job this is, across restores: its lineage, and the checkpoint to restore.

The lake sink names its files and journal after the lineage (``io/lake.py``): a restored job
must carry on the lineage of the checkpoint it restores, so that it finds and undoes the
flushes written after that checkpoint; a fresh job takes a new lineage and never touches an
earlier job's files. Locally checkpoints live under ``<job.checkpoint.dir>/<lineage>/``, so
the lineage of a checkpoint is read from its path. No Flink import.

A checkpoint holds the Python operators' state as pickles, and unpickling runs code: restoring one
that someone else could write runs their code in the job. So a checkpoint is restored only if it,
its job's shared state and the folders above it (up to ``job.checkpoint.dir``) are the job user's
and writable by no one else, as ssh treats its keys. On MSF the service keeps checkpoints and
snapshots where no principal of the account can write (README, "Checkpoints are code").
"""

from __future__ import annotations

import os
import re
import stat
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


def untrusted(checkpoint: Path, checkpoint_root: Path) -> str | None:
    """Why ``checkpoint`` may have been written by someone other than the job's user, or None."""
    uid = os.getuid()
    paths = [checkpoint]
    for folder in (checkpoint, checkpoint.parent / "shared", checkpoint.parent / "taskowned"):
        if folder.is_dir():
            paths += sorted(folder.rglob("*"))
    above = checkpoint.parent
    while True:
        paths.append(above)
        if above == checkpoint_root or above == above.parent or checkpoint_root not in above.parents:
            break
        above = above.parent
    for path in paths:
        info = path.lstat()
        if info.st_uid != uid:
            return f"{path} belongs to user id {info.st_uid}, not the job's ({uid})"
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not stat.S_ISLNK(info.st_mode):
            return f"{path} is writable by {'others' if info.st_mode & stat.S_IWOTH else 'its group'}"
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
    if restore:
        path = Path(restore).resolve()
        if not path.exists():
            raise ConfigError(f"setting job.restore.from: {restore} does not exist")
        why = untrusted(path, root)
        if why:
            raise ConfigError(f"setting job.restore.from: will not restore {restore}: {why}. A checkpoint holds "
                              "pickles, and restoring runs them: only a checkpoint nothing but the job can write")
    if not _LINEAGE.match(lineage):
        raise ConfigError(f"setting job.lineage: {lineage!r} may hold only letters, digits, '.', '_' and '-'")
    return Config({**cfg.as_dict(), "job.lineage": lineage, "job.restore.from": restore})
