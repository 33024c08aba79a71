"""A soft Code 128 reader for one averaged scanline whose narrowest bars blur away.

zxing needs every element's edge; a 2 px module under defocus and shake leaves the narrow
bars and spaces as shallow dips that no threshold keeps. This reader uses what is left:
knowing the symbology (11 modules a symbol, a start, a mod-103 check, the stop), it
estimates the module width, renders each of the 107 patterns blurred like the scanline,
and picks for every symbol the pattern that fits its stretch of grey best, letting each
symbol slide and stretch a little (perspective changes the module width along the code).
Only a sequence that starts right, passes the check and ends in the stop is returned; the
caller also insists on a dossier code and on two separate scanlines agreeing.
"""
from __future__ import annotations

from typing import Any

#: Element widths (bar, space, ...) of values 0-105 and the stop's first 11 modules (ISO/IEC 15417).
_TABLE = (
    "212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 221312 231212 "
    "112232 122132 122231 113222 123122 123221 223211 221132 221231 213212 223112 312131 "
    "311222 321122 321221 312212 322112 322211 212123 212321 232121 111323 131123 131321 "
    "112313 132113 132311 211313 231113 231311 112133 112331 132131 113123 113321 133121 "
    "313121 211331 231131 213113 213311 213131 311123 311321 331121 312113 312311 332111 "
    "314111 221411 431111 111224 111422 121124 121421 141122 141221 112214 112412 122114 "
    "122411 142112 142211 241211 221114 413111 241112 134111 111242 121142 121241 114212 "
    "124112 124211 411212 421112 421211 212141 214121 412121 111143 111341 131141 114113 "
    "114311 411113 411311 113141 114131 311141 411131 211412 211214 211232 233111"
).split()
START_A, START_B, START_C, STOP = 103, 104, 105, 106
SHIFTS = (-0.3, 0.0, 0.3)                 # modules a symbol may slide
STRETCH = (0.97, 1.0, 1.03)                # module width change a symbol may take


def _modules(widths: str) -> list[int]:
    """'212222' -> [1,1,0,1,1,0,0,1,1,0,0] (1 = bar)."""
    out: list[int] = []
    for i, w in enumerate(widths):
        out += [1 - i % 2] * int(w)
    return out


PATTERNS = [_modules(w) for w in _TABLE]


def _render(m: float, sigma: float, length: int) -> Any:
    """Every pattern drawn at ``m`` px a module (0 bar, 1 space) and blurred, ``length`` samples."""
    import numpy as np

    x = (np.arange(length, dtype=np.float32) + 0.5) / m
    out = np.ones((len(PATTERNS), length), np.float32)
    for v, mods in enumerate(PATTERNS):
        idx = np.clip(x.astype(int), 0, 10)
        out[v] = 1.0 - np.array(mods, np.float32)[idx] * (x < 11)
    if sigma > 0.3:
        import cv2
        out = cv2.GaussianBlur(out, (0, 0), sigmaX=sigma, sigmaY=0.01, borderType=cv2.BORDER_REPLICATE)
    return out


def text_of(values: list[int]) -> str | None:
    """Code 128 values (start .. data, without check and stop) -> text; None if impossible."""
    if not values or values[0] not in (START_A, START_B, START_C):
        return None
    code = {START_A: "A", START_B: "B", START_C: "C"}[values[0]]
    out = []
    shift = False
    for v in values[1:]:
        cur = ("B" if code == "A" else "A") if shift else code
        shift = False
        if cur == "C":
            if v < 100:
                out.append(f"{v:02d}")
            elif v == 100:
                code = "B"
            elif v == 101:
                code = "A"
            else:
                return None
            continue
        if v < 96:
            if cur == "B":
                out.append(chr(32 + v))
            else:
                out.append(chr(32 + v) if v < 64 else chr(v - 64))
        elif v == 98:
            shift = True
        elif v == 99:
            code = "C"
        elif v in (100, 101):
            target = "B" if v == 100 else "A"
            if target == cur:
                return None       # FNC4 is not on receipts
            code = target
        else:
            return None           # FNC1-3: not on receipts
    return "".join(out)


