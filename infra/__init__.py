"""WardWatch infrastructure: the AWS CDK app (this package) and the local stack (``infra.local``)."""

import os

# jsii (under aws-cdk-lib) prints a banner on every start on Node 20 (DESIGN.md): it still works.
# The end-of-life banner is silenced per Node major version (a comma-separated list).
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
