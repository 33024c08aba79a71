"""docs/operations.md stays true to the code: every command it shows parses with the real CLI."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from edge import cli
from edge.tools import bridge, devices, devtest, install, status
from hub import catalogue_import

DOC = Path(__file__).parent.parent / "docs/operations.md"
TOOL_PARSERS = {"install": install.build_parser, "status": status.build_parser, "test": devtest.build_parser,
                "devices": devices.build_parser, "bridge": bridge.build_parser,
                "catalogue": catalogue_import.build_parser}


def commands(complete: bool = True) -> list[list[str]]:
    """`motcua …` invocations in the doc: whole ones (code blocks, or inline with a config
    argument) when `complete`, else the bare mentions (`motcua install`) in the prose."""
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    inline = re.findall(r"`([^`\n]*motcua [a-z][^`\n]*)`", text)
    whole = [s for s in inline if re.search(r"…|CONFIG|/etc/", s)]
    spans = blocks + whole if complete else [s for s in inline if s not in whole]
    out = []
    for span in spans:
        for line in span.replace("\\\n", " ").splitlines():
            line = line.split("#")[0].strip()
            m = re.search(r"(?:^|/|\s)motcua ([a-z].*)$", line)
            if m and not line.startswith(("systemctl", "journalctl")):
                arg = re.sub(r"[\[\]]", "", m.group(1)).replace("…", "CONFIG")
                out.append(shlex.split(arg))
    return out


def test_the_doc_shows_commands() -> None:
    words = {argv[0] for argv in commands() + commands(complete=False)}
    assert {"install", "status", "test", "devices", "config", "voice"} <= words


@pytest.mark.parametrize("argv", commands(), ids=lambda a: " ".join(a)[:60])
def test_every_documented_command_parses(argv: list[str]) -> None:
    name = argv[0]
    if name in TOOL_PARSERS:
        TOOL_PARSERS[name]().parse_args(argv[1:])
    elif name == "voice":
        assert tuple(argv[:2]) in cli.TOOLS
    else:
        cli.build_parser().parse_args(argv)


def test_bare_mentions_name_real_commands() -> None:
    known = {w[0] for w in cli.TOOLS} | set(cli.DAEMONS) | {"config", "run", "broker"}
    mentions = commands(complete=False)
    assert mentions
    for argv in mentions:
        assert argv[0] in known, argv


def test_documented_bridge_command_parses() -> None:
    assert any(argv[0] == "bridge" for argv in commands()), "docs/operations.md shows no motcua bridge command"
