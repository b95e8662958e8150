#!/usr/bin/python3
"""A real RTSP server for svcard's RTSP ALG test: GStreamer's RTSP server library
(gst-rtsp-server, Debian gir1.2-gst-rtsp-server-1.0) serving one stream, /test, of
L16 audio (a test tone) over RTP. UDP unicast only, so the media needs the pinholes the
ALG opens from SETUP.

usage: rtsp_server.py ADDRESS PORT
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

Gst.init(None)
address, port = sys.argv[1], sys.argv[2]
server = GstRtspServer.RTSPServer()
server.set_address(address)
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    "( audiotestsrc is-live=true wave=sine freq=440 "
    "! audio/x-raw,rate=8000,channels=1 ! audioconvert ! rtpL16pay name=pay0 pt=96 )"
)
factory.set_shared(False)
factory.set_protocols(GstRtsp.RTSPLowerTrans.UDP)
server.get_mount_points().add_factory("/test", factory)
if server.attach(None) == 0:
    sys.exit("cannot listen")
print(f"listening on {address}:{port}", flush=True)
GLib.MainLoop().run()
