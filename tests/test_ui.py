"""edge.ui: fonts cover Vietnamese, text fits, touch/mouse de-dup, cross-thread calls, idle loop."""
from __future__ import annotations

import os
import threading
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pygame  # noqa: E402
import pytest  # noqa: E402

from edge.ui import Button, UiLoop, fit_font, font, font_path, nfc, save_screenshot, wrap_lines  # noqa: E402
from edge.ui.widgets import hit_test  # noqa: E402


@pytest.fixture()
def loop():
    lp = UiLoop(size=(600, 400))
    yield lp
    pygame.display.quit()


def _finger(kind: int, fid: int, x: float, y: float) -> pygame.event.Event:
    return pygame.event.Event(kind, finger_id=fid, touch_id=1, x=x, y=y, dx=0.0, dy=0.0, pressure=1.0)


def test_dejavu_has_every_vietnamese_glyph():
    assert font_path() and "DejaVuSans" in font_path()
    f = font(30)
    letters = nfc("ăâđêôơưáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ")
    metrics = f.metrics(letters + letters.upper())
    assert all(m is not None for m in metrics)
    # NFD input is normalised: same width as the NFC rendering
    assert font(30).size(nfc("Ư\u0300")) == font(30).size("Ừ")


def test_wrap_and_fit_stay_within_width():
    f = font(32)
    text = "Đăng ký khai sinh, kết hôn, khai tử và chứng thực bản sao từ bản chính"
    lines = wrap_lines(text, f, 300)
    assert len(lines) > 1 and all(f.size(ln)[0] <= 300 for ln in lines)
    assert " ".join(lines) == nfc(text)
    small = fit_font(text, 300, 40)
    assert small.size(nfc(text))[0] <= 300 or small.get_height() <= font(12).get_height()


def test_touch_and_synthesized_mouse_fire_once(loop):
    taps = []
    loop.on_tap = taps.append
    pygame.event.post(_finger(pygame.FINGERDOWN, 7, 0.5, 0.25))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(300, 100), button=1, touch=True))
    pygame.event.post(_finger(pygame.FINGERDOWN, 8, 0.9, 0.9))  # second finger ignored
    pygame.event.post(_finger(pygame.FINGERUP, 8, 0.9, 0.9))
    pygame.event.post(_finger(pygame.FINGERUP, 7, 0.5, 0.25))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=(300, 100), button=1, touch=True))
    loop.step(0)
    assert [(t.pos, t.source) for t in taps] == [((300, 100), "touch")]
    # a real mouse click taps too
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(10, 20), button=1, touch=False))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=(12, 20), button=1, touch=False))
    loop.step(0)
    assert [(t.pos, t.up, t.source) for t in taps[1:]] == [((10, 20), (12, 20), "mouse")]


def test_call_soon_from_other_thread_and_dirty_redraw(loop):
    seen = []
    loop.on_draw = lambda s: s.fill((255, 255, 255))
    loop.step(0)
    base = loop.redraws
    loop.step(0.01)
    assert loop.redraws == base  # not dirty: no redraw
    done = threading.Event()

    def worker():
        loop.call_soon(lambda: (seen.append(threading.current_thread().name), loop.invalidate()))
        done.set()

    th = threading.Thread(target=worker, name="mqtt-like")
    th.start()
    done.wait(2)
    loop.step(2.0)
    assert seen == [threading.main_thread().name]
    assert loop.redraws == base + 1


def test_timers_and_stop(loop):
    fired = []
    loop.call_later(0.05, lambda: fired.append("a"))
    h = loop.call_later(0.01, lambda: fired.append("cancelled"))
    h.cancel()
    loop.call_later(0.1, loop.stop)
    th = threading.Timer(5.0, loop.stop)
    th.start()
    loop.run()
    th.cancel()
    assert fired == ["a"]


def test_idle_loop_does_not_spin(loop):
    loop.on_draw = lambda s: s.fill((0, 0, 0))
    loop.step(0)
    threading.Timer(1.0, loop.stop).start()
    c0 = time.process_time()
    loop.run()
    cpu = time.process_time() - c0
    # a busy redraw loop would burn ~1 s of CPU; an event wait uses a few ms
    assert cpu < 0.25, cpu
    assert loop.redraws == 1


def test_button_hit_and_screenshot(loop, tmp_path):
    b1 = Button(pygame.Rect(10, 10, 200, 100), "Hộ tịch", value="HT")
    b2 = Button(pygame.Rect(10, 120, 200, 100), "Đất đai", value="DD", enabled=False)
    assert hit_test([b1, b2], (50, 50)) is b1
    assert hit_test([b1, b2], (50, 150)) is None
    loop.surface.fill((255, 255, 255))
    b1.draw(loop.surface)
    b2.draw(loop.surface)
    p = save_screenshot(loop.surface, tmp_path / "x" / "b.png")
    img = pygame.image.load(str(p))
    assert img.get_size() == (600, 400)
    assert img.get_at((15, 50))[:3] == b1.bg
