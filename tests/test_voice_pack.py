"""Voice packs: the espeak-ng build, a recorded pack replacing it, bad packs, the 1023 announcement."""
from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from display.voice.announce import Call, render, script
from display.voice.pack import (MANIFEST, PackError, VoicePack, build_pack, cli_main, read_wav,
                                required_keys, write_wav)


@pytest.fixture(scope="module")
def espeak_pack(tmp_path_factory: pytest.TempPathFactory) -> VoicePack:
    out = tmp_path_factory.mktemp("pack")
    assert cli_main(["--out", str(out)]) == 0
    return VoicePack.load(out)


def test_espeak_pack_is_complete_and_speaks(espeak_pack: VoicePack) -> None:
    assert espeak_pack.missing() == []
    assert espeak_pack.texts["call"] == "xin mời công dân có số thứ tự"
    assert espeak_pack.texts["to_counter"] == "đến quầy số"
    for key in required_keys():
        clip = espeak_pack.clips[key]
        assert len(clip) > espeak_pack.rate * 0.1, key  # at least 100 ms of sound
        rms = np.sqrt(np.mean((clip.astype(np.float64) / 32768) ** 2))
        if key != "chime":  # every word as loud as the others: none is lost in a call
            assert 0.08 < rms < 0.2, (key, rms)
        assert np.abs(clip.astype(np.int32)).max() < 32767, key  # not clipped
    # Different words are different recordings.
    assert not np.array_equal(espeak_pack.clips["một"], espeak_pack.clips["mốt"])
    assert cli_main(["--check", str(espeak_pack.folder)]) == 0


def _clip_starts(seq_keys: list[str], pack: VoicePack, segment_ends: set[int], repeat_ends: set[int]) -> list[int]:
    """Offsets of each clip in the joined buffer, spelled out from the manifest's gap settings."""
    gap = pack.rate * pack.manifest.gap_ms // 1000
    pause = pack.rate * pack.manifest.repeat_pause_ms // 1000
    pos, starts = 0, []
    for i, key in enumerate(seq_keys):
        starts.append(pos)
        pos += len(pack.clips[key])
        if i in repeat_ends:
            pos += pause
        elif i in segment_ends:
            pos += gap
    return starts


def test_announcement_1023_counter_3_is_one_wav_of_the_exact_clips(espeak_pack: VoicePack, tmp_path: Path) -> None:
    call = Call("1023", 3)
    ann = render(espeak_pack, script(call), 2, call)
    seq = [(s["kind"], s["text"]) for s in ann.sequence]
    one = [("chime", ""), ("phrase", "xin mời công dân có số thứ tự"),
           ("number", "một nghìn không trăm hai mươi ba"), ("phrase", "đến quầy số"), ("counter", "ba")]
    assert seq == one * 2
    keys = ["chime", "call", "một", "nghìn", "không", "trăm", "hai", "mươi", "ba", "to_counter", "ba"]
    assert [k for s in ann.sequence for k in s["clips"]] == keys * 2
    # The WAV holds exactly those clips at those places.
    path = tmp_path / "a.wav"
    write_wav(path, ann.samples, ann.rate)
    data = read_wav(path, espeak_pack.rate)
    seg_ends = {0, 1, 8, 9}  # last clip of chime, call, number, to_counter
    all_keys = keys * 2
    starts = _clip_starts(all_keys, espeak_pack, seg_ends | {11 + e for e in seg_ends}, {10})
    for key, start in zip(all_keys, starts):
        clip = espeak_pack.clips[key]
        assert np.array_equal(data[start:start + len(clip)], clip), key
    assert len(data) == starts[-1] + len(espeak_pack.clips["ba"])


