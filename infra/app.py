"""The CDK app: ``cdk synth -c env=dev`` (or `make synth ENV=dev`) builds one environment's template.

Context: ``env`` (dev|prod), ``bundle`` (the MSF zip, default dist/wardwatch-msf.zip from
`make bundle`), and the overrides in ``infra/environments.py`` (e.g. ``-c parallelism=4``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import aws_cdk as cdk

from infra.environments import _OVERRIDABLE, prefix, resolve
from infra.stack import WardWatchStack

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUNDLE = ROOT / "dist" / "wardwatch-msf.zip"


def build(app: cdk.App) -> WardWatchStack:
    ctx = app.node.try_get_context
    env = resolve(ctx("env"), {k: ctx(k) for k in _OVERRIDABLE})
    bundle = ctx("bundle") or str(DEFAULT_BUNDLE)
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    return WardWatchStack(app, prefix(env), env_settings=env, bundle_path=bundle,
                          env=cdk.Environment(account=account, region=region) if account and region else None)


def project_context() -> dict:
    """cdk.json's context (feature flags, default env): the CDK CLI passes it; tests and `make synth` load it here."""
    return json.loads((ROOT / "cdk.json").read_text())["context"]


def new_app(**context) -> cdk.App:
    return cdk.App(context={**project_context(), **{k: v for k, v in context.items() if v is not None}},
                   outdir=str(ROOT / "cdk.out"))


def main() -> None:
    app = new_app()
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
