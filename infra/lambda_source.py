"""A Lambda's code folder holding only the files it runs (nothing else of the repository ships)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def staged(patterns: list[str]) -> Iterator[str]:
    """A temporary folder with the files matching ``patterns`` (relative to the repository), at
    their relative paths, for ``lambda_.Code.from_asset``. CDK copies it into cdk.out when the
    function is built inside the ``with``; the folder is removed when the block ends."""
    folder = Path(tempfile.mkdtemp(prefix="wardwatch-lambda-"))
    try:
        for pattern in patterns:
            for file in ROOT.glob(pattern):
                target = folder / file.relative_to(ROOT)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, target)
        yield str(folder)
    finally:
        shutil.rmtree(folder)
