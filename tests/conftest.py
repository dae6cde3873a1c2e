"""Shared fixtures: a real moto server over HTTP (the local AWS), started once per session."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.local.stack import MotoServer, use_local_credentials  # noqa: E402


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory) -> str:
    use_local_credentials()
    server = MotoServer(log_path=tmp_path_factory.mktemp("moto") / "moto.log").start()
    yield server.endpoint
    server.stop()


@pytest.fixture
def unique() -> str:
    """A short unique suffix, so tests sharing the server never share a resource."""
    return uuid.uuid4().hex[:8]
