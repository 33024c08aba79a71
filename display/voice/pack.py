"""Voice packs: a folder of WAV clips plus manifest.json, and `motcua voice build`.

A pack holds the chime, the two phrases of a call and every word the number reader can
produce. The espeak-ng build lets an office without recordings work offline; a recorded
pack with the same manifest keys replaces it (any sample rate, mono or stereo, 8/16/24/32-bit
PCM: clips are converted to the pack's rate on load). Keys may also name several words
("hai mươi", even "một nghìn"): the composer takes the longest recorded match.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import unicodedata
import wave
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from display.voice.numbers import all_words

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT = "motcua-voice-pack/1"
CALL_TEXT = "xin mời công dân có số thứ tự"
COUNTER_TEXT = "đến quầy số"
#: A recall says it is one: the second call of a ticket, the third, and any after that.
RECALL_TEXTS: dict[str, str] = {
    "recall": "xin mời lần thứ hai công dân có số thứ tự",
    "recall_3": "xin mời lần thứ ba công dân có số thứ tự",
    "recall_again": "xin mời lại công dân có số thứ tự",
}
#: The shortest form, for a speaker far behind: "xin mời số … đến quầy …".
TERSE_TEXTS: dict[str, str] = {"call_short": "xin mời số", "number_short": "số",
                               "recall_short": "xin mời lại số", "to_counter_short": "đến quầy"}
#: Phrase keys every pack needs besides the words.
PHRASES: dict[str, str] = {"call": CALL_TEXT, "to_counter": COUNTER_TEXT, **RECALL_TEXTS, **TERSE_TEXTS}
ESPEAK_VOICES = {"north": "vi", "south": "vi-vn-x-south"}
#: What espeak-ng is given for keys it would mispronounce: alone, "gi" (the name of J) is
#: read as a bare consonant; "di" sounds the same (/zi/) and has its vowel.
ESPEAK_SAY = {"gi": "di"}
SPEECH_RMS = 0.13  # loudness every espeak clip is brought to (fraction of full scale)


class PackError(Exception):
    """A pack that cannot be used: missing, unreadable or malformed (the message says which)."""


class ClipEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str = Field(min_length=1, description="WAV file, relative to the pack folder")
    text: str = Field("", description="What the clip says (NFC), for people and records")


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: str = Field(FORMAT, pattern=r"^motcua-voice-pack/1$")
    name: str = "unnamed pack"
    source: str = ""
    dialect: str = "north"
    sample_rate: int = Field(22050, ge=8000, le=96000, description="Rate announcements are assembled at")
    gap_ms: int = Field(40, ge=0, le=2000, description="Silence between segments")
    repeat_pause_ms: int = Field(800, ge=0, le=5000, description="Silence between repetitions")
    clips: dict[str, ClipEntry]


def required_keys() -> list[str]:
    return ["chime", *PHRASES, *all_words()]


# ------------------------------------------------------------------------ WAV input/output


def read_wav(path: Path, rate: int) -> np.ndarray:
    """A WAV file as mono int16 samples at `rate` (converted when it differs)."""
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, src_rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError, OSError) as exc:
        raise PackError(f"{path}: not a readable PCM WAV file ({exc})") from None
    if width == 1:
        data = (np.frombuffer(raw, np.uint8).astype(np.float64) - 128.0) / 128.0
    elif width == 2:
        data = np.frombuffer(raw, "<i2").astype(np.float64) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        data = np.where(v >= 1 << 23, v - (1 << 24), v).astype(np.float64) / float(1 << 23)
    elif width == 4:
        data = np.frombuffer(raw, "<i4").astype(np.float64) / float(1 << 31)
    else:
        raise PackError(f"{path}: {8 * width}-bit samples are not supported")
    if channels > 1:
        data = data[: len(data) // channels * channels].reshape(-1, channels).mean(axis=1)
    if src_rate != rate and len(data):
        n = max(1, round(len(data) * rate / src_rate))
        data = np.interp(np.arange(n) * (src_rate / rate), np.arange(len(data)), data)
    return np.clip(np.round(data * 32768.0), -32768, 32767).astype(np.int16)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """Write mono int16 samples atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    os.replace(tmp, path)


def write_json(path: Path, data: object) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


# ------------------------------------------------------------------------ loading


