// @ts-check
/**
 * rtwidget console, part 1 of 4: microphone capture (widget.py joins this file, conversation.js, latency.js and
 * widget.js into the one ES module anywidget loads; this part defines, widget.js renders and exports).
 *
 * One Capture per widget: getUserMedia (echo cancellation, noise suppression and automatic gain on by default),
 * a capture AudioContext at whatever rate the device runs (Firefox does not honour `sampleRate` on a context fed
 * by a microphone, Chrome resamples silently: either way we resample ourselves), and an AudioWorklet that
 * low-pass filters and resamples to the session's input rate (the `mic_rate` trait: 24 kHz for PCM16, 8 kHz for
 * G.711) with a windowed-sinc kernel, and posts PCM16 chunks of the `mic_chunk_ms` trait (read when capture
 * starts). Chunks go to the kernel as binary buffers ({type: "mic", rate}); the kernel sends
 * input_audio_buffer.append (rtwidget/widget/voice.py).
 * The worklet also measures the input level (RMS) for the meter, whether chunks are sent or not.
 *
 * No ScriptProcessor fallback: without AudioWorklet (or getUserMedia, or a secure page) the console refuses
 * with a message naming the cause and the fix (micProblem / micErrorText).
 */

const LEVEL_REPORT_S = 0.05;

// Capture worklet: input at the context's rate -> windowed-sinc low-pass + resampling -> PCM16 chunks.
const CAPTURE_WORKLET_SRC = `
class RtCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options.processorOptions || {};
    this.chunkMs = o.chunkMs;
    this.active = false;
    this.inCount = 0; this.outCount = 0;
    this.sum2 = 0; this.count = 0; this.lastLevel = 0;
    this.buf = new Float32Array(1 << 15);
    this.setRate(o.outRate || 24000);
    this.port.onmessage = (e) => this.onmsg(e.data);
  }
  setRate(outRate) {
    this.outRate = outRate;
    this.step = sampleRate / outRate;                 // input samples per output sample
    this.fc = Math.min(1, outRate / sampleRate) * 0.9; // cutoff, as a fraction of the input's Nyquist
    this.half = this.step === 1 ? 0 : Math.ceil(8 / this.fc);  // kernel half-width: 8 zero crossings
    this.len = this.half;                              // history starts as silence
    this.buf.fill(0, 0, this.len);
    this.t = this.half;                                // input position of the next output sample
    this.chunk = new Int16Array(Math.round(outRate * this.chunkMs / 1000));
    this.n = 0;
  }
  onmsg(m) {
    if (m.cmd === "active") {
      if (!m.on && this.active) this.post(true);
      if (m.on && !this.active) { this.inCount = 0; this.outCount = 0; }
      this.active = m.on;
      this.n = 0;
    } else if (m.cmd === "rate" && m.outRate !== this.outRate) {
      if (this.active) this.post(false);
      this.setRate(m.outRate);
    }
  }
  post(last) {
    const pcm = this.chunk.slice(0, this.n);
    this.outCount += this.n;
    this.port.postMessage({ type: "chunk", pcm, rate: this.outRate, last,
      inMs: 1000 * this.inCount / sampleRate, outMs: 1000 * this.outCount / this.outRate, ctxRate: sampleRate }, [pcm.buffer]);
    this.n = 0;
  }
  emit(y) {
    if (!this.active) return;
    const v = y < -1 ? -1 : y > 1 ? 1 : y;
    this.chunk[this.n++] = v < 0 ? Math.round(v * 32768) : Math.round(v * 32767);
    if (this.n === this.chunk.length) this.post(false);
  }
  process(inputs) {
    const x = inputs[0] && inputs[0][0];
    if (!x) return true;
    if (this.active) this.inCount += x.length;
    for (let i = 0; i < x.length; i++) { this.sum2 += x[i] * x[i]; }
    this.count += x.length;
    if (currentTime - this.lastLevel >= ${LEVEL_REPORT_S}) {
      this.port.postMessage({ type: "level", rms: Math.sqrt(this.sum2 / Math.max(1, this.count)) });
      this.sum2 = 0; this.count = 0; this.lastLevel = currentTime;
    }
    if (this.step === 1) { for (let i = 0; i < x.length; i++) this.emit(x[i]); return true; }
    if (this.len + x.length > this.buf.length) {           // keep only the history the kernel needs
      const keep = this.buf.slice(Math.floor(this.t) - this.half, this.len);
      this.t -= Math.floor(this.t) - this.half;
      this.buf.set(keep); this.len = keep.length;
    }
    this.buf.set(x, this.len);
    this.len += x.length;
    const N = this.half, fc = this.fc, b = this.buf;
    while (this.t + N < this.len) {
      const i0 = Math.floor(this.t);
      let y = 0;
      for (let k = i0 - N + 1; k <= i0 + N; k++) {
        const d = this.t - k;
        const a = Math.PI * fc * d;
        const sinc = a === 0 ? 1 : Math.sin(a) / a;
        y += b[k] * fc * sinc * (0.5 + 0.5 * Math.cos(Math.PI * d / N));
      }
      this.emit(y);
      this.t += this.step;
    }
    return true;
  }
}
registerProcessor("rt-capture", RtCapture);
`;

