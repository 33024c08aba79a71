"""Map a config field path (('services', 2, 'quota')) back to the TOML line that set it.

tomllib gives values but no positions; this scanner reads the same text and records the
line of every table header and key, enough for errors a technician can act on.
"""
from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*(\]\]?)\s*(#.*)?$")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")
_INLINE_KEY = re.compile(r"""([A-Za-z0-9_-]+|"[^"]*")\s*=""")

Path = tuple[str | int, ...]


def _split_key(key: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", key)
    return [p.strip("\"'") for p in parts]


def line_map(text: str) -> dict[Path, int]:
    """Return {path: 1-based line} for every header and key in a TOML document."""
    lines: dict[Path, int] = {}
    arrays: dict[tuple[str, ...], int] = {}  # array-of-tables path -> last index
    current: Path = ()
    depth = 0  # bracket depth of a multi-line value; keys inside it are not top-level keys
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0] if '"' not in raw and "'" not in raw else raw
        if depth == 0:
            m = _HEADER.match(line)
            if m and not _KEY.match(line):
                names = _split_key(m.group(2))
                resolved: list[str | int] = []
                for i, name in enumerate(names):
                    resolved.append(name)
                    key = tuple(str(x) for x in resolved)
                    is_last = i == len(names) - 1
                    if key in arrays and not (is_last and m.group(1) == "[["):
                        resolved.append(arrays[key])
                if m.group(1) == "[[":
                    key = tuple(str(x) for x in resolved)
                    arrays[key] = arrays.get(key, -1) + 1
                    resolved.append(arrays[key])
                current = tuple(resolved)
                lines.setdefault(current, lineno)
                continue
            m = _KEY.match(line)
            if m:
                path = current + tuple(_split_key(m.group(1)))
                lines.setdefault(path, lineno)
                rest = line[m.end():]
                brace = rest.find("{")
                if brace != -1:
                    for sub in _INLINE_KEY.findall(rest[brace:]):
                        lines.setdefault(path + (sub.strip('"'),), lineno)
                depth += rest.count("[") + rest.count("{") - rest.count("]") - rest.count("}")
                depth = max(depth, 0)
                continue
        else:
            depth += line.count("[") + line.count("{") - line.count("]") - line.count("}")
            depth = max(depth, 0)
    return lines


def locate(lines: dict[Path, int], loc: Path,
           tags: frozenset[str] = frozenset()) -> tuple[int | None, Path]:
    """Best line for an error location, and the location with union tags removed."""
    best: int | None = None
    path: list[str | int] = []
    for elem in loc:
        candidate = tuple(path) + (elem,)
        if any(k[: len(candidate)] == candidate for k in lines):
            path.append(elem)
            best = lines.get(candidate, best)
        elif elem in tags and path and isinstance(path[-1], int):
            continue  # a discriminated-union tag such as 'printer' after a list index
        else:
            path.append(elem)  # a missing key, or an index into an inline array
    if best is None and path:
        for k in range(len(path), 0, -1):
            if tuple(path[:k]) in lines:
                best = lines[tuple(path[:k])]
                break
    return best, tuple(path)


def format_path(path: Path) -> str:
    out = ""
    for elem in path:
        if isinstance(elem, int):
            out += f"[{elem}]"
        else:
            out += ("." if out else "") + str(elem)
    return out or "(top level)"
