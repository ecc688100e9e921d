"""Local realtime simulator: a sans-I/O session core plus a WebSocket adapter.

    async with rtwidget.server.serve(port=0, speed=10) as sim:
        sim.url        # ws://127.0.0.1:PORT/v1/realtime  (our client: connect(url=sim.url))
        sim.base_url   # ws://127.0.0.1:PORT/v1  (openai: AsyncOpenAI(websocket_base_url=sim.base_url))

`python -m rtwidget.server [--host 127.0.0.1] [--port 8765] [--speed 1.0] [--require-key KEY]
[--reject-beta]` prints the URL on one line and runs until Ctrl-C.

Endpoints: `/v1/realtime?model=...` (OpenAI), `/openai/v1/realtime?model=<deployment>` (Azure GA),
`/openai/realtime?deployment=...` (Azure preview), `?intent=transcription` for a transcription session;
`OpenAI-Beta: realtime=v1` selects the beta dialect. Fault injection: :class:`Faults` or `fault_*` query
parameters (see :mod:`rtwidget.server.faults`). Layers: :mod:`~rtwidget.server.core` (`SimSession`, the
state machine), :mod:`~rtwidget.server.handshake`, :mod:`~rtwidget.server.dialect` (GA <-> beta),
:mod:`~rtwidget.server.sessionconfig`, :mod:`~rtwidget.server.adapter` (websockets); the "model" parts are
:mod:`~rtwidget.server.responder`, :mod:`~rtwidget.server.voice`, :mod:`~rtwidget.server.vad`,
:mod:`~rtwidget.server.tools` and :mod:`~rtwidget.server.transcribe`.
"""

from __future__ import annotations

from rtwidget.server.adapter import Simulator, serve
from rtwidget.server.core import Close, SimSession
from rtwidget.server.faults import Faults

__all__ = ["Close", "Faults", "SimSession", "Simulator", "serve"]
