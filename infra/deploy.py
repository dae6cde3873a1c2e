"""`make synth|deploy|destroy ENV=dev|prod CONTEXT="job_lineage=2 shard_count=4"`.

``CONTEXT`` holds CDK context overrides (``infra/environments.py`` lists them); synth applies
them in this Python, deploy and destroy pass each to the CDK CLI as ``-c key=value``. An
unknown key or a bad value stops before anything runs, naming it.

synth runs offline (the CDK app in this Python, template into cdk.out/). deploy and destroy
need AWS credentials and run the CDK CLI (pinned, fetched by npx from npm); without
credentials they stop with a message saying what to set, before anything else happens.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

from infra.environments import _OVERRIDABLE, ENVIRONMENTS, EnvironmentError_, prefix, resolve

CDK_CLI = "aws-cdk@2.1148.1"  # CDK CLI, compatible with aws-cdk-lib in requirements.txt


def credentials_problem() -> str | None:
    """None when boto3 finds credentials and a region; else what is missing and how to provide it."""
    import boto3

    session = boto3.session.Session()
    if session.get_credentials() is None:
        return ("no AWS credentials found. Set AWS_PROFILE (after `aws configure` or `aws sso login`) or "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, then run this again.")
    if not session.region_name:
        return "no AWS region set. Set AWS_REGION (e.g. eu-west-2) or a region in your AWS profile."
    return None


def parse_context(text: str) -> dict[str, str]:
    """``"job_lineage=2 shard_count=4"`` -> {"job_lineage": "2", "shard_count": "4"}; unknown keys refused."""
    out: dict[str, str] = {}
    for item in text.split():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise EnvironmentError_(f"CONTEXT item {item!r}: expected key=value")
        if key not in _OVERRIDABLE:
            raise EnvironmentError_(f"CONTEXT key {key!r} is not an override; choose from: {', '.join(sorted(_OVERRIDABLE))}")
        out[key] = value
    return out


def cdk_command(action: str, env_name: str, context: dict[str, str]) -> list[str]:
    cmd = ["npx", "--yes", CDK_CLI, action, prefix(resolve(env_name, context)), "--app", f"{sys.executable} -m infra.app",
           "-c", f"env={env_name}"]
    for key, value in context.items():
        cmd += ["-c", f"{key}={value}"]
    cmd += ["--require-approval", "broadening"] if action == "deploy" else ["--force"] if env_name != "prod" else []
    return cmd


def synth(env_name: str, context: dict[str, str] | None = None) -> int:
    from infra.app import DEFAULT_BUNDLE, build, new_app
    from infra.bundle import build as build_bundle

    if not DEFAULT_BUNDLE.exists():
        print("no MSF bundle yet: building it (make bundle) …")
        build_bundle()
    app = new_app(env=env_name, **(context or {}))
    stack = build(app)
    app.synth()
    print(f"synthesized {stack.stack_name} into cdk.out/{stack.stack_name}.template.json")
    return 0


def cdk_cli(action: str, env_name: str, context: dict[str, str] | None = None) -> int:
    problem = credentials_problem()
    if problem:
        print(f"make {action}: {problem}", file=sys.stderr)
        return 2
    if shutil.which("npx") is None:
        print(f"make {action}: npx (Node.js) is needed to run the CDK CLI; install Node.js 18+.", file=sys.stderr)
        return 2
    if action == "deploy":
        from infra.bundle import build as build_bundle

        print(build_bundle()["path"])
    cmd = cdk_command(action, env_name, context or {})
    print("+", " ".join(cmd))
    return subprocess.call(cmd, env={**os.environ, "PYTHONPATH": os.getcwd()})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m infra.deploy")
    ap.add_argument("action", choices=("synth", "deploy", "destroy"))
    ap.add_argument("--env", default="dev", help=f"one of {', '.join(ENVIRONMENTS)}")
    ap.add_argument("--context", default="", help='CDK context overrides, e.g. "job_lineage=2 shard_count=4"')
    args = ap.parse_args(argv)
    try:
        context = parse_context(args.context)
        resolve(args.env, context)
    except EnvironmentError_ as exc:
        print(f"make {args.action}: {exc}", file=sys.stderr)
        return 2
    return synth(args.env, context) if args.action == "synth" else cdk_cli(args.action, args.env, context)


if __name__ == "__main__":
    sys.exit(main())