def read_profile(profile: Any) -> str | None:
    """Text of the Code 128 in one scanline profile (dark = bars), or None."""
    import cv2
    import numpy as np

    p = np.asarray(profile, np.float32)
    k = np.ones((1, 41), np.uint8)
    hi = cv2.GaussianBlur(cv2.dilate(p[None, :], k), (0, 0), 8)[0]
    lo = cv2.GaussianBlur(cv2.erode(p[None, :], k), (0, 0), 8)[0]
    floor = 0.3 * float(p.max() - p.min())
    flat = (hi - lo) < floor       # the quiet zones: no bar nearby, judged against the whole line
    q = np.where(flat, (p - p.min()) / max(float(p.max() - p.min()), 1.0), (p - lo) / np.maximum(hi - lo, 1.0))
    q = np.clip(q, 0, 1)
    dark = np.nonzero(q < 0.5)[0]
    if len(dark) < 20:
        return None
    gaps = np.diff(dark)
    # the code: the widest run of dark pixels without a gap longer than a quiet zone
    cuts = np.nonzero(gaps > 30)[0]
    starts = np.concatenate([[0], cuts + 1])
    ends = np.concatenate([cuts, [len(dark) - 1]])
    best = int(np.argmax(dark[ends] - dark[starts]))
    x0, x1 = float(dark[starts[best]]), float(dark[ends[best]] + 1)
    width = x1 - x0
    # the symbol count fixes the module width; the counts whose width fits a start pattern best
    fits = []
    for n_sym in range(4, 80):
        m = width / (11 * n_sym + 2)
        if 2.0 <= m <= 16.0:
            fits.append((_start_error(q, x0, m), n_sym, m))
    for _, n_sym, m in sorted(fits)[:3]:
        for sigma_m in (0.45, 0.75):
            text = _match(q, x0, m, n_sym, sigma_m * m)
            if text is not None:
                return text
    return None


def _start_error(q: Any, x0: float, m: float) -> float:
    """How badly the first symbol, read at ``m`` px a module, fits the nearest start pattern."""
    import numpy as np

    a, n = int(x0), int(round(11 * m))
    if a + n > len(q):
        return float("inf")
    seg = q[a:a + n]
    idx = np.clip(((np.arange(n, dtype=np.float32) + 0.5) / m).astype(int), 0, 10)
    return min(float(((1.0 - np.array(PATTERNS[v], np.float32)[idx] - seg) ** 2).mean())
               for v in (START_A, START_B, START_C))


def _match(q: Any, x0: float, m: float, n_sym: int, sigma: float) -> str | None:
    import numpy as np

    length = int(np.ceil(11 * m * max(STRETCH))) + 1
    templates = {s: _render(m * s, sigma, length) for s in STRETCH}
    values: list[int] = []
    x = x0
    for j in range(n_sym):
        best, best_v, best_next = np.inf, -1, x + 11 * m
        for s in STRETCH:
            seg_len = int(round(11 * m * s))
            tpl = templates[s][:, :seg_len]
            for d in SHIFTS:
                a = int(round(x + d * m))
                if a < 0 or a + seg_len > len(q):
                    continue
                seg = q[a:a + seg_len]
                err = ((tpl - seg) ** 2).mean(axis=1)
                if j == 0:
                    err[:START_A] = np.inf          # the first symbol is a start
                if j == n_sym - 1:
                    err[:STOP] = np.inf             # the last one is the stop
                else:
                    err[STOP] = np.inf
                v = int(np.argmin(err))
                if err[v] < best:
                    best, best_v, best_next = float(err[v]), v, a + seg_len
        if best_v < 0:
            return None
        values.append(best_v)
        x = best_next
    if len(values) < 4 or values[-1] != STOP:
        return None
    data, check = values[:-2], values[-2]
    if (data[0] + sum(i * v for i, v in enumerate(data[1:], start=1))) % 103 != check:
        return None
    return text_of(data)
