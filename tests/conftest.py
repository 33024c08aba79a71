from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
sys.path.insert(0, str(Path(__file__).parent))

from harness import TestOffice  # noqa: E402


@pytest.fixture
def office(tmp_path: Path):
    """A running mosquitto with the small test office's generated config and credentials."""
    o = TestOffice(tmp_path / "data").start()
    yield o
    o.close()
