"""Local realtime simulator: a sans-I/O session core plus a WebSocket adapter.

    async with rtwidget.server.serve(port=0) as sim:
        print(sim.url)   # ws://127.0.0.1:PORT/v1/realtime

`python -m rtwidget.server` runs it from the command line.
"""

from __future__ import annotations

from rtwidget.server.adapter import Simulator, serve
from rtwidget.server.core import Close, SimSession
from rtwidget.server.faults import Faults

__all__ = ["Close", "Faults", "SimSession", "Simulator", "serve"]
