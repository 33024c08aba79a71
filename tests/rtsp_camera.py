"""A test IP camera: an RTSP server (GStreamer) serving a live H.264 test pattern.

Run with Debian's /usr/bin/python3 (it has `gi`): `rtsp_camera.py PORT WIDTHxHEIGHT FPS GOP`.
Serves rtsp://127.0.0.1:PORT/main; prints "ready" once listening; SIGTERM stops it (the
camera "goes away"); starting it again on the same port brings it back. A line on stdin
names the pattern shown from then on ("white", "ball"): a test marks a known wall-clock
moment in the footage and finds it again in an exported clip.
"""
import signal
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> None:
    port, size, fps, gop = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    w, h = size.split("x")
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f"( videotestsrc name=src is-live=true pattern=ball ! video/x-raw,width={w},height={h},framerate={fps}/1 "
        f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bitrate=800 "
        "! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1 )")
    factory.set_shared(True)
    sources = []
    factory.connect("media-configure", lambda f, media: sources.append(media.get_element().get_by_name("src")))

    def set_pattern(name: str) -> bool:
        for src in sources:
            src.set_property("pattern", name)
        return False

    def read_commands() -> None:
        for line in sys.stdin:
            if line.strip():
                GLib.idle_add(set_pattern, line.strip())

    threading.Thread(target=read_commands, name="commands", daemon=True).start()
    server.get_mount_points().add_factory("/main", factory)
    server.attach(None)
    loop = GLib.MainLoop()
    signal.signal(signal.SIGTERM, lambda *_: loop.quit())
    signal.signal(signal.SIGINT, lambda *_: loop.quit())
    GLib.timeout_add(200, lambda: True)  # let Python see signals
    print("ready", flush=True)
    loop.run()


if __name__ == "__main__":
    main()
