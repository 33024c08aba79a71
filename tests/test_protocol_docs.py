"""docs/protocol.md and edge/protocol.py describe the same contract, and it is PROTOCOL.md's."""
from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from edge import protocol as P

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
SHARED = ROOT.parent / "shared" / "PROTOCOL.md"


def topic_patterns() -> dict[str, str]:
    """Every topic builder of Topics, with its parameters left as {placeholders}."""
    t = P.Topics("OFFICE")
    out: dict[str, str] = {}
    for name, member in inspect.getmembers(P.Topics):
        if name.startswith("_") or name in ("office", "root", "counter_from_topic", "last_level"):
            continue
        if isinstance(member, property):
            out[name] = getattr(t, name)
        elif callable(member):
            params = [p for p in inspect.signature(member).parameters if p != "self"]
            if name == "ticket_event":
                out[name] = t.ticket_event("issued").rsplit("/", 1)[0] + "/{action}"
                continue
            if name in ("event",):  # generic builder: each use is documented by its own name
                continue
            try:
                out[name] = member(t, *[f"{{{p}}}" for p in params])
            except ValueError:
                continue
    return {k: v.replace("motcua/v1/OFFICE", "motcua/v1/{office}") for k, v in out.items()}


@pytest.mark.parametrize("name,pattern", sorted(topic_patterns().items()))
def test_every_topic_builder_is_documented(name, pattern):
    wildcard = pattern.replace("+", "{")  # wildcard subscriptions are documented by their concrete form
    if "+" in pattern:
        prefix = pattern.split("+")[0]
        assert prefix in DOC, f"{name}: no topic under {prefix} in docs/protocol.md"
    else:
        assert pattern.rstrip("/") in DOC, f"{name}: {pattern} is not in docs/protocol.md"
    assert wildcard


def test_error_codes_match_the_doc():
    for code in P.ERROR_CODES:
        assert f"`{code}`" in DOC


@pytest.mark.skipif(not SHARED.exists(), reason="shared/PROTOCOL.md is not beside the checkout")
def test_docs_protocol_carries_every_line_of_the_normative_contract():
    doc_lines = set(DOC.splitlines())
    missing = [ln for ln in SHARED.read_text(encoding="utf-8").splitlines()
               if ln.strip() and not ln.startswith("# Office MQTT protocol") and ln not in doc_lines]
    assert not missing, f"docs/protocol.md drifted from PROTOCOL.md: {missing[:5]}"
