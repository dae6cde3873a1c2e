"""Finding the Java 17 runtime that Flink and the KCL's MultiLangDaemon both need."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path


def java_path() -> str | None:
    if os.environ.get("JAVA_HOME"):
        return str(Path(os.environ["JAVA_HOME"]) / "bin" / "java")
    return shutil.which("java")


def check_java() -> str | None:
    """None when a Java 17+ runtime is on PATH (or JAVA_HOME), else what to do about it."""
    java = java_path()
    hint = ("Flink and the KCL need a Java 17 runtime. Install one, e.g. `sudo apt-get install openjdk-17-jre-headless` "
            "(Debian/Ubuntu), `brew install openjdk@17` (macOS) or `dnf install java-17-openjdk-headless`, "
            "then make sure `java -version` reports 17 (or set JAVA_HOME).")
    if not java or not Path(java).exists():
        return f"no `java` found. {hint}"
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)', out)
    if not match:
        return f"could not read the Java version from `{java} -version`. {hint}"
    if int(match.group(1)) < 17:
        return f"found Java {match.group(1)}, which is too old. {hint}"
    return None