class VoicePack:
    """A loaded pack: every clip as mono int16 at the pack's rate, ready to join."""

    def __init__(self, folder: Path, manifest: Manifest, clips: dict[str, np.ndarray]) -> None:
        self.folder = folder
        self.manifest = manifest
        self.rate = manifest.sample_rate
        self.clips = clips
        self.texts = {k: unicodedata.normalize("NFC", e.text) for k, e in manifest.clips.items()}
        self._longest = max((len(k.split()) for k in clips), default=1)

    @classmethod
    def load(cls, folder: Path | str) -> "VoicePack":
        folder = Path(folder)
        mpath = folder / MANIFEST
        if not mpath.is_file():
            raise PackError(f"{folder}: no {MANIFEST} (build one with `motcua voice build`)")
        try:
            manifest = Manifest.model_validate(json.loads(mpath.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PackError(f"{mpath}: not JSON ({exc})") from None
        except ValidationError as exc:
            lines = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise PackError(f"{mpath}: {lines}") from None
        clips: dict[str, np.ndarray] = {}
        for key, entry in manifest.clips.items():
            path = (folder / entry.file).resolve()
            if folder.resolve() not in path.parents:
                raise PackError(f"{mpath}: clip {key!r} points outside the pack ({entry.file})")
            if not path.is_file():
                raise PackError(f"{mpath}: clip {key!r}: file {entry.file} is missing")
            clips[unicodedata.normalize("NFC", key)] = read_wav(path, manifest.sample_rate)
        return cls(folder, manifest, clips)

    def missing(self) -> list[str]:
        """Required keys this pack has no clip for."""
        return [k for k in required_keys() if k not in self.clips]

    def match(self, words: list[str]) -> tuple[list[str], list[str]]:
        """Clip keys for a run of words, longest recorded match first; and the words with no clip."""
        keys: list[str] = []
        missing: list[str] = []
        i = 0
        while i < len(words):
            for j in range(min(len(words), i + self._longest), i, -1):
                key = " ".join(words[i:j])
                if key in self.clips:
                    keys.append(key)
                    i = j
                    break
            else:
                missing.append(words[i])
                i += 1
        return keys, missing

    def silence(self, ms: int) -> np.ndarray:
        return np.zeros(self.rate * ms // 1000, dtype=np.int16)


# ------------------------------------------------------------------------ building


def chime(rate: int) -> np.ndarray:
    """A two-note "ding-dong" (E5 then C5) with a bell-like decay."""
    parts = []
    for freq in (659.25, 523.25):
        t = np.arange(int(rate * 0.55)) / rate
        tone = (np.sin(2 * np.pi * freq * t) + 0.35 * np.sin(4 * np.pi * freq * t)
                + 0.12 * np.sin(6 * np.pi * freq * t))
        envelope = np.exp(-t * 5.0) * np.minimum(1.0, t / 0.005)
        parts.append(tone * envelope)
    data = np.concatenate(parts)
    return np.round(data / np.abs(data).max() * 0.6 * 32767).astype(np.int16)


def trim(samples: np.ndarray, rate: int, threshold: int = 300, margin_ms: int = 15) -> np.ndarray:
    """Cut the silence espeak-ng leaves around a word, keeping a short margin."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    if not len(loud):
        return samples
    margin = rate * margin_ms // 1000
    return samples[max(0, loud[0] - margin): loud[-1] + margin + 1]


def normalize(samples: np.ndarray, rms: float = SPEECH_RMS, peak: float = 0.95) -> np.ndarray:
    """Bring a clip to a common loudness so no word of a call is quieter than the rest."""
    data = samples.astype(np.float64) / 32768.0
    level = float(np.sqrt(np.mean(data ** 2))) if len(data) else 0.0
    top = float(np.abs(data).max()) if len(data) else 0.0
    if level <= 1e-4:
        return samples
    gain = min(rms / level, peak / top)
    return np.clip(np.round(data * gain * 32768.0), -32768, 32767).astype(np.int16)


def slug(text: str) -> str:
    """ASCII file-name part for a Vietnamese text ("mốt" -> "mot")."""
    base = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_text = "".join(c for c in base if c.isascii() and (c.isalnum() or c == " "))
    return "-".join(ascii_text.lower().split()) or "x"


def espeak(text: str, out: Path, voice: str, speed: int) -> None:
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise PackError("espeak-ng is not installed (Debian package espeak-ng)")
    proc = subprocess.run([binary, "-v", voice, "-s", str(speed), "-w", str(out), text],
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0 or not out.is_file():
        raise PackError(f"espeak-ng failed on {text!r}: {proc.stderr.strip() or proc.returncode}")


def build_pack(out: Path | str, *, dialect: str = "north", speed: int = 140, rate: int = 22050,
               call_text: str = CALL_TEXT, counter_text: str = COUNTER_TEXT) -> Path:
    """Build an espeak-ng pack into `out` (replacing a previous espeak build there).

    The clips are written first and the manifest last, so a half-built pack never loads.
    """
    if dialect not in ESPEAK_VOICES:
        raise PackError(f"unknown dialect {dialect!r}: north or south")
    if not 8000 <= rate <= 96000:
        raise PackError(f"sample rate {rate} is outside 8000..96000 Hz")
    if not 80 <= speed <= 450:
        raise PackError(f"speed {speed} is outside 80..450 words per minute")
    if not call_text.strip() or not counter_text.strip():
        raise PackError("the call and counter phrases must not be empty")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    voice = ESPEAK_VOICES[dialect]
    texts: dict[str, str] = {"call": unicodedata.normalize("NFC", call_text),
                             "to_counter": unicodedata.normalize("NFC", counter_text), **RECALL_TEXTS,
                             **TERSE_TEXTS}
    texts.update({w: w for w in all_words()})
    entries: dict[str, dict[str, str]] = {}
    write_wav(out / "chime.wav", chime(rate), rate)
    entries["chime"] = {"file": "chime.wav", "text": ""}
    with tempfile.TemporaryDirectory(prefix="motcua-voice-") as tmp:
        for i, (key, text) in enumerate(texts.items()):
            raw = Path(tmp) / f"{i}.wav"
            espeak(ESPEAK_SAY.get(text, text), raw, voice, speed)
            name = f"clips/{i:03d}-{slug(key)}.wav"
            write_wav(out / name, normalize(trim(read_wav(raw, rate), rate)), rate)
            entries[key] = {"file": name, "text": text}
    version = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout.strip()
    manifest = Manifest(name=f"espeak-ng {voice}", source=version, dialect=dialect, sample_rate=rate,
                        clips={k: ClipEntry(**v) for k, v in entries.items()})
    write_json(out / MANIFEST, manifest.model_dump())
    log.info("voice pack with %d clips written to %s", len(entries), out)
    return out


def default_pack_dir(data_dir: Path | str | None = None) -> Path:
    return Path(data_dir or os.environ.get("MOTCUA_DATA", "var/office")) / "voice"


def cli_main(argv: list[str]) -> int:
    """`motcua voice build`: make an espeak-ng voice pack (works offline)."""
    ap = argparse.ArgumentParser(prog="motcua voice build",
                                 description="Build a Vietnamese voice pack with espeak-ng")
    ap.add_argument("--out", default=None, help="pack folder (default DATA/voice; DATA is MOTCUA_DATA or ./var/office)")
    ap.add_argument("--data", default=None, help="state folder (default MOTCUA_DATA or ./var/office)")
    ap.add_argument("--dialect", choices=sorted(ESPEAK_VOICES), default="north", help="espeak-ng voice")
    ap.add_argument("--speed", type=int, default=140, help="words per minute (espeak-ng -s)")
    ap.add_argument("--rate", type=int, default=22050, help="sample rate of the pack")
    ap.add_argument("--call-text", default=CALL_TEXT, help="the phrase before the number")
    ap.add_argument("--counter-text", default=COUNTER_TEXT, help="the phrase before the counter")
    ap.add_argument("--check", metavar="DIR", default=None, help="only load and check an existing pack")
    args = ap.parse_args(argv)
    try:
        if args.check:
            pack = VoicePack.load(args.check)
            missing = pack.missing()
            print(f"{args.check}: {len(pack.clips)} clips at {pack.rate} Hz"
                  + (f"; missing: {', '.join(missing)}" if missing else "; complete"))
            return 1 if missing else 0
        out = Path(args.out) if args.out else default_pack_dir(args.data)
        build_pack(out, dialect=args.dialect, speed=args.speed, rate=args.rate,
                   call_text=args.call_text, counter_text=args.counter_text)
    except PackError as exc:
        print(f"motcua voice build: {exc}", file=sys.stderr)
        return 1
    print(f"voice pack written to {out}")
    return 0
