"""`make synth|deploy|destroy ENV=dev|prod`.

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

from infra.environments import ENVIRONMENTS, EnvironmentError_, prefix, resolve

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


def synth(env_name: str) -> int:
    from infra.app import DEFAULT_BUNDLE, build, new_app
    from infra.bundle import build as build_bundle

    if not DEFAULT_BUNDLE.exists():
        print("no MSF bundle yet: building it (make bundle) …")
        build_bundle()
    app = new_app(env=env_name)
    stack = build(app)
    app.synth()
    print(f"synthesized {stack.stack_name} into cdk.out/{stack.stack_name}.template.json")
    return 0


def cdk_cli(action: str, env_name: str) -> int:
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
    stack = prefix(resolve(env_name))
    cmd = ["npx", "--yes", CDK_CLI, action, stack, "--app", f"{sys.executable} -m infra.app", "-c", f"env={env_name}"]
    cmd += ["--require-approval", "broadening"] if action == "deploy" else ["--force"] if env_name != "prod" else []
    print("+", " ".join(cmd))
    return subprocess.call(cmd, env={**os.environ, "PYTHONPATH": os.getcwd()})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m infra.deploy")
    ap.add_argument("action", choices=("synth", "deploy", "destroy"))
    ap.add_argument("--env", default="dev", help=f"one of {', '.join(ENVIRONMENTS)}")
    args = ap.parse_args(argv)
    try:
        resolve(args.env)
    except EnvironmentError_ as exc:
        print(f"make {args.action}: {exc}", file=sys.stderr)
        return 2
    return synth(args.env) if args.action == "synth" else cdk_cli(args.action, args.env)


if __name__ == "__main__":
    sys.exit(main())
