"""Technician tools: install, devices, test, status (registered in edge.cli TOOLS)."""
from __future__ import annotations

import sys

from edge.config import ConfigError, OfficeConfig, load


def load_config(path: str, prog: str) -> OfficeConfig | None:
    """Load an office config, printing every problem as `file:line: field: message`."""
    try:
        return load(path)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        print(f"{prog}: {path}: {len(exc.issues)} error(s); fix them first (motcua config check)",
              file=sys.stderr)
        return None
