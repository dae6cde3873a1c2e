"""`make bundle`: the zip Managed Service for Apache Flink runs.

    main.py                  kinesis.analytics.flink.run.options: python=main.py
    core/, flink_app/        the job's packages
    dep/                     Python dependencies for MSF's Python (3.12) on manylinux x86_64
                             (run options: pyFiles=dep/); MSF cannot pip-install at start

PyFlink itself and what it brings (pyarrow, numpy, protobuf, ...) are the runtime's and stay out: two
copies of pyarrow on one path would clash. Versions come from requirements.txt, so the
cluster runs what the tests ran. The zip is checked before it is written to dist/.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
BUNDLE = DIST / "wardwatch-msf.zip"
PACKAGES = ("core", "flink_app")  # the delivery service (alerts/) is not part of the job
# What the job imports beyond the standard library and PyFlink's own dependencies.
DEPENDENCIES = ("orjson", "boto3", "botocore", "s3transfer", "jmespath", "urllib3")
MSF_PYTHON = "3.12"  # the Python of the FLINK-2_2 runtime (DESIGN.md)
PLATFORM = "manylinux2014_x86_64"
MAX_BYTES = 100 * 1024**2
FORBIDDEN = ("pyflink/", "pyarrow/", "numpy/", "tests/", "__pycache__/", ".pyc")


class BundleError(RuntimeError):
    pass


def pinned(names: tuple[str, ...] = DEPENDENCIES, requirements: Path = ROOT / "requirements.txt") -> list[str]:
    """``name==version`` for each name, as requirements.txt pins it."""
    pins = {}
    for line in requirements.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s#]+)", line.strip())
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(3)
    missing = [n for n in names if n.lower() not in pins]
    if missing:
        raise BundleError(f"requirements.txt pins no version for {', '.join(missing)}")
    return [f"{n}=={pins[n.lower()]}" for n in names]


def install_dependencies(target: Path) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
           "--target", str(target), "--platform", PLATFORM, "--python-version", MSF_PYTHON,
           "--implementation", "cp", "--only-binary=:all:", *pinned()]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise BundleError(f"pip could not fetch the dependencies for {PLATFORM} / Python {MSF_PYTHON}:\n"
                          f"{result.stderr.strip()}")


def check(path: Path) -> dict:
    """What MSF needs is there, nothing that must not be is; returns a summary."""
    size = path.stat().st_size
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    problems = []
    if size > MAX_BYTES:
        problems.append(f"{size / 1024**2:.0f} MB is over the {MAX_BYTES / 1024**2:.0f} MB budget")
    for required in ("main.py", *(f"{p}/__init__.py" for p in PACKAGES), "dep/orjson/__init__.py",
                     "dep/boto3/__init__.py", "dep/botocore/__init__.py"):
        if required not in names:
            problems.append(f"missing {required}")
    if not any(re.match(rf"dep/orjson/orjson\.cpython-{MSF_PYTHON.replace('.', '')}-x86_64-linux-gnu\.so$", n)
               for n in names):
        problems.append(f"orjson is not built for CPython {MSF_PYTHON} x86_64 Linux")
    bad = sorted({n for n in names for f in FORBIDDEN if f in n and not n.startswith("dep/")}
                 | {n for n in names if n.startswith(("dep/pyflink/", "dep/pyarrow/", "dep/numpy/"))})
    if bad:
        problems.append(f"must not contain {bad[:5]}")
    if problems:
        raise BundleError(f"{path.name}: " + "; ".join(problems))
    return {"path": str(path), "bytes": size, "files": len(names)}


def build(out: Path = BUNDLE) -> dict:
    with tempfile.TemporaryDirectory(prefix="wardwatch-bundle-") as tmp:
        stage = Path(tmp) / "stage"
        stage.mkdir()
        shutil.copy2(ROOT / "main.py", stage / "main.py")
        for package in PACKAGES:
            shutil.copytree(ROOT / package, stage / package,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.tmp"))
        install_dependencies(stage / "dep")
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_suffix(".zip.tmp")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as z:
            for file in sorted(stage.rglob("*")):
                if file.is_file() and "__pycache__" not in file.parts:
                    z.write(file, file.relative_to(stage).as_posix())
        summary = check(partial)
        partial.replace(out)
    return {**summary, "path": str(out)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m infra.bundle", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=BUNDLE)
    args = ap.parse_args(argv)
    try:
        summary = build(args.out)
    except BundleError as exc:
        print(f"make bundle: {exc}", file=sys.stderr)
        return 1
    print(f"{summary['path']}: {summary['bytes'] / 1024**2:.1f} MB, {summary['files']} files "
          f"(main.py, {', '.join(PACKAGES)}, dep/ for Python {MSF_PYTHON} {PLATFORM})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
