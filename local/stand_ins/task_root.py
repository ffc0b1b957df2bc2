"""Stands in for Lambda's task root outside Lambda: the function's folder (template.yaml's
CodeUri, the one place that says where the handler is) first on the import path, as Lambda puts
/var/task first. The only code here that changes sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

from local.stand_ins.function_template import ROOT, function_facts


def function_dir() -> Path:
    return ROOT / function_facts().code_uri


def enter() -> Path:
    """Puts the function's folder first on sys.path (once); returns it."""
    folder = function_dir()
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return folder