def _tone(freq: float, ms: int, rate: int) -> np.ndarray:
    t = np.arange(rate * ms // 1000) / rate
    return np.sin(2 * np.pi * freq * t)


def _write_pcm(path: Path, data: np.ndarray, rate: int, width: int, channels: int) -> None:
    frames = np.repeat(data[:, None], channels, axis=1).reshape(-1)
    raw = (np.round(frames * 100 + 128).astype(np.uint8).tobytes() if width == 1
           else np.round(frames * 20000).astype("<i2").tobytes())
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(raw)


def make_recorded_pack(folder: Path, *, src_rate: int = 16000, rate: int = 8000, width: int = 2,
                       channels: int = 2, extra: dict[str, str] | None = None, ms: int = 100) -> Path:
    """A 'recorded' pack: one distinct tone per key, at another rate, stereo."""
    clips = {}
    keys = required_keys() + list(extra or {})
    for i, key in enumerate(keys):
        name = f"rec/{i}.wav"
        _write_pcm(folder / name, _tone(200 + 25 * i, ms, src_rate), src_rate, width, channels)
        clips[key] = {"file": name, "text": (extra or {}).get(key, key)}
    manifest = {"format": "motcua-voice-pack/1", "name": "recorded", "sample_rate": rate,
                "gap_ms": 10, "repeat_pause_ms": 50, "clips": clips}
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return folder


@pytest.mark.parametrize("width", [1, 2])
def test_recorded_pack_is_converted_to_the_pack_rate(tmp_path: Path, width: int) -> None:
    pack = VoicePack.load(make_recorded_pack(tmp_path, width=width))
    assert pack.missing() == []
    assert pack.rate == 8000
    assert all(len(c) == 800 for c in pack.clips.values())  # 100 ms at 8 kHz
    # The tone survives the conversion: its dominant frequency is still the one recorded.
    key = required_keys()[3]
    spectrum = np.abs(np.fft.rfft(pack.clips[key].astype(np.float64)))
    peak_hz = np.argmax(spectrum) * 8000 / 800
    assert abs(peak_hz - (200 + 25 * 3)) <= 10


def test_longer_recordings_win(tmp_path: Path) -> None:
    pack = VoicePack.load(make_recorded_pack(tmp_path, extra={"hai mươi": "hai mươi",
                                                               "một nghìn": "một nghìn"}))
    call = Call("1023", 21)
    ann = render(pack, script(call), 1, call)
    clips = [s["clips"] for s in ann.sequence]
    assert clips[2] == ["một nghìn", "không", "trăm", "hai mươi", "ba"]
    assert clips[4] == ["hai mươi", "mốt"]


def test_missing_words_are_reported_and_skipped(tmp_path: Path) -> None:
    folder = make_recorded_pack(tmp_path)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    del manifest["clips"]["nghìn"]
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    pack = VoicePack.load(folder)
    assert pack.missing() == ["nghìn"]
    assert cli_main(["--check", str(folder)]) == 1
    ann = render(pack, script(Call("1023", 3)), 1, Call("1023", 3))
    assert ann.missing == ["nghìn"]
    assert ann.sequence[2]["clips"] == ["một", "không", "trăm", "hai", "mươi", "ba"]


@pytest.mark.parametrize("mutate,message", [
    (lambda m: m.__setitem__("clips", {"chime": {"file": "nope.wav"}}), "nope.wav is missing"),
    (lambda m: m.__setitem__("clips", {"chime": {"file": "../outside.wav"}}), "outside the pack"),
    (lambda m: m.__setitem__("colour", "blue"), "colour"),
    (lambda m: m.__setitem__("format", "other/2"), "format"),
    (lambda m: m.__setitem__("sample_rate", 10), "sample_rate"),
])
def test_bad_manifests_are_clear_errors(tmp_path: Path, mutate, message: str) -> None:
    folder = make_recorded_pack(tmp_path / "p")
    (tmp_path / "outside.wav").write_bytes((folder / "rec/0.wav").read_bytes())
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    mutate(manifest)
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(PackError, match=message):
        VoicePack.load(folder)


def test_unreadable_pack_files(tmp_path: Path) -> None:
    with pytest.raises(PackError, match="no manifest.json"):
        VoicePack.load(tmp_path)
    (tmp_path / MANIFEST).write_text("{not json", encoding="utf-8")
    with pytest.raises(PackError, match="not JSON"):
        VoicePack.load(tmp_path)
    folder = make_recorded_pack(tmp_path / "p")
    (folder / "rec/0.wav").write_bytes(b"RIFF garbage")
    with pytest.raises(PackError, match="not a readable PCM WAV"):
        VoicePack.load(folder)
    assert cli_main(["--check", str(folder)]) == 1


def test_build_replaces_a_previous_build_atomically(tmp_path: Path) -> None:
    build_pack(tmp_path, dialect="south", speed=170, rate=16000)
    pack = VoicePack.load(tmp_path)
    assert pack.rate == 16000 and pack.manifest.dialect == "south"
    assert "vi-vn-x-south" in pack.manifest.name
    assert not list(tmp_path.glob("**/.*.tmp"))


@pytest.mark.parametrize("name,number,label", [
    ("Quầy A01", 1, "A01"), ("quầy B12", 5, "B12"), ("Quầy 7", 3, "7"), ("Quầy Đ2", 2, "Đ2"),
    ("Quầy 3 - Kinh doanh", 3, None), ("Quầy số 12", 12, None), ("Bàn tiếp dân", 2, None), ("", 4, None),
])
def test_counter_label_follows_the_signage(name: str, number: int, label: str | None) -> None:
    from display.voice.announce import counter_label
    assert counter_label(name, number) == label


def test_script_reads_a_lettered_counter(tmp_path: Path) -> None:
    pack = VoicePack.load(make_recorded_pack(tmp_path))
    call = Call("C118", 21, counter_label="C06")
    ann = render(pack, script(call), 1, call)
    assert [s["text"] for s in ann.sequence if s["kind"] in ("number", "counter")] == [
        "xê một trăm mười tám", "xê sáu"]


@pytest.mark.parametrize("argv,message", [
    (["--rate", "100"], "sample rate 100"), (["--speed", "5"], "speed 5"),
    (["--dialect", "south", "--call-text", " "], "must not be empty"),
])
def test_build_rejects_bad_settings(tmp_path: Path, argv: list[str], message: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["--out", str(tmp_path / "p"), *argv]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "p" / MANIFEST).exists()


@pytest.mark.parametrize("chime,kinds", [
    ("each", ["chime", "phrase", "number", "phrase", "counter"] * 2),
    ("once", ["chime", "phrase", "number", "phrase", "counter", "phrase", "number", "phrase", "counter"]),
    ("none", ["phrase", "number", "phrase", "counter"] * 2),
])
def test_chime_each_once_or_never(tmp_path: Path, chime: str, kinds: list[str]) -> None:
    pack = VoicePack.load(make_recorded_pack(tmp_path))
    call = Call("7", 1)
    ann = render(pack, script(call), 2, call, chime)
    assert [s["kind"] for s in ann.sequence] == kinds
    clip_samples = sum(len(pack.clips[k]) for s in ann.sequence for k in s["clips"])
    gaps = (len(kinds) - 2) * pack.rate * pack.manifest.gap_ms // 1000
    assert len(ann.samples) == clip_samples + gaps + pack.rate * pack.manifest.repeat_pause_ms // 1000