/**
 * Why the microphone cannot work on this page, before asking for it ("" when nothing stands in the way).
 * @returns {string}
 */
function micProblem() {
  if (!globalThis.isSecureContext) {
    return `the microphone needs a secure page (https, or http://localhost / 127.0.0.1), and this page is ${location.origin}: `
      + "open Jupyter on localhost (e.g. an ssh tunnel: ssh -L 8888:localhost:8888 <host>) or behind https";
  }
  if (!navigator.mediaDevices?.getUserMedia) return "this browser offers no microphone API (navigator.mediaDevices)";
  const policy = /** @type {any} */ (document).permissionsPolicy || /** @type {any} */ (document).featurePolicy;
  if (policy?.allowsFeature && !policy.allowsFeature("microphone")) {
    return "this page runs in a frame that does not allow the microphone: the embedding page must add "
      + "allow=\"microphone\" to its <iframe>";
  }
  if (typeof AudioWorkletNode === "undefined") {
    return "this browser has no AudioWorklet, which capture needs (the deprecated ScriptProcessor is not used)";
  }
  return "";
}

/**
 * A getUserMedia or AudioContext failure as a cause and a fix.
 * @param {any} err
 * @returns {string}
 */
function micErrorText(err) {
  const name = err?.name || "";
  if (name === "NotAllowedError" || name === "SecurityError") {
    return "microphone permission denied: allow it for this site (the icon left of the address bar), then press mic again";
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") {
    return "no microphone found: plug one in, or pick another device";
  }
  if (name === "NotReadableError" || name === "AbortError") {
    return "the microphone could not be opened: another application may hold it";
  }
  return `the microphone failed: ${name || "Error"}: ${err?.message || err}`;
}

class Capture {
  /** @param {Model} model */
  constructor(model) {
    this.model = model;
    /** @type {AudioContext | null} */
    this.ctx = null;
    /** @type {AudioWorkletNode | null} */
    this.node = null;
    /** @type {MediaStream | null} */
    this.stream = null;
    /** microphone open (the worklet runs and measures the level) */
    this.on = false;
    /** chunks go to the kernel (push-to-talk held, or hands-free) */
    this.active = false;
    this.rms = 0;
    this.error = "";
    this.deviceId = "";
    /** @type {Array<{id: string, label: string}>} */
    this.devices = [];
    this.constraints = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    this.chunksSent = 0;
    this.rate = 0;
    /** @type {{inMs: number, outMs: number, ctxRate: number} | null} the current or last active stretch */
    this.turn = null;
    /** @type {Set<() => void>} views' redraw callbacks */
    this.listeners = new Set();
    /** @type {Array<() => void>} waiting for the last chunk after a release */
    this.released = [];
    this.onDeviceChange = () => { this.listDevices(); };
    navigator.mediaDevices?.addEventListener?.("devicechange", this.onDeviceChange);
  }

  notify() { for (const fn of this.listeners) fn(); }

  async listDevices() {
    try {
      const all = await navigator.mediaDevices.enumerateDevices();
      this.devices = all.filter((d) => d.kind === "audioinput")
        .map((d, i) => ({ id: d.deviceId, label: d.label || `microphone ${i + 1}` }));
    } catch { this.devices = []; }
    this.notify();
  }

