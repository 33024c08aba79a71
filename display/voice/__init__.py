"""The `voice` daemon: Vietnamese announcements of calls from a voice pack.

`create(ctx)` is the daemon entry point (`motcua voice CONFIG --device ID`);
`display.voice.pack.cli_main` is `motcua voice build`.
"""
from __future__ import annotations

from typing import Any


def create(ctx: Any) -> Any:
    from display.voice.daemon import VoiceDaemon
    return VoiceDaemon(ctx)
