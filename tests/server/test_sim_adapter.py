"""The WebSocket adapter over real loopback sockets: handshake, close codes, faults, CLI, concurrency."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from rtwidget.server import Faults, Simulator, serve
from rtwidget.server.faults import MALFORMED_FRAME, UNKNOWN_EVENT_TYPE

TEXT_TURN = [
    {"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}},
    {
        "type": "conversation.item.create",
        "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello"}]},
    },
    {"type": "response.create"},
]


def _url(sim: Simulator, query: str = "model=gpt-realtime") -> str:
    return f"{sim.url}?{query}"


async def _recv_json(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await ws.recv())


async def _until(ws: ClientConnection, final: str) -> list[dict[str, Any]]:
    got = []
    while True:
        got.append(await _recv_json(ws))
        if got[-1]["type"] == final:
            return got


async def _closed(ws: ClientConnection) -> tuple[int | None, str | None]:
    try:
        while True:
            await ws.recv()
    except ConnectionClosed as exc:
        rcvd = exc.rcvd
    return (rcvd.code, rcvd.reason) if rcvd else (None, None)


async def test_missing_key_closes_3000():
    """With require_key, no key -> error invalid_api_key, then close 3000."""
    async with serve(require_key="sk-right") as sim, connect(_url(sim)) as ws:
        err = await _recv_json(ws)
        assert err["type"] == "error"
        assert err["error"]["code"] == "invalid_api_key"
        assert await _closed(ws) == (3000, "invalid_request_error.invalid_api_key")


async def test_wrong_key_closes_3000_without_echoing_it():
    """A wrong key is refused (close 3000) and never repeated in the message."""
    headers = {"Authorization": "Bearer sk-wrong-secret"}
    async with serve(require_key="sk-right") as sim, connect(_url(sim), additional_headers=headers) as ws:
        err = await _recv_json(ws)
        assert err["error"]["code"] == "invalid_api_key"
        assert "sk-wrong-secret" not in json.dumps(err)
        assert (await _closed(ws))[0] == 3000


async def test_right_key_in_api_key_header_is_accepted():
    """The Azure-style `api-key` header is accepted as the key."""
    async with (
        serve(require_key="sk-right") as sim,
        connect(_url(sim), additional_headers={"api-key": "sk-right"}) as ws,
    ):
        assert (await _recv_json(ws))["type"] == "session.created"


async def test_unknown_model_closes_4000(sim: Simulator):
    """An unknown model -> error invalid_model, close 4000."""
    async with connect(_url(sim, "model=gpt-nonsense")) as ws:
        assert (await _recv_json(ws))["error"]["code"] == "invalid_model"
        assert await _closed(ws) == (4000, "invalid_request_error.invalid_model")


async def test_missing_model_closes_4000(sim: Simulator):
    """No model and no intent -> error missing_model, close 4000."""
    async with connect(sim.url) as ws:
        assert (await _recv_json(ws))["error"]["code"] == "missing_model"
        assert (await _closed(ws))[0] == 4000


async def test_reject_beta_closes_4000():
    """reject_beta answers the beta header like OpenAI today: beta_api_shape_disabled, close 4000."""
    async with (
        serve(reject_beta=True) as sim,
        connect(_url(sim), additional_headers={"OpenAI-Beta": "realtime=v1"}) as ws,
    ):
        err = await _recv_json(ws)
        assert err["error"]["code"] == "beta_api_shape_disabled"
        assert await _closed(ws) == (4000, "invalid_request_error.beta_api_shape_disabled")


async def test_beta_header_selects_beta_dialect(sim: Simulator):
    """The OpenAI-Beta header makes a beta session (conversation.created follows session.created)."""
    async with connect(_url(sim), additional_headers={"OpenAI-Beta": "realtime=v1"}) as ws:
        assert [(await _recv_json(ws))["type"] for _ in range(2)] == [
            "session.created",
            "conversation.created",
        ]


async def test_azure_path_and_transcription_intent(sim: Simulator):
    """/openai/v1/realtime takes any deployment name; intent=transcription opens a transcription session."""
    base = f"ws://{sim.host}:{sim.port}"
    async with connect(f"{base}/openai/v1/realtime?model=my-deployment") as ws:
        assert (await _recv_json(ws))["session"]["model"] == "my-deployment"
    async with connect(f"{base}/v1/realtime?intent=transcription") as ws:
        assert (await _recv_json(ws))["session"]["type"] == "transcription"


async def test_unknown_path_is_http_404(sim: Simulator):
    """A path that is no realtime endpoint is refused before the upgrade."""
    with pytest.raises(InvalidStatus) as info:
        async with connect(f"ws://{sim.host}:{sim.port}/v1/chat"):
            pass
    assert info.value.response.status_code == 404


async def test_bad_input_keeps_the_socket_open(sim: Simulator):
    """Non-JSON, binary and unknown-type frames get errors; the session still answers afterwards."""
    async with connect(_url(sim)) as ws:
        await _recv_json(ws)
        await ws.send("{nope")
        await ws.send(b"\x00binary")
        await ws.send(json.dumps({"type": "nope"}))
        codes = [(await _recv_json(ws))["error"]["code"] for _ in range(3)]
        assert codes == ["invalid_json", "invalid_event", "invalid_value"]
        for event in TEXT_TURN:
            await ws.send(json.dumps(event))
        assert (await _until(ws, "response.done"))[-1]["response"]["status"] == "completed"


async def test_large_append_frame_accepted(sim: Simulator):
    """An append of ~10 MiB of audio (one ~13 MiB frame) is accepted."""
    async with connect(_url(sim), max_size=None) as ws:
        await _recv_json(ws)
        await ws.send(
            json.dumps(
                {
                    "type": "session.update",
                    "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
                }
            )
        )
        await _recv_json(ws)
        audio = base64.b64encode(bytes(10 * 2**20)).decode()
        await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))
        await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        assert (await _recv_json(ws))["type"] == "input_audio_buffer.committed"


async def test_many_concurrent_sessions(sim: Simulator):
    """Twenty sessions at once each complete their own turn with their own ids."""

    async def one(i: int) -> str:
        async with connect(_url(sim)) as ws:
            session_id = (await _recv_json(ws))["session"]["id"]
            for event in TEXT_TURN:
                await ws.send(json.dumps(event))
            done = (await _until(ws, "response.done"))[-1]
            assert done["response"]["status"] == "completed"
            return session_id

    ids = await asyncio.gather(*(one(i) for i in range(20)))
    assert len(set(ids)) == 20
    assert sim.sessions_opened == 20


async def test_fault_drop_after_n_events(sim: Simulator):
    """fault_drop_after=N aborts the TCP connection (no close frame) after N events."""
    async with connect(_url(sim, "model=gpt-realtime&fault_drop_after=2")) as ws:
        await _recv_json(ws)
        await ws.send(json.dumps(TEXT_TURN[0]))
        assert (await _recv_json(ws))["type"] == "session.updated"
        assert await _closed(ws) == (None, None)


async def test_fault_close_with_code(sim: Simulator):
    """fault_close_after / fault_close_code close cleanly with the given code and reason."""
    query = "model=gpt-realtime&fault_close_after=1&fault_close_code=4321&fault_close_reason=bye"
    async with connect(_url(sim, query)) as ws:
        assert (await _recv_json(ws))["type"] == "session.created"
        assert await _closed(ws) == (4321, "bye")


async def test_fault_frames_malformed_binary_unknown():
    """Server-wide faults inject a malformed, a binary and an unknown-type frame, then carry on."""
    faults = Faults(malformed_after=1, binary_after=1, unknown_after=1)
    async with serve(faults=faults) as sim, connect(_url(sim)) as ws:
        assert (await _recv_json(ws))["type"] == "session.created"
        assert await ws.recv() == MALFORMED_FRAME
        assert isinstance(await ws.recv(), bytes)
        assert (await _recv_json(ws))["type"] == UNKNOWN_EVENT_TYPE
        await ws.send(json.dumps(TEXT_TURN[0]))
        assert (await _recv_json(ws))["type"] == "session.updated"


async def test_fault_delay_is_applied(sim: Simulator):
    """fault_delay_ms holds each event back: a 300 ms delay is still pending after 100 ms."""
    async with connect(_url(sim, "model=gpt-realtime&fault_delay_ms=300")) as ws:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.1)
        assert (await _recv_json(ws))["type"] == "session.created"


async def test_bad_fault_parameter_is_reported(sim: Simulator):
    """An unknown fault_* parameter is an error naming it, then close 4000."""
    async with connect(_url(sim, "model=gpt-realtime&fault_explode=1")) as ws:
        err = await _recv_json(ws)
        assert "fault_explode" in err["error"]["message"]
        assert (await _closed(ws))[0] == 4000


async def test_serve_on_running_loop_reports_url():
    """serve() binds a free port on the running loop and exposes ws://host:port/v1/realtime."""
    async with serve(port=0) as sim:
        assert sim.port > 0
        assert sim.url == f"ws://127.0.0.1:{sim.port}/v1/realtime"


async def test_cli_prints_url_and_stops_on_ctrl_c():
    """`python -m rtwidget.server --port 0` prints the URL; SIGINT closes open sessions (1001), exit 0."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rtwidget.server",
        "--port",
        "0",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = (await proc.stdout.readline()).decode().strip()
        assert line.startswith("ws://127.0.0.1:")
        assert line.endswith("/v1/realtime")
        async with connect(f"{line}?model=gpt-realtime") as ws:
            assert (await _recv_json(ws))["type"] == "session.created"
            proc.send_signal(signal.SIGINT)
            assert await _closed(ws) == (1001, "")
        _, err = await proc.communicate()
        assert proc.returncode == 0, err
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.communicate()