  /** Open the microphone (from a user gesture); resolves true when it runs, false with `error` set. */
  async start() {
    if (this.on) return true;
    const problem = micProblem();
    if (problem) { this.error = problem; this.notify(); return false; }
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: { ...this.constraints, channelCount: 1, ...(this.deviceId ? { deviceId: { exact: this.deviceId } } : {}) },
      });
      const Ctx = globalThis.AudioContext || globalThis.webkitAudioContext;
      this.ctx = new Ctx({ latencyHint: "interactive" });
      const url = URL.createObjectURL(new Blob([CAPTURE_WORKLET_SRC], { type: "text/javascript" }));
      await this.ctx.audioWorklet.addModule(url);
      URL.revokeObjectURL(url);
      this.rate = this.model.get("mic_rate") || 24000;
      this.node = new AudioWorkletNode(this.ctx, "rt-capture", {
        numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1],
        processorOptions: { outRate: this.rate, chunkMs: this.model.get("mic_chunk_ms") },
      });
      this.node.port.onmessage = (e) => this.onWorklet(e.data);
      const mute = this.ctx.createGain();
      mute.gain.value = 0;  // the graph must reach the destination to be pulled; nothing is heard
      this.ctx.createMediaStreamSource(this.stream).connect(this.node);
      this.node.connect(mute).connect(this.ctx.destination);
      if (this.ctx.state === "suspended") await this.ctx.resume();
    } catch (err) {
      this.stop();
      this.error = micErrorText(err);
      this.notify();
      return false;
    }
    this.on = true;
    this.error = "";
    if (this.active) this.node.port.postMessage({ cmd: "active", on: true });
    this.listDevices();
    this.notify();
    return true;
  }

  stop() {
    this.on = false;
    this.active = false;
    for (const t of this.stream?.getTracks() || []) t.stop();
    this.stream = null;
    this.node?.disconnect();
    this.node = null;
    this.ctx?.close().catch(() => {});
    this.ctx = null;
    this.rms = 0;
    for (const resolve of this.released.splice(0)) resolve();
    this.notify();
  }

  /** Restart with new constraints or another device, if it runs. */
  async restart() {
    if (!this.on) return;
    const active = this.active;
    this.stop();
    this.active = active;
    await this.start();
  }

  /**
   * Send chunks or not. Turning off flushes the partial chunk first: the promise resolves once it is sent, so a
   * push-to-talk release's commit follows the last of the audio.
   * @param {boolean} on
   * @returns {Promise<void>}
   */
  setActive(on) {
    if (on === this.active) return Promise.resolve();
    this.active = on;
    if (!this.node) return Promise.resolve();
    const done = on ? Promise.resolve() : new Promise((resolve) => { this.released.push(() => resolve(undefined)); });
    this.node.port.postMessage({ cmd: "active", on });
    this.notify();
    return done;
  }

  /** @param {number} rate  the session's input rate (mic_rate) */
  setRate(rate) {
    if (rate && rate !== this.rate && this.node) this.node.port.postMessage({ cmd: "rate", outRate: rate });
    this.rate = rate;
  }

  /** @param {any} m */
  onWorklet(m) {
    if (m.type === "level") { this.rms = m.rms; this.notify(); return; }
    if (m.type !== "chunk") return;
    // The current (or last) turn: microphone time in, audio time out (they match when resampling is right).
    this.turn = { inMs: m.inMs, outMs: m.outMs, ctxRate: m.ctxRate };
    if (m.pcm.length && this.model.get("status") === "open") {
      try {
        this.model.send({ type: "mic", rate: m.rate }, undefined, [m.pcm.buffer]);
        this.chunksSent++;
      } catch { this.stop(); return; }  // the comm is dead (kernel restarted): stop listening
    }
    if (m.last) for (const resolve of this.released.splice(0)) resolve();
  }

  close() {
    this.stop();
    navigator.mediaDevices?.removeEventListener?.("devicechange", this.onDeviceChange);
  }
}

/**
 * The one object of a widget in `cache`, made by `make` the first time. anywidget hands initialize() and each
 * render() a different proxy of the same model, so objects are keyed by the widget's own id trait.
 * @template T
 * @param {Map<string, T>} cache
 * @param {Model} model
 * @param {(model: Model) => T} make
 * @returns {T}
 */
function perWidget(cache, model, make) {
  const key = model.get("_rt_id");
  let value = cache.get(key);
  if (value === undefined) {
    value = make(model);
    cache.set(key, value);
  }
  return value;
}

/** @type {Map<string, Capture>} one Capture per widget */
const CAPTURES = new Map();

/** @param {Model} model */
const captureFor = (model) => perWidget(CAPTURES, model, (m) => new Capture(m));
