"""A Lambda's code folder holding only the files it runs (nothing else of the repository ships)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def stage(patterns: list[str]) -> str:
    """A temporary folder with the files matching ``patterns`` (relative to the repository), at
    their relative paths; CDK copies it into cdk.out when the function is built, so the caller
    removes it right after."""
    folder = Path(tempfile.mkdtemp(prefix="wardwatch-lambda-"))
    for pattern in patterns:
        for file in ROOT.glob(pattern):
            target = folder / file.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, target)
    return str(folder)
