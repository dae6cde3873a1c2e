"""MSF entry point: Managed Service for Apache Flink runs this file (kinesis.analytics.flink.run.options: python=main.py)."""

import sys

from flink_app.__main__ import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
