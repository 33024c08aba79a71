"""Voice outputs: the WAV writer's names, records and pruning; the mixer without a sound card."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from display.voice.announce import Announcement, Call
from display.voice.pack import read_wav
from display.voice.players import PlayerError, PlayerState, PygamePlayer, WavPlayer, create_player


def announcement(number: str, counter: int = 1, rate: int = 8000) -> Announcement:
    samples = (np.sin(np.arange(rate // 10) / 3) * 10000).astype(np.int16)
    return Announcement(Call(number, counter), samples, rate, [{"kind": "number", "text": number}])


def test_wav_player_writes_numbered_files_and_keeps_the_newest(tmp_path: Path) -> None:
    player = WavPlayer(tmp_path, max_files=3)
    player.open(8000)
    for n in ["2001", "A/12", "2003", "2004", "2005"]:
        out = player.play(announcement(n), {"number": n})
        assert Path(out["file"]).is_file()
    names = sorted(p.name for p in tmp_path.glob("*.wav"))
    assert names == ["000003-2003-q1.wav", "000004-2004-q1.wav", "000005-2005-q1.wav"]
    assert len(list(tmp_path.glob("*.json"))) == 3
    record = json.loads((tmp_path / "000005-2005-q1.json").read_text(encoding="utf-8"))
    assert record == {"number": "2005", "file": "000005-2005-q1.wav"}
    assert np.array_equal(read_wav(tmp_path / "000005-2005-q1.wav", 8000), announcement("2005").samples)
    again = WavPlayer(tmp_path, max_files=3)  # after a restart the numbering goes on
    again.open(8000)
    assert Path(again.play(announcement("2006"), {})["file"]).name == "000006-2006-q1.wav"


def test_wav_player_cannot_write(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    player = WavPlayer(blocker / "announcements")
    with pytest.raises(PlayerError, match="cannot create"):
        player.open(8000)
    assert player.state is PlayerState.ERROR


def test_no_sound_card_is_a_player_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import pygame
    pygame.mixer.quit()
    monkeypatch.setenv("SDL_AUDIODRIVER", "no-such-driver")
    player = PygamePlayer()
    with pytest.raises(PlayerError, match="no sound output"):
        player.open(22050)
    assert player.state is PlayerState.ERROR
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    player.open(22050)  # the card is back: the same player recovers
    assert player.state is PlayerState.READY
    player.play(announcement("1"), {})
    player.close()


def test_unknown_backend() -> None:
    with pytest.raises(ValueError, match="unknown voice backend"):
        create_player("bluetooth")
