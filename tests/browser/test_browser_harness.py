"""The browser harness itself works: anywidget, binary buffers, AudioWorklet and kernel round trips."""

from __future__ import annotations

import pytest
from conftest import NotebookOpener
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# A tiny anywidget defined in the cell itself: a counter synced both ways, and a ready handshake after
# which Python sends 0.25 s of PCM16 that the page plays through an AudioWorklet (docs/testing.md).
PROBE = r'''
import anywidget, numpy as np, traitlets

class Probe(anywidget.AnyWidget):
    _esm = """
const WORKLET = `registerProcessor("probe", class extends AudioWorkletProcessor {
  constructor() { super(); this.pcm = new Float32Array(0); this.pos = 0;
    this.port.onmessage = (e) => { this.pcm = e.data; this.pos = 0; }; }
  process(inputs, outputs) {
    const out = outputs[0][0];
    for (let i = 0; i < out.length && this.pos < this.pcm.length; i++) out[i] = this.pcm[this.pos++];
    this.port.postMessage(this.pos);
    return true; } });`;
export default { render({ model, el }) {
  const btn = document.createElement("button"); btn.className = "probe-btn"; el.append(btn);
  const echo = document.createElement("div"); echo.className = "probe-echo"; el.append(echo);
  const played = document.createElement("div"); played.className = "probe-played"; el.append(played);
  const sync = () => {
    btn.textContent = `count ${model.get("value")}`; echo.textContent = model.get("echo"); };
  sync(); model.on("change:value", sync); model.on("change:echo", sync);
  btn.onclick = () => { model.set("value", model.get("value") + 1); model.save_changes(); };
  model.on("msg:custom", async (msg, buffers) => {
    const dv = buffers[0];
    const pcm16 = new Int16Array(dv.buffer.slice(dv.byteOffset, dv.byteOffset + dv.byteLength));
    const samples = Float32Array.from(pcm16, (s) => s / 32768);
    const ctx = new AudioContext({ sampleRate: msg.rate_hz });
    await ctx.audioWorklet.addModule(URL.createObjectURL(new Blob([WORKLET], { type: "text/javascript" })));
    const node = new AudioWorkletNode(ctx, "probe");
    node.port.onmessage = (e) => { played.dataset.samples = e.data; };
    node.port.postMessage(samples, [samples.buffer]);
    node.connect(ctx.destination);
  });
  model.send({ type: "ready" });
} };
"""
    value = traitlets.Int(0).tag(sync=True)
    echo = traitlets.Unicode("").tag(sync=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.on_msg(self._on_custom)

    @traitlets.observe("value")
    def _on_value(self, change):
        self.echo = f"python saw {change['new']}"

    def _on_custom(self, widget, content, buffers):
        if content.get("type") == "ready":
            t = np.arange(6000) / 24000
            pcm = (8000 * np.sin(2 * np.pi * 440 * t)).astype("<i2")
            self.send({"type": "pcm", "rate_hz": 24000}, [pcm.tobytes()])

probe = Probe(value=41)
probe
'''


def test_anywidget_round_trip_and_worklet_audio(open_notebook: NotebookOpener) -> None:
    """A cell-defined anywidget renders, syncs a click to Python and back, and plays PCM16 in a worklet."""
    nb = open_notebook([PROBE])
    nb.run_all()
    page = nb.page
    expect(page.locator(".probe-btn")).to_have_text("count 41")
    page.wait_for_function("() => +document.querySelector('.probe-played')?.dataset.samples >= 6000")
    page.click(".probe-btn")
    expect(page.locator(".probe-echo")).to_have_text("python saw 42")
    assert nb.kernel_json("probe.value") == 42


def test_kernel_helper_reports_python_errors(open_notebook: NotebookOpener) -> None:
    """The harness's kernel helper returns stdout and turns a Python exception into a test failure."""
    nb = open_notebook(["x = 6 * 7"])
    nb.run_all()
    assert nb.kernel("print(x)").strip() == "42"
    with pytest.raises(AssertionError, match="ZeroDivisionError"):
        nb.kernel("1 / 0")


def test_cell_errors_are_reported(open_notebook: NotebookOpener) -> None:
    """A cell that raises is caught by run_all with its exception text."""
    nb = open_notebook(["raise ValueError('boom from a cell')"])
    with pytest.raises(AssertionError, match="ValueError: boom from a cell"):
        nb.run_all()
