"""The lake sink's pseudonym key: from Secrets Manager on AWS, from a local file on a laptop.

A key the job cannot read stops the job with the setting and the cause (no quiet fallback to
null keys, which would break every analyst's joins from then on, or to another key, which
would split each patient in two).
"""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError

from core.aws import client
from core.config import Config
from core.pseudonym import Pseudonymiser, PseudonymKeyError, decode_secret, local_secret

log = logging.getLogger(__name__)


def pseudonymiser(cfg: Config) -> Pseudonymiser:
    secret_id = cfg["lake.pseudonym.secret"]
    try:
        if not secret_id:
            return Pseudonymiser(local_secret(cfg["lake.pseudonym.key.file"], "lake.pseudonym.key.file"))
        try:
            value = client("secretsmanager", cfg["aws.region"], cfg["aws.endpoint.url"]).get_secret_value(
                SecretId=secret_id)["SecretString"]
        except (ClientError, BotoCoreError, KeyError) as exc:
            raise PseudonymKeyError(f"lake.pseudonym.secret: cannot read the pseudonym key: {type(exc).__name__}: {exc}") from exc
        return Pseudonymiser(decode_secret(value, "lake.pseudonym.secret"))
    except (PseudonymKeyError, OSError) as exc:
        message = f"FATAL: the lake's pseudonymous keys cannot be computed: {exc}"
        log.error(message)
        raise PseudonymKeyError(message) from exc
