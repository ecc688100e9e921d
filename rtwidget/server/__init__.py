"""Local realtime simulator: a sans-I/O session core plus a WebSocket adapter.

    async with rtwidget.server.serve(port=0, speed=10) as sim:
        sim.url        # ws://127.0.0.1:PORT/v1/realtime  (our client: connect(url=sim.url))
        sim.base_url   # ws://127.0.0.1:PORT/v1  (openai: AsyncOpenAI(websocket_base_url=sim.base_url))

`python -m rtwidget.server [--host 127.0.0.1] [--port 8765] [--speed 1.0] [--require-key KEY]
[--reject-beta] [--allow-origin ORIGIN ...]` prints the URL on one line and runs until Ctrl-C. Browser
connections (an `Origin` header) are refused with HTTP 403 unless their origin is allowed
(`--allow-origin`, `serve(allow_origins=...)`).

Endpoints: `/v1/realtime?model=...` (OpenAI), `/openai/v1/realtime?model=<deployment>` (Azure GA),
`/openai/realtime?deployment=...` (Azure preview), `?intent=transcription` for a transcription session;
`OpenAI-Beta: realtime=v1` selects the beta dialect. Fault injection: :class:`Faults` or `fault_*` query
parameters (see :mod:`rtwidget.server.faults`).

Layers: :mod:`~rtwidget.server.handshake`, :mod:`~rtwidget.server.dialect` (GA <-> beta edges),
:mod:`~rtwidget.server.sessionconfig` (the server's own session rules), :mod:`~rtwidget.server.adapter`
(websockets), and :mod:`~rtwidget.server.core`'s `SimSession`, the sans-I/O state machine. `SimSession` is
split by job, one class per module, each building on the jobs it calls, bottom to top:
:mod:`~rtwidget.server.state` (shared state, timed steps, `_emit`/`_error`) <- :mod:`~rtwidget.server.items`
<- :mod:`~rtwidget.server.usage` <- :mod:`~rtwidget.server.streaming` (deltas, a response's end) <-
:mod:`~rtwidget.server.responses` (`response.create`, planning a reply) <-
:mod:`~rtwidget.server.input_audio` (buffer, VAD, commits) <- `core.SimSession` (public API, parsing,
dispatch, `session.update`). Why a stack of mixins and not collaborator objects: the jobs share one state
(the item list, the response in flight, the input timeline) and call each other on nearly every event (a VAD
turn commits an item, starts a response, cancels the last one); as collaborators each would hold a
back-reference to the session and the state would be passed around anyway. As a linear stack each module
sees only the jobs below it, which mypy checks, and a handler is still found as `SimSession._on_<type>`. The
"model" parts are :mod:`~rtwidget.server.responder`, :mod:`~rtwidget.server.voice`,
:mod:`~rtwidget.server.vad`, :mod:`~rtwidget.server.tools` and :mod:`~rtwidget.server.transcribe`.
"""

from __future__ import annotations

from rtwidget.server.adapter import Simulator, serve
from rtwidget.server.core import Close, SimSession
from rtwidget.server.faults import Faults

__all__ = ["Close", "Faults", "SimSession", "Simulator", "serve"]
