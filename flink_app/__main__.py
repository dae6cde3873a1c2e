"""``python -m flink_app [--config FILE] [--set group.key=value ...]``: run the job."""

from __future__ import annotations

import logging
import sys

from core.config import ConfigError, load


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cfg = load(argv)
        from flink_app.job import run  # imported late so that config errors need no JVM

        run(cfg)  # resolves lineage and restore path before Flink starts: their errors are told here too
    except ConfigError as exc:
        print(f"wardwatch: configuration error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
