"""``-o/--output`` for every command that prints data: the formats, and printing data in them."""

from __future__ import annotations

import enum
import json
import sys
from typing import Any

import yaml


class Tabular(enum.StrEnum):
    """Data with a human table: ``version``, ``plan-restarts``."""

    TABLE = "table"
    JSON = "json"
    YAML = "yaml"


class Document(enum.StrEnum):
    """A Kubernetes document: ``render``, ``crd``."""

    YAML = "yaml"
    JSON = "json"


class Verdict(enum.StrEnum):
    """A verdict with a sentence: ``check-upgrade``."""

    TEXT = "text"
    JSON = "json"
    YAML = "yaml"


def emit(data: Any, fmt: str) -> None:
    """Print ``data`` as JSON or YAML on stdout, unwrapped and uncoloured (parsers read it)."""
    if fmt == "json":
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
