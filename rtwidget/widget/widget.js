// @ts-check
/**
 * rtwidget console: the browser half of RealtimeWidget (anywidget ES module, no build step, no CDN).
 *
 * The kernel owns the connection and the event log; this module renders a bounded window of that log,
 * the session form, the prompt, and plays the model's audio through one AudioWorklet ring buffer.
 *
 * Stable test hooks (data-testid), for browser tests and for people reading the DOM:
 *   rt-status        connection state; its text is the state: idle | connecting | open | closing | closed | failed
 *                    (closed and failed add the close code and reason, "failed 4000 reason"); data-state holds
 *                    the bare state. failed: a connect that did not succeed, or a close other than 1000/1001
 *   rt-close-hint    what to do after a failure (close_hint trait); hidden when empty
 *   rt-connect       Connect / Disconnect button (data-action="connect" | "disconnect")
 *   rt-backend       backend badge ("local simulator" or the server host); rt-model, rt-dialect beside it
 *   rt-busy          "kernel busy — waiting" notice; present (not hidden) while a UI message is unacknowledged > 1 s
 *   rt-errors        error counter in the header (text = count, data-count); click toggles rt-error-list
 *   rt-tolerated     tolerated-frame counter beside it (data-count, tolerated_count trait); hidden at 0
 *   rt-error-list    pinned errors, each rt-error-item (data-row = log row id, data-cause-row = row of the
 *                    client event that caused it, when the error's event_id names one); click jumps to the row
 *   rt-form-summary  the effective session in one line (output · voice · turn detection · tools), shown beside
 *                    the form's collapsed "Session" heading
 *   rt-form          session form; fields rt-instructions, rt-modality, rt-voice, rt-turn, rt-threshold,
 *                    rt-prefix-ms, rt-silence-ms, rt-idle-ms, rt-create-response, rt-interrupt-response,
 *                    rt-eagerness, rt-transcription, rt-transcription-model, rt-max-tokens, rt-tool-choice, rt-tools
 *   rt-apply         Apply button: sends the form's session to the kernel, which validates it (protocol core)
 *   rt-form-error    refusal reason (the form's JSON, the protocol core's rule, or the server's error naming the
 *                    form's session.update); empty after a valid Apply
 *   rt-form-notice   an Apply's progress (form_notice trait): "sent, waiting for session.updated", "✓ applied";
 *                    data-state = sent | applied
 *   rt-gone          shown when the model's comm is dead (kernel restarted or shut down): every control is
 *                    disabled and rt-status reads "no kernel" (data-state="gone")
 *   rt-session       effective session (from session.updated) as JSON; fields that differ from what was asked
 *                    are rows rt-session-diff (data-path)
 *   rt-prompt        text prompt (Enter sends, Shift+Enter inserts a newline)
 *   rt-respond       checkbox: also send response.create after conversation.item.create
 *   rt-mode          turn mode select: text | ptt | server_vad | semantic_vad (ptt and the VADs are the session's
 *                    turn detection, read back from session_effective; text = microphone off)
 *   rt-mic           microphone on / off (aria-pressed; data-captured-ms / data-sent-ms / data-context-rate: the
 *                    last stretch of capture, microphone time in and audio time sent); rt-mic-device the device
 *                    picker; rt-mic-ec, rt-mic-ns,
 *                    rt-mic-agc echo cancellation, noise suppression, auto gain (on by default)
 *   rt-ptt           hold to talk (pointer down = start, up = release; the space bar too), shown in ptt mode;
 *                    aria-pressed while held
 *   rt-mic-level     input level meter, data-rms; rt-out-level the output's
 *   rt-mic-error     why the microphone cannot work (insecure page, permission, no device, frame policy, no
 *                    AudioWorklet) and what to do; hidden when empty
 *   rt-talk-notice   what happens to a message sent while a reply is in flight (talk_notice trait: its reply
 *                    waits for the current one to end); hidden when empty
 *   rt-send          Send button
 *   rt-stop          Stop button: flush playback, response.cancel if a response is in flight, truncate
 *   rt-reply         the current reply in one compact box (the conversation shows every item): streamed text /
 *                    transcript; data-status = streaming | done | cancelled | truncated | incomplete | failed,
 *                    data-item-id; empty after a reconnect
 *   rt-conversation  the conversation panel (conversation.js): one rt-item per item, in conversation order, keyed
 *                    by data-item-id, with data-role (user | assistant | system | tool: a function_call is the
 *                    assistant's, its function_call_output the tool's), data-type (message | function_call |
 *                    function_call_output), data-status (in_progress | completed | interrupted | incomplete |
 *                    failed) and, for items with audio, data-received-ms / data-played-ms (live playback, the
 *                    engine's or the kernel's count); at most CONV_MAX_DOM_ITEMS items, older ones paged in on
 *                    scroll; rt-conversation-count "N items". In each item: rt-item-text (text, transcript, a
 *                    call's arguments or an output), rt-item-status ("interrupted at N ms of M", "transcribing…",
 *                    "incomplete"...), rt-item-play (plays the item's audio fetched from the kernel: what was
 *                    received, for an interrupted reply what was heard; aria-pressed while it plays,
 *                    data-fetched-ms its length, data-position-ms how far it got), rt-item-delete (sends
 *                    conversation.item.delete; the item leaves on conversation.item.deleted), and on the first
 *                    output item of each response rt-timeline (latency.js: its stages as markers, each with
 *                    data-stage = to_created_ms | to_first_text_ms | to_first_audio_ms | to_first_played_ms |
 *                    to_last_played_ms | to_done_ms and data-ms from the turn start, in time order; data-turn
 *                    the turn start: speech_stopped | commit | response.create). Below the items
 *                    rt-latency-chart: median and p90 per stage over the session (data-n responses timed; a row
 *                    per stage with data-stage, data-n, data-median-ms, data-p90-ms)
 *   rt-audio         audio bar; data-received-ms / data-played-ms for the current (latest) audio item,
 *                    data-total-received-ms / data-total-played-ms over the session, data-item-id,
 *                    data-state = none | suspended | running | closed, data-mode = worklet | fallback,
 *                    data-underruns
 *   rt-underruns     in the audio bar: "pre-roll N ms · M underruns" (data-preroll-ms, data-count): the pre-roll
 *                    setting beside the times playback ran dry mid-item
 *   rt-audio-busy    "kernel busy — audio waits" in the audio bar: playback starved and the kernel did not answer a
 *                    ping within a second (a running cell holds it)
 *   rt-enable-audio  "enable audio" button, shown while the AudioContext is suspended by autoplay policy
 *   rt-volume        volume slider (0..1); rt-mute mute toggle (aria-pressed)
 *   rt-log           the event log; rows rt-log-row with data-type, data-dir (client | server | local),
 *                    data-row (row id), data-count (members in an aggregated delta run), data-flags
 *                    (e = error, u = unknown type, x = bad frame, w = tolerated: a known type that deviates
 *                    from the schema, class rt-row-warn); a click toggles rt-log-detail (pretty JSON). A
 *                    local.connecting row (each new connection) has class rt-row-sep: a rule above it
 *   rt-log-detail    expanded JSON of one row member; rt-detail-prev / rt-detail-next walk a run's members
 *   rt-filter        filter preset select: all | no_audio (hide audio deltas) | no_deltas | errors
 *   rt-search        text search (type, summary and each event's whole JSON, base64 audio skipped; evaluated
 *                    kernel-side); matches are marked in the rows and in rt-log-detail
 *   rt-row-copy-json, rt-row-copy-python   in a row's rt-log-detail: copy the shown event's JSON (keys redacted,
 *                    audio elided, as the detail shows it), or it as Python (client events: await
 *                    w.send_event({...}) without the event_id; others a dict literal); rt-copy-notice says "copied".
 *                    Client rows add rt-row-resend (sent again by the kernel, new event_id) and rt-row-edit (edit and
 *                    resend: opens rt-composer on the event, without its event_id)
 *   rt-composer      the event composer (a collapsible <details> under the session form): rt-composer-type the client
 *                    event types of the session's dialect (choosing one loads its template: required fields filled),
 *                    rt-composer-json the event as JSON, checked by the kernel (protocol core) after each edit;
 *                    rt-composer-error the refusal, "path: rule (code)", data-path = the field's JSON path;
 *                    rt-composer-send (disabled until the text passes); rt-composer-notice "sent evt_...";
 *                    rt-composer-fields the optional fields' paths and types
 *   rt-log-count     "N rows" (rows matching the filter)
 *   rt-follow        "jump to latest" button, visible while autoscroll is paused
 *   rt-clear         clears the console log (the kernel keeps w.events)
 *   rt-export        Export button: downloads the session as JSONL (docs/recording-format.md); rt-import, a file
 *                    input (.jsonl, .har, .yaml), replaces the session with a recording (rt-status "replay": no
 *                    server); rt-record-notice says how either went
 *
 * Messages (custom messages; JSON content + binary buffers): see rtwidget/widget/view.py, "View protocol", and
 * docs/view-protocol.md; docs/front-end.md walks through this module.
 *
 * Structure. One ES module, no imports and no build step (anywidget loads `_esm` from a blob URL), so the
 * types are JSDoc checked by `// @ts-check`.
 *   initialize({model})  once per widget: the AudioEngine (one AudioContext and worklet) and the one listener
 *                        for audio messages, whatever the number of views.
 *   render({model, el})  once per view: makeContext() builds the ViewContext the components share (view id,
 *                        engine, action/request senders, busy tracking, late-bound links between components),
 *                        then the components, then the "ready" handshake; it returns the view's cleanup.
 *   Component pattern    each part of the console is a function `(ctx) => ({el, update?, dispose})`: it builds
 *                        its DOM, observes the traits it shows (through makeScope, so dispose() drops them),
 *                        calls update() once to draw from the traits, and returns. Components are busyNotice,
 *                        header, errorList, sessionForm, voiceBar, conversationView (conversation.js), talk
 *                        (with audioBar) and logView; they reach each
 *                        other only through ctx.links. handleKernelMessage() routes kernel -> view messages.
 */

/**
 * The anywidget model proxy (the subset this module uses).
 * @typedef {object} Model
 * @property {(name: string) => any} get
 * @property {(name: string, value: any) => void} set
 * @property {() => void} save_changes
 * @property {(content: object, callbacks?: any, buffers?: ArrayBuffer[]) => void} send
 * @property {(names: string, fn: (...args: any[]) => void) => void} on
 * @property {(names: string, fn: (...args: any[]) => void) => void} off
 */

const SAMPLE_RATE_HZ = 24000;
const MAX_DOM_ROWS = 400;
const PAGE_ROWS = 150;
const BUSY_AFTER_MS = 1000;
// Played positions to the kernel at ~3 Hz: each report costs the kernel a message and a busy/idle pair. What
// must be fresh goes at once: a flush (Stop, push-to-talk), an item's first sample, the end of its queued audio.
const PLAYED_REPORT_MS = 300;
// The fallback player has no render callback: it counts what its scheduled buffers have rendered this often.
const FALLBACK_POLL_MS = 100;
const RESUME_TIMEOUT_MS = 2000;
const FLUSH_REPLY_TIMEOUT_MS = 150;
// What a view says when its model's comm is dead (the widget manager marks it so on a kernel restart).
const KERNEL_GONE = "kernel restarted or shut down — re-run the cell to get a live console";
const VOICES = ["alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"];

// ---------------------------------------------------------------------------------------------------------
// Playback worklet: one ring buffer of 24 kHz float samples for the widget's whole life. A parallel queue of
// segments (item id, samples left) attributes every rendered sample to its item, so the kernel learns what was
// actually heard (Stop truncates there). Pre-roll gates only a start from silence; an underrun mid-item is
// counted and playback resumes with the next sample, with no reset.
const WORKLET_SRC = `
class RtPlayer extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options.processorOptions || {};
    this.cap = o.capacity || 24000 * 180;
    this.buf = new Float32Array(this.cap);
    this.r = 0; this.w = 0; this.size = 0;
    this.step = (o.inRate || 24000) / sampleRate;
    this.frac = 0;
    this.preroll = o.prerollSamples || 0;
    this.gated = true;
    this.ended = false;
    this.segs = [];
    this.startedIds = new Set();
    this.played = {};
    this.changed = false;
    this.underruns = 0;
    this.starved = false;
    this.overflow = 0;
    this.lastReport = 0;
    this.drained = false;
    this.sum2 = 0; this.count = 0; this.lastRms = 0;
    this.port.onmessage = (e) => this.onmsg(e.data);
  }
  onmsg(m) {
    if (m.cmd === "push") {
      const x = m.samples;
      let n = x.length;
      if (this.size + n > this.cap) { this.overflow += this.size + n - this.cap; n = this.cap - this.size; }
      for (let i = 0; i < n; i++) { this.buf[this.w] = x[i]; this.w = (this.w + 1) % this.cap; }
      this.size += n;
      const last = this.segs[this.segs.length - 1];
      if (last && last.id === m.id) last.left += n; else this.segs.push({ id: m.id, left: n });
      this.ended = false;
    } else if (m.cmd === "end") {
      this.ended = true;
    } else if (m.cmd === "flush") {
      this.r = 0; this.w = 0; this.size = 0; this.segs = []; this.gated = true; this.frac = 0;
      this.report(true);
    } else if (m.cmd === "config") {
      this.preroll = m.prerollSamples;
    }
  }
  take() {
    const s = this.segs[0];
    if (s) {
      if (!this.startedIds.has(s.id)) {
        this.startedIds.add(s.id);
        // Date.now(): the one clock a worklet has (1 ms steps), read as the sample is rendered
        this.port.postMessage({ type: "start", id: s.id, frame: currentFrame, wall: Date.now() });
      }
      this.played[s.id] = (this.played[s.id] || 0) + 1;
      this.changed = true;
      if (--s.left <= 0) {
        this.segs.shift();
        // The item's queued audio ran out (its end, or an underrun): the main thread reports it at once.
        if (!this.segs.length || this.segs[0].id !== s.id) this.drained = true;
      }
    }
    this.r = (this.r + 1) % this.cap;
    this.size--;
  }
  process(inputs, outputs) {
    const out = outputs[0][0];
    const n = out.length;
    if (this.gated) {
      if (this.size > 0 && (this.size >= this.preroll || this.ended)) this.gated = false;
      else { out.fill(0); this.maybeReport(); return true; }
    }
    let i = 0;
    if (this.step === 1) {
      for (; i < n && this.size > 0; i++) { out[i] = this.buf[this.r]; this.take(); }
    } else {
      for (; i < n && this.size > 0; i++) {
        const a = this.buf[this.r], b = this.size > 1 ? this.buf[(this.r + 1) % this.cap] : a;
        out[i] = a + (b - a) * this.frac;
        this.frac += this.step;
        while (this.frac >= 1 && this.size > 0) { this.frac -= 1; this.take(); }
      }
    }
    if (i < n) {
      out.fill(0, i);
      if (this.ended) { this.gated = true; this.starved = false; }
      else if (!this.starved) { this.starved = true; this.underruns++; this.changed = true; }
    } else this.starved = false;
    for (let j = 0; j < n; j++) this.sum2 += out[j] * out[j];
    this.count += n;
    this.maybeReport();
    return true;
  }
  maybeReport() {
    // Also while the output level moves (and once more when it falls to zero), for the output meter.
    if (this.drained) this.report(false);
    else if ((this.changed || this.sum2 > 0 || this.lastRms > 0) && currentTime - this.lastReport >= 0.05) this.report(false);
  }
  report(flushed) {
    this.lastReport = currentTime;
    this.changed = false;
    const drained = this.drained;
    this.drained = false;
    const rms = Math.sqrt(this.sum2 / Math.max(1, this.count));
    this.sum2 = 0; this.count = 0; this.lastRms = rms;
    this.port.postMessage({ type: "played", played: this.played, buffered: this.size,
                            underruns: this.underruns, overflow: this.overflow, flushed, drained, rms,
                            flushedAt: flushed ? Date.now() : null });  // the worklet's clock: when it went quiet
  }
}
registerProcessor("rt-player", RtPlayer);
`;

/** @param {DataView} dv  PCM16 little-endian samples */
function pcm16ToFloat32(dv) {
  // Buffers arrive as DataViews over a larger ArrayBuffer: copy the exact range (docs/testing.md).
  const n = dv.byteLength >> 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = dv.getInt16(2 * i, true) / 32768;
  return out;
}

/**
 * @param {Promise<any>} promise
 * @param {number} ms
 */
function withTimeout(promise, ms) {
  // An autoplay-blocked resume() neither resolves nor rejects (docs/testing.md): time-box it.
  return Promise.race([promise, new Promise((res) => setTimeout(res, ms))]);
}

/** One per widget model: the AudioContext, the worklet and the per-item counters (all in samples at 24 kHz). */
class AudioEngine {
  /** @param {Model} model */
  constructor(model) {
    this.model = model;
    /** @type {AudioContext | null} */
    this.ctx = null;
    /** @type {AudioWorkletNode | null} */
    this.node = null;
    /** @type {GainNode | null} */
    this.gain = null;
    /** @type {"none" | "worklet" | "fallback"} */
    this.mode = "none";
    /** @type {Promise<void> | null} */
    this.loading = null;
    /** @type {Array<[string | null, Float32Array<ArrayBuffer> | null]>} audio (or an end, as nulls) before the worklet loaded */
    this.pending = [];
    this.volume = 1;
    this.muted = false;
    /** @type {Record<string, number>} samples received per item */
    this.received = {};
    /** @type {Record<string, number>} samples rendered per item */
    this.played = {};
    /** @type {string | null} */
    this.currentItem = null;
    this.underruns = 0;
    /** @type {Record<string, number>} wall-clock ms the first audio of each item reached the page */
    this.arrived = {};
    /** RMS of what was rendered since the worklet's last report (the output meter) */
    this.outRms = 0;
    /** @type {number | undefined} samples in the worklet's ring buffer at its last report */
    this.buffered = undefined;
    /** @type {Set<() => void>} views' redraw callbacks */
    this.listeners = new Set();
    this.lastSent = 0;
    this.startedSoon = false;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.sendTimer = null;
    /** @type {Set<string>} items stopped by the user: their late audio is ignored */
    this.dropped = new Set();
    /** @type {Array<(played: Record<string, number>) => void>} */
    this.flushWaiters = [];
    /** @type {{next: number, sources: AudioBufferSourceNode[], segs: Array<{id: string, start: number, n: number, counted: number}>, timer: ReturnType<typeof setInterval> | null}} */
    this.fallback = { next: 0, sources: [], segs: [], timer: null };
    this.prerollMs = model.get("preroll_ms") ?? 100;
  }

  state() {
    if (!this.ctx) return "none";
    return this.ctx.state;
  }

  notify() {
    for (const fn of this.listeners) fn();
  }

  /** Create (or resume) the context; call from a user gesture when possible so autoplay allows it. */
  ensure() {
    if (this.ctx) {
      if (this.ctx.state === "suspended") withTimeout(this.ctx.resume(), RESUME_TIMEOUT_MS).then(() => this.notify());
      return this.loading;
    }
    const Ctx = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!Ctx) return null;
    try {
      this.ctx = new Ctx({ sampleRate: SAMPLE_RATE_HZ, latencyHint: "interactive" });
    } catch {
      this.ctx = new Ctx({ latencyHint: "interactive" });
    }
    this.ctx.onstatechange = () => this.notify();
    this.gain = this.ctx.createGain();
    this.gain.connect(this.ctx.destination);
    this.applyVolume();
    if (this.ctx.audioWorklet && typeof AudioWorkletNode !== "undefined") {
      const url = URL.createObjectURL(new Blob([WORKLET_SRC], { type: "text/javascript" }));
      this.loading = this.ctx.audioWorklet.addModule(url).then(() => {
        URL.revokeObjectURL(url);
        this.node = new AudioWorkletNode(this.ctx, "rt-player", {
          numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1],
          processorOptions: { inRate: SAMPLE_RATE_HZ, prerollSamples: this.prerollSamples() },
        });
        this.node.port.onmessage = (e) => this.onWorklet(e.data);
        this.node.connect(this.gain);
        this.mode = "worklet";
        for (const [id, x] of this.pending) {
          if (x) this.node.port.postMessage({ cmd: "push", id, samples: x }, [x.buffer]);
          else this.node.port.postMessage({ cmd: "end" });
        }
        this.pending = [];
      }).catch(() => this.startFallback());
    } else {
      this.startFallback();
    }
    withTimeout(this.ctx.resume(), RESUME_TIMEOUT_MS).then(() => this.notify());
    this.notify();
    return this.loading;
  }

  prerollSamples() {
    return Math.round((this.prerollMs * SAMPLE_RATE_HZ) / 1000);
  }

  /** @param {number} ms */
  setPreroll(ms) {
    this.prerollMs = ms;
    this.node?.port.postMessage({ cmd: "config", prerollSamples: this.prerollSamples() });
    this.notify();
  }

  startFallback() {
    // Insecure origins have no AudioWorklet: schedule AudioBufferSourceNodes back to back instead.
    this.mode = "fallback";
    const pending = this.pending;
    this.pending = [];
    for (const [id, x] of pending) if (x) this.scheduleFallback(id, x);
    if (!this.fallback.timer) this.fallback.timer = setInterval(() => this.pollFallback(), FALLBACK_POLL_MS);
    this.notify();
  }

  /**
   * @param {string} id
   * @param {Float32Array<ArrayBuffer>} x
   */
  scheduleFallback(id, x) {
    const ctx = this.ctx;
    const f = this.fallback;
    const buffer = ctx.createBuffer(1, x.length, SAMPLE_RATE_HZ);
    buffer.copyToChannel(x, 0);
    const src = ctx.createBufferSource();
    src.buffer = buffer;
    src.connect(this.gain);
    const now = ctx.currentTime;
    const start = f.next > now ? f.next : now + this.prerollMs / 1000;
    src.start(start);
    f.next = start + x.length / SAMPLE_RATE_HZ;
    f.sources.push(src);
    f.segs.push({ id, start, n: x.length, counted: 0 });
    src.onended = () => { f.sources = f.sources.filter((s) => s !== src); };
  }

  pollFallback() {
    const f = this.fallback;
    if (!this.ctx || !f.segs.length) return;
    const now = this.ctx.currentTime;
    let changed = false;
    for (const s of f.segs) {
      const done = Math.max(0, Math.min(s.n, Math.floor((now - s.start) * SAMPLE_RATE_HZ)));
      if (done > s.counted) {
        this.played[s.id] = (this.played[s.id] || 0) + done - s.counted;
        s.counted = done;
        changed = true;
      }
    }
    f.segs = f.segs.filter((s) => s.counted < s.n);
    // All that was scheduled has been heard: report at once, as the worklet does when an item's audio runs out.
    if (changed) { this.scheduleReport(!f.segs.length); this.notify(); }
  }

  /**
   * @param {string} id  item id
   * @param {DataView} dv  PCM16 LE 24 kHz
   */
  push(id, dv) {
    if (this.dropped.has(id)) return;
    if (!(id in this.arrived)) this.arrived[id] = performance.timeOrigin + performance.now();
    const x = pcm16ToFloat32(dv);
    this.received[id] = (this.received[id] || 0) + x.length;
    this.currentItem = id;
    if (!this.ctx) this.ensure();
    if (this.mode === "worklet") this.node.port.postMessage({ cmd: "push", id, samples: x }, [x.buffer]);
    else if (this.mode === "fallback") this.scheduleFallback(id, x);
    else this.pending.push([id, x]);
    this.notify();
  }

  end() {
    if (this.mode === "worklet") this.node.port.postMessage({ cmd: "end" });
    else if (this.mode === "none" && this.pending.length) this.pending.push([null, null]);
  }

  /**
   * Drop everything buffered at once (Stop). Resolves with the played ms per item as the worklet counted
   * them when it dropped the buffer, so the truncation point is what was rendered, not a stale report.
   * @param {string | null} [dropItem]  an item to ignore from now on
   * @returns {Promise<Record<string, number>>}
   */
  flush(dropItem) {
    if (dropItem) this.dropped.add(dropItem);
    this.pending = [];
    if (this.mode === "worklet") {
      return new Promise((resolve) => {
        this.flushWaiters.push(resolve);
        this.node.port.postMessage({ cmd: "flush" });
        setTimeout(() => resolve(this.playedMs()), FLUSH_REPLY_TIMEOUT_MS);
      });
    }
    if (this.mode === "fallback") {
      this.pollFallback();
      for (const s of this.fallback.sources) { try { s.stop(); } catch { /* already stopped */ } }
      this.fallback = { ...this.fallback, next: 0, sources: [], segs: [] };
    }
    return Promise.resolve(this.playedMs());
  }

  /**
   * Wall-clock ms at which `frame` is heard, i.e. leaves the output (null when the context cannot say yet).
   * @param {number} frame
   * @returns {number | null}
   */
  frameWallMs(frame) {
    const ctx = this.ctx;
    const ts = ctx?.getOutputTimestamp?.();
    if (!ctx || !ts?.contextTime || !ts.performanceTime) return null;
    return performance.timeOrigin + ts.performanceTime + (frame / ctx.sampleRate - ts.contextTime) * 1000;
  }

  playedMs() {
    /** @type {Record<string, number>} */
    const out = {};
    for (const [id, n] of Object.entries(this.played)) out[id] = (1000 * n) / SAMPLE_RATE_HZ;
    return out;
  }

  /** @param {any} m  a message from RtPlayer's port */
  onWorklet(m) {
    if (m.type === "start") {
      // The first sample of an item: heard when the worklet's frame leaves the output (mapped to the page's
      // clock through the context's output timestamp), rendered when the worklet's clock says; neither this
      // notice's trip to the main thread nor a busy page moves them. The kernel pairs it with the delta's arrival (one wall clock, same machine).
      const noticed = performance.timeOrigin + performance.now();
      this.model.send({ type: "audio.started", item: m.id, at_ms: this.frameWallMs(m.frame) ?? noticed,
        rendered_ms: m.wall ?? noticed, arrived_ms: this.arrived[m.id],
        noticed_ms: noticed });
      this.startedSoon = true;  // the worklet's next report, with the item's first played ms, goes at once
      return;
    }
    if (m.type === "played") {
      Object.assign(this.played, m.played);
      this.underruns = m.underruns;
      this.buffered = m.buffered;
      this.outRms = m.rms || 0;
      if (m.flushed) {
        for (const resolve of this.flushWaiters) resolve(this.playedMs());
        this.flushWaiters = [];
        this.flushedAt = m.flushedAt;  // goes with the report sent now
      }
      this.scheduleReport(m.flushed || m.drained || this.startedSoon);
      this.startedSoon = false;
      this.notify();
    }
  }

  /** @param {boolean} [now]  send at once instead of throttled */
  scheduleReport(now) {
    const send = () => {
      this.sendTimer = null;
      this.lastSent = performance.now();
      this.model.send({ type: "played", items: this.playedMs(), underruns: this.underruns,
                        buffered_ms: (1000 * (this.buffered || 0)) / SAMPLE_RATE_HZ,
                        ...(this.flushedAt ? { flushed_ms: this.flushedAt } : {}) });
      this.flushedAt = null;
    };
    if (now) { clearTimeout(this.sendTimer); send(); return; }
    if (this.sendTimer) return;
    const wait = Math.max(0, PLAYED_REPORT_MS - (performance.now() - this.lastSent));
    this.sendTimer = setTimeout(send, wait);
  }

  applyVolume() {
    if (this.gain) this.gain.gain.value = this.muted ? 0 : this.volume;
    this.notify();
  }

  close() {
    clearInterval(this.fallback.timer);
    clearTimeout(this.sendTimer);
    this.node?.disconnect();
    this.ctx?.close();
    this.ctx = null;
    this.listeners.clear();
  }
}

/** @type {Map<string, AudioEngine>} one engine per widget (perWidget, in capture.js) */
const ENGINES = new Map();

/** @param {Model} model */
const engineFor = (model) => perWidget(ENGINES, model, (m) => new AudioEngine(m));

/**
 * Once per widget: the audio engine and the one listener for audio messages.
 * @param {{model: Model}} args
 */
function initialize({ model }) {
  const engine = engineFor(model);
  // Audio is per widget, not per view: one listener here, whatever the number of views.
  const onMsg = unbatched((msg, buffers) => {
    if (msg.type === "audio") engine.push(msg.item, buffers[0]);
    else if (msg.type === "audio.end") engine.end();
    else if (msg.type === "audio.flush") engine.flush(msg.item);
  });
  const onPreroll = () => engine.setPreroll(model.get("preroll_ms"));
  model.on("msg:custom", onMsg);
  model.on("change:preroll_ms", onPreroll);
  return () => {
    model.off("msg:custom", onMsg);
    model.off("change:preroll_ms", onPreroll);
    engine.close();
    ENGINES.delete(model.get("_rt_id"));
    CAPTURES.get(model.get("_rt_id"))?.close();
    CAPTURES.delete(model.get("_rt_id"));
  };
}

// ---------------------------------------------------------------------------------------------------------
// DOM helpers

/**
 * Element `tag` with attributes (class, testid, text, on* listeners, properties, else attributes) and children.
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...(Node | string | null | undefined)} children
 * @returns {HTMLElement}
 */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "testid") el.dataset.testid = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}

const ARROWS = { client: ">", server: "<", local: "=" };
const DIRS = { c: "client", s: "server", l: "local" };

/** @param {number} t  seconds */
function fmtTime(t) {
  // One format for the whole log (m:ss.mmm since the first connect; h:mm:ss.mmm past an hour), so rows of a
  // long session line up and compare as text.
  const ms = Math.max(0, Math.round(t * 1000));
  const h = Math.floor(ms / 3600000);
  const m = Math.floor(ms / 60000) % 60;
  const sec = ((ms % 60000) / 1000).toFixed(3).padStart(6, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/**
 * `text` with each case-insensitive occurrence of `term` in a <mark> (the log's search).
 * @param {string} text
 * @param {string} term
 * @param {Record<string, any>} attrs   attributes of the wrapping span
 */
function marked(text, term, attrs) {
  const el = h("span", attrs);
  const needle = term.trim().toLowerCase();
  if (!needle) { el.textContent = text; return el; }
  const hay = text.toLowerCase();
  let at = 0;
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, at)) {
    el.append(text.slice(at, i), h("mark", { class: "rt-mark", text: text.slice(i, i + needle.length) }));
    at = i + needle.length;
  }
  el.append(text.slice(at));
  return el;
}

/** @param {number} n */
function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** @param {LogRow} r */
function runMeta(r) {
  if (!r.n || r.n < 2) return r.ms ? `${(r.ms / 1000).toFixed(2)} s · ${fmtBytes(r.b)}` : "";
  const parts = [`x${r.n}`];
  if (r.ms) parts.push(`${(r.ms / 1000).toFixed(1)} s`);
  if (r.b) parts.push(fmtBytes(r.b));
  return parts.join(" · ");
}

// ---------------------------------------------------------------------------------------------------------
// Session form: GA session fields. The form only turns its inputs into JSON values (a number that is not a
// number, JSON that does not parse); every protocol rule (ranges, required fields, tool shapes) is the
// protocol core's, checked in the kernel on Apply, and its refusal comes back as form_error.

/**
 * @param {FormFields} f
 * @returns {{session: Record<string, any>, errors: string[]}}
 */
function buildSession(f) {
  const errors = [];
  /** @type {Record<string, any>} */
  const session = { type: "realtime" };
  session.instructions = f.instructions.value;
  session.output_modalities = [f.modality.value];
  const voice = f.voice.value.trim();
  /** @type {Record<string, any> | null} */
  let turn = null;
  const kind = f.turn.value;
  if (kind === "server_vad") {
    const threshold = Number(f.threshold.value);
    if (f.threshold.value.trim() === "" || !Number.isFinite(threshold)) errors.push("threshold: not a number");
    turn = { type: "server_vad", threshold };
    /** @type {Array<[string, HTMLInputElement]>} */
    const msFields = [["prefix_padding_ms", f.prefix], ["silence_duration_ms", f.silence]];
    for (const [key, input] of msFields) {
      const v = Number(input.value);
      if (input.value.trim() === "" || !Number.isFinite(v)) errors.push(`${key}: not a number`);
      turn[key] = v;
    }
    if (f.idle.value.trim() !== "") {
      const v = Number(f.idle.value);
      if (!Number.isFinite(v)) errors.push("idle_timeout_ms: not a number");
      turn.idle_timeout_ms = v;
    }
  } else if (kind === "semantic_vad") {
    turn = { type: "semantic_vad", eagerness: f.eagerness.value };
  }
  if (turn) {
    turn.create_response = f.createResponse.checked;
    turn.interrupt_response = f.interruptResponse.checked;
  }
  const transcription = f.transcription.checked ? { model: f.transcriptionModel.value.trim() } : null;
  session.audio = { input: { turn_detection: turn, transcription }, output: { voice } };
  const maxTokens = f.maxTokens.value.trim();
  if (maxTokens === "" || maxTokens === "inf") session.max_output_tokens = "inf";
  else {
    const v = Number(maxTokens);
    if (!Number.isFinite(v)) errors.push("max_output_tokens: not a number (or inf)");
    session.max_output_tokens = v;
  }
  const choice = f.toolChoice.value.trim() || "auto";
  session.tool_choice = ["auto", "none", "required"].includes(choice) ? choice : { type: "function", name: choice };
  const toolsText = f.tools.value.trim();
  if (toolsText) {
    try {
      const tools = JSON.parse(toolsText);
      session.tools = tools;
    } catch (e) {
      errors.push(`tools: ${e.message}`);
    }
  } else {
    session.tools = [];
  }
  return { session, errors };
}

/**
 * @param {FormFields} f
 * @param {any} s  a session object as the server sends it (GA or beta names)
 */
function fillForm(f, s) {
  // Reflect an effective session in the form, so a later Apply starts from what the server uses.
  if (!s || typeof s !== "object") return;
  if (typeof s.instructions === "string") f.instructions.value = s.instructions;
  const mod = (s.output_modalities || s.modalities || [])[0];
  if (mod === "text" || mod === "audio") f.modality.value = mod;
  const out = s.audio?.output || {};
  if (out.voice || s.voice) f.voice.value = out.voice || s.voice;
  const inp = s.audio?.input || {};
  const turn = "turn_detection" in inp ? inp.turn_detection : s.turn_detection;
  if (turn === null) f.turn.value = "none";
  else if (turn && typeof turn === "object") {
    f.turn.value = turn.type;
    if (turn.threshold != null) f.threshold.value = turn.threshold;
    if (turn.prefix_padding_ms != null) f.prefix.value = turn.prefix_padding_ms;
    if (turn.silence_duration_ms != null) f.silence.value = turn.silence_duration_ms;
    f.idle.value = turn.idle_timeout_ms ?? "";
    if (turn.eagerness) f.eagerness.value = turn.eagerness;
    if (turn.create_response != null) f.createResponse.checked = !!turn.create_response;
    if (turn.interrupt_response != null) f.interruptResponse.checked = !!turn.interrupt_response;
  }
  const tr = "transcription" in inp ? inp.transcription : s.input_audio_transcription;
  f.transcription.checked = !!tr;
  if (tr?.model) f.transcriptionModel.value = tr.model;
  const mt = s.max_output_tokens ?? s.max_response_output_tokens;
  if (mt != null) f.maxTokens.value = String(mt);
  if (typeof s.tool_choice === "string") f.toolChoice.value = s.tool_choice;
  else if (s.tool_choice?.name) f.toolChoice.value = s.tool_choice.name;
  if (Array.isArray(s.tools)) f.tools.value = s.tools.length ? JSON.stringify(s.tools, null, 2) : "";
  f.syncVisibility();
}

// ---------------------------------------------------------------------------------------------------------
// The view: render() builds one console per view out of small components that share one ViewContext.

/**
 * Row of the kernel's log, as the view protocol sends it (see rtwidget/widget/view.py, "Row JSON").
 * @typedef {object} LogRow
 * @property {number} i        row id
 * @property {string} d        direction: "c" client, "s" server, "l" local
 * @property {number} t        seconds since the log started
 * @property {string} y        event type
 * @property {number} [n]      members in an aggregated run
 * @property {number} [b]      bytes
 * @property {number} [ms]     audio ms
 * @property {string} [s]      summary
 * @property {string} [f]      flags: e error, u unknown type, x bad frame, w tolerated
 * @property {number} [c]      row of the client event that caused it
 */

/**
 * One kernel -> view custom message (every shape is in the view protocol; fields depend on `type`).
 * @typedef {object} KernelMessage
 * @property {string} type
 * @property {string} [view]   the view it is for; absent or "*" means every view
 * @property {number} [seq]
 * @property {LogRow[]} [rows]
 * @property {LogRow[]} [updates]
 * @property {number} [offset]
 * @property {number} [total]
 * @property {boolean} [tail]
 * @property {"older" | "newer"} [dir]
 * @property {number} [row]
 * @property {number} [member]
 * @property {number} [count]
 * @property {number} [entry]
 * @property {string} [json]
 * @property {string} [text]
 * @property {{type: string, row: number}} [cause]
 * @property {ErrorInfo[]} [errors]   errors.window / errors.append
 * @property {number} [max]           errors.*: how many errors a view keeps
 * @property {string | null} [item]   reply.text: the reply's item
 * @property {number} [at]            reply.text: where `text` starts in the reply's text (0 replaces it)
 */

/**
 * One pinned error (errors.window, errors.append).
 * @typedef {object} ErrorInfo
 * @property {number} row
 * @property {string} code
 * @property {string} message
 * @property {number} time
 * @property {number} [cause_row]
 * @property {string} [cause_type]
 */

/**
 * What every component of one view shares. render() makes one per view; components read the model through it,
 * send through it, and register their listeners on its model so that dispose() can drop them.
 * @typedef {object} ViewContext
 * @property {Model} model
 * @property {string} viewId        sent with every message, so the kernel can answer this view alone
 * @property {AudioEngine} engine   the widget's one audio engine (shared by all views)
 * @property {(content: object) => void} action   a UI action: carries a seq the kernel acknowledges with ack
 * @property {(content: object) => void} request  a log request: carries a req, answered by a log.* message
 * @property {(seq: number) => void} acked        the kernel acknowledged this seq
 * @property {() => boolean} waiting              an action has waited for its ack for BUSY_AFTER_MS or more
 * @property {() => string} gone                  why the model is gone ("" while it lives): see makeContext
 * @property {(reason: string) => void} markGone   the model's comm is dead: say so once, disable the view
 * @property {ViewLinks} links
 */

/**
 * Calls from one component into another, bound by render() once every component exists (they run on user
 * input, never while the view is being built).
 * @typedef {object} ViewLinks
 * @property {(rowId: number) => void} jumpTo   show a log row, centred and outlined
 * @property {() => void} toggleErrors          show or hide the pinned error list
 * @property {(reason: string) => void} gone     the model is gone: show why, disable every control
 * @property {(row: number, member: number) => void} compose   open the composer on a logged client event
 */

/**
 * What a component returns: its root element, an optional update() that redraws it from the traits (called
 * once at creation and on each change of the traits it observes), and dispose() that drops its listeners and
 * timers. Components never remove their DOM: the view's element is emptied by its owner.
 * @typedef {object} Component
 * @property {HTMLElement} el
 * @property {() => void} [update]
 * @property {() => void} dispose
 */

/**
 * A msg:custom listener that also takes the kernel's "batch" messages: each part in order, with its own
 * buffers (a part with buffers says how many in ``nbuf``; the batch's buffers are the parts' in order).
 * @param {(msg: any, buffers: DataView[]) => void} fn
 * @returns {(msg: any, buffers: DataView[]) => void}
 */
function unbatched(fn) {
  return (msg, buffers) => {
    if (msg?.type !== "batch") { fn(msg, buffers); return; }
    let at = 0;
    for (const part of msg.parts) {
      const n = part.nbuf || 0;
      fn(part, buffers.slice(at, at + n));
      at += n;
    }
  };
}

/**
 * Listeners and timers of one component, released together.
 * @param {Model} model
 */
function makeScope(model) {
  /** @type {Array<() => void>} */
  const cleanups = [];
  return {
    /** model.on(names, fn), undone by dispose(); names may list several events separated by spaces. */
    on(/** @type {string} */ names, /** @type {(...args: any[]) => void} */ fn) {
      if (names === "msg:custom") fn = unbatched(fn);
      model.on(names, fn);
      cleanups.push(() => model.off(names, fn));
    },
    /** Run fn at dispose(). */
    add(/** @type {() => void} */ fn) { cleanups.push(fn); },
    dispose() { for (const fn of cleanups.splice(0)) fn(); },
  };
}

/**
 * @param {string} testid
 * @param {Array<[string, string]>} options  [value, label] pairs
 * @param {string} value
 */
function sel(testid, options, value) {
  const s = /** @type {HTMLSelectElement} */ (h("select", { testid }));
  for (const [v, t] of options) s.append(h("option", { value: v, text: t }));
  s.value = value;
  return s;
}

/**
 * The "kernel busy — waiting" notice: shown while a UI action has waited a second for its ack, which means a
 * cell is running and the kernel handles widget messages only when it finishes.
 * @param {ViewContext} ctx
 * @returns {Component}
 */
function busyNotice(ctx) {
  const el = h("span", { class: "rt-busy", testid: "rt-busy", hidden: true, text: "kernel busy — waiting" });
  const update = () => { el.hidden = !ctx.waiting(); };
  const timer = setInterval(update, 250);
  return { el, update, dispose: () => clearInterval(timer) };
}

/**
 * Header: status, close hint, backend/model/dialect badges, error and tolerated counters, Connect.
 * @param {ViewContext} ctx
 * @param {HTMLElement} busy   the busy notice, shown among the badges
 * @returns {Component}
 */
function header(ctx, busy) {
  const { model, engine } = ctx;
  const scope = makeScope(model);
  const status = h("span", { class: "rt-status", testid: "rt-status" });
  const backend = h("span", { class: "rt-badge rt-backend", testid: "rt-backend" });
  const modelBadge = h("span", { class: "rt-badge", testid: "rt-model" });
  const dialect = h("span", { class: "rt-badge", testid: "rt-dialect" });
  const errorsBtn = h("button", { class: "rt-errors", testid: "rt-errors", title: "errors (click to list)" });
  const tolerated = h("span", { class: "rt-badge rt-tolerated", testid: "rt-tolerated", hidden: true,
    title: "frames that deviated from the schema (flagged ⚠ in the log) or had an unknown type" });
  const closeHint = h("span", { class: "rt-close-hint", testid: "rt-close-hint", hidden: true });
  const connectBtn = h("button", { class: "rt-btn rt-primary", testid: "rt-connect" });
  const el = h("div", { class: "rt-header" }, status, closeHint, backend, modelBadge, dialect, errorsBtn,
    tolerated, busy, h("span", { class: "rt-spacer" }), connectBtn);

  connectBtn.addEventListener("click", () => {
    engine.ensure();
    ctx.action({ type: connectBtn.dataset.action });
  });
  errorsBtn.addEventListener("click", () => ctx.links.toggleErrors());

  const update = () => {
    const st = model.get("status");
    status.dataset.state = st;
    const code = model.get("close_code");
    const reason = model.get("close_reason");
    let text = st;
    if (st === "closed" && code != null) text = `closed ${code}${reason ? ` ${reason}` : ""}`;
    // A failed connect may have no close code (nothing answered): the reason alone says why.
    else if (st === "failed") text = `failed${code != null ? ` ${code}` : ""}${reason ? ` ${reason}` : ""}`;
    status.textContent = text;
    if (ctx.gone()) {  // the traits are the last the kernel sent: they no longer describe anything live
      status.dataset.state = "gone";
      status.textContent = "no kernel";
    }
    const hint = st === "failed" ? model.get("close_hint") : "";
    closeHint.textContent = hint ? `→ ${hint}` : "";
    closeHint.hidden = !hint;
    const live = st === "open" || st === "connecting";
    connectBtn.dataset.action = live ? "disconnect" : "connect";
    connectBtn.textContent = live ? "Disconnect" : "Connect";
    connectBtn.classList.toggle("rt-primary", !live);
    backend.textContent = model.get("backend");
    backend.classList.toggle("rt-local", model.get("backend") === "local simulator");
    const notice = model.get("model_notice") || "";
    modelBadge.textContent = notice ? `${model.get("model")} ⚠` : model.get("model");
    modelBadge.hidden = !model.get("model");
    modelBadge.title = notice;  // the model is on the shutdown list: when, and what replaces it
    modelBadge.classList.toggle("rt-retiring", Boolean(notice));
    dialect.textContent = model.get("dialect");
    const n = model.get("error_count");
    errorsBtn.textContent = `⚠ ${n}`;
    errorsBtn.dataset.count = String(n);
    errorsBtn.classList.toggle("rt-has-errors", n > 0);
    const nTolerated = model.get("tolerated_count") || 0;
    tolerated.textContent = `${nTolerated} tolerated`;
    tolerated.dataset.count = String(nTolerated);
    tolerated.hidden = nTolerated === 0;
  };
  scope.on("change:status change:close_code change:close_reason change:close_hint change:backend change:model "
    + "change:model_notice "
    + "change:dialect change:error_count change:tolerated_count", update);
  update();
  return { el, update, dispose: scope.dispose };
}

/**
 * Pinned errors (errors.window, then errors.append), hidden until the header's counter is clicked; a click jumps
 * to the row.
 * @param {ViewContext} ctx
 * @returns {Component & {toggle: () => void, show: (msg: KernelMessage) => void, append: (msg: KernelMessage) => void}}
 */
function errorList(ctx) {
  const el = h("div", { class: "rt-error-list", testid: "rt-error-list", hidden: true });
  /** @type {ErrorInfo[]} */
  let shown = [];
  let max = 50;
  const itemEl = (/** @type {ErrorInfo} */ e) => {
    const cause = e.cause_row != null ? h("span", { class: "rt-cause", text: `← ${e.cause_type} #${e.cause_row}` }) : null;
    const item = h("div", { class: "rt-error-item", testid: "rt-error-item", "data-row": String(e.row) },
      h("span", { class: "rt-time", text: fmtTime(e.time) }),
      h("span", { class: "rt-code", text: e.code || "error" }),
      h("span", { class: "rt-msg", text: e.message || "" }), cause);
    if (e.cause_row != null) item.dataset.causeRow = String(e.cause_row);
    item.addEventListener("click", () => ctx.links.jumpTo(e.row));
    return item;
  };
  // The kernel sends each error once (errors.append) and the whole list only to a new view or after a clear
  // (errors.window); an error already shown (same or older row) is skipped, so the two may overlap.
  const show = (/** @type {KernelMessage} */ msg) => {
    max = msg.max || max;
    shown = (msg.errors || []).slice(-max);
    el.replaceChildren(...shown.map(itemEl));
    if (!shown.length) el.hidden = true;  // Clear leaves no empty box behind
  };
  const append = (/** @type {KernelMessage} */ msg) => {
    max = msg.max || max;
    for (const e of msg.errors || []) {
      if (shown.length && e.row <= shown[shown.length - 1].row) continue;
      shown.push(e);
      el.append(itemEl(e));
    }
    while (shown.length > max) { shown.shift(); el.firstElementChild?.remove(); }
  };
  return { el, show, append, toggle: () => { el.hidden = !el.hidden || !shown.length; }, dispose: () => {} };
}

/**
 * The form's inputs, by field; buildSession() reads them and fillForm() writes them.
 * @typedef {object} FormFields
 * @property {HTMLTextAreaElement} instructions
 * @property {HTMLSelectElement} modality
 * @property {HTMLInputElement} voice
 * @property {HTMLSelectElement} turn
 * @property {HTMLInputElement} threshold
 * @property {HTMLInputElement} prefix
 * @property {HTMLInputElement} silence
 * @property {HTMLInputElement} idle
 * @property {HTMLSelectElement} eagerness
 * @property {HTMLInputElement} createResponse
 * @property {HTMLInputElement} interruptResponse
 * @property {HTMLInputElement} transcription
 * @property {HTMLInputElement} transcriptionModel
 * @property {HTMLInputElement} maxTokens
 * @property {HTMLInputElement} toolChoice
 * @property {HTMLTextAreaElement} tools
 * @property {() => void} syncVisibility   show the rows that apply to the chosen turn detection
 */

/**
 * The session in one line, for the form's collapsed summary: output, voice, turn detection, tools.
 * @param {Record<string, any>} s   the effective session (GA or beta shape)
 */
function sessionSummary(s) {
  if (!Object.keys(s).length) return "";
  const modalities = s.output_modalities || s.modalities || [];
  const voice = s.audio?.output?.voice ?? s.voice;
  const turn = s.audio?.input?.turn_detection ?? s.turn_detection;
  const tools = (s.tools || []).length;
  return [modalities.includes("audio") ? "audio" : "text", typeof voice === "string" ? voice : voice?.id,
    turn ? turn.type : "push to talk", tools ? `${tools} tool${tools === 1 ? "" : "s"}` : null]
    .filter(Boolean).map((p) => ` · ${p}`).join("");
}

/**
 * Session form: GA session fields, Apply (validated by the kernel), the refusal reason, and the
 * effective session with the fields that differ from what was asked.
 * @param {ViewContext} ctx
 * @returns {Component}
 */
function sessionForm(ctx) {
  const { model, viewId } = ctx;
  const scope = makeScope(model);
  /** @type {(label: string, input: HTMLElement, extra?: HTMLElement) => HTMLElement} */
  const field = (label, input, extra) => h("label", { class: "rt-field" }, h("span", { text: label }), input, extra);
  const input = (/** @type {Record<string, any>} */ attrs) => /** @type {HTMLInputElement} */ (h("input", attrs));
  const area = (/** @type {Record<string, any>} */ attrs) => /** @type {HTMLTextAreaElement} */ (h("textarea", attrs));
  /** @type {FormFields} */
  const f = {
    instructions: area({ testid: "rt-instructions", rows: 2, placeholder: "instructions (system message)" }),
    modality: sel("rt-modality", [["audio", "audio + transcript"], ["text", "text"]], "audio"),
    voice: input({ testid: "rt-voice", list: `${viewId}-voices`, value: "alloy" }),
    turn: sel("rt-turn", [["none", "none (push to talk)"], ["server_vad", "server_vad"], ["semantic_vad", "semantic_vad"]], "server_vad"),
    threshold: input({ testid: "rt-threshold", type: "number", step: "0.05", min: "0", max: "1", value: "0.5" }),
    prefix: input({ testid: "rt-prefix-ms", type: "number", step: "10", min: "0", value: "300" }),
    silence: input({ testid: "rt-silence-ms", type: "number", step: "10", min: "0", value: "500" }),
    idle: input({ testid: "rt-idle-ms", type: "number", step: "100", min: "0", placeholder: "off" }),
    eagerness: sel("rt-eagerness", [["auto", "auto"], ["low", "low"], ["medium", "medium"], ["high", "high"]], "auto"),
    createResponse: input({ testid: "rt-create-response", type: "checkbox", checked: true }),
    interruptResponse: input({ testid: "rt-interrupt-response", type: "checkbox", checked: true }),
    transcription: input({ testid: "rt-transcription", type: "checkbox" }),
    transcriptionModel: input({ testid: "rt-transcription-model", value: "gpt-transcribe" }),
    maxTokens: input({ testid: "rt-max-tokens", value: "inf", placeholder: "1..4096 or inf" }),
    toolChoice: input({ testid: "rt-tool-choice", value: "auto", placeholder: "auto | none | required | tool name" }),
    tools: area({ testid: "rt-tools", rows: 3, placeholder: '[{"type": "function", "name": "...", "parameters": {...}}]' }),
    syncVisibility: () => {},
  };
  const voices = h("datalist", { id: `${viewId}-voices` });
  for (const v of VOICES) voices.append(h("option", { value: v }));
  const vadRows = [field("threshold", f.threshold), field("prefix padding ms", f.prefix),
    field("silence ms", f.silence), field("idle timeout ms", f.idle)];
  const semRows = [field("eagerness", f.eagerness)];
  const turnFlags = h("div", { class: "rt-checks" },
    h("label", {}, f.createResponse, " create_response"), h("label", {}, f.interruptResponse, " interrupt_response"));
  f.syncVisibility = () => {
    for (const r of vadRows) r.hidden = f.turn.value !== "server_vad";
    for (const r of semRows) r.hidden = f.turn.value !== "semantic_vad";
    turnFlags.hidden = f.turn.value === "none";
    f.transcriptionModel.disabled = !f.transcription.checked;
  };
  f.turn.addEventListener("change", f.syncVisibility);
  f.transcription.addEventListener("change", f.syncVisibility);
  f.syncVisibility();
  const formError = h("div", { class: "rt-form-error", testid: "rt-form-error", role: "alert" });
  const formNotice = h("span", { class: "rt-form-notice", testid: "rt-form-notice", role: "status" });
  const applyBtn = /** @type {HTMLButtonElement} */ (h("button", { class: "rt-btn", testid: "rt-apply", text: "Apply" }));
  const sessionView = h("div", { class: "rt-session", testid: "rt-session" });
  const summaryLine = h("span", { class: "rt-subtle rt-form-summary", testid: "rt-form-summary" });
  const el = h("details", { class: "rt-form", testid: "rt-form" },
    h("summary", {}, h("span", { text: "Session" }), summaryLine),
    h("div", { class: "rt-form-grid" },
      field("instructions", f.instructions), field("output", f.modality), field("voice", f.voice, voices),
      field("turn detection", f.turn), ...vadRows, ...semRows, turnFlags,
      h("label", { class: "rt-field" }, h("span", { text: "input transcription" }),
        h("span", { class: "rt-inline" }, f.transcription, f.transcriptionModel)),
      field("max output tokens", f.maxTokens), field("tool choice", f.toolChoice), field("tools (JSON)", f.tools)),
    h("div", { class: "rt-row" }, applyBtn, formNotice, formError),
    h("div", { class: "rt-subtle", text: "effective session (from session.updated)" }), sessionView);
  applyBtn.addEventListener("click", () => {
    const { session, errors } = buildSession(f);
    if (errors.length) {
      formError.textContent = `refused: ${errors.join("; ")}`;
      formError.dataset.source = "form";
      return;
    }
    formError.textContent = "";
    formNotice.textContent = "";
    ctx.action({ type: "apply", session });
  });

  const renderSession = () => {
    const eff = model.get("session_effective");
    summaryLine.textContent = sessionSummary(eff || {});
    const diff = model.get("session_diff") || [];
    sessionView.replaceChildren();
    if (diff.length) {
      const list = h("div", { class: "rt-diff" });
      for (const d of diff) {
        list.append(h("div", { class: "rt-session-diff", testid: "rt-session-diff", "data-path": d.path },
          h("code", { text: d.path }), ` asked ${JSON.stringify(d.asked)}, got ${JSON.stringify(d.got)}`));
      }
      sessionView.append(list);
    }
    if (eff && Object.keys(eff).length) sessionView.append(h("pre", { text: JSON.stringify(eff, null, 2) }));
  };
  let formFilled = false;
  const onSession = () => {
    renderSession();
    if (!formFilled && model.get("session_effective") && Object.keys(model.get("session_effective")).length) {
      formFilled = true;
      fillForm(f, model.get("session_effective"));
    }
  };
  const renderFormError = () => {
    const err = model.get("form_error");
    if (err || formError.dataset.source !== "form") {
      formError.textContent = err ? `refused: ${err}` : "";
      formError.dataset.source = "kernel";
    }
  };
  const renderNotice = () => {
    const notice = model.get("form_notice") || "";
    formNotice.textContent = notice === "applied" ? "✓ applied" : notice;
    formNotice.dataset.state = notice === "applied" ? "applied" : notice ? "sent" : "";
  };
  const renderStatus = () => {
    applyBtn.disabled = model.get("status") !== "open";
    // A new connection is a new server session: the form follows its session.created, not the old one's.
    if (model.get("status") === "connecting") formFilled = false;
  };
  const update = () => { renderStatus(); onSession(); renderNotice(); };
  scope.on("change:status", renderStatus);
  scope.on("change:form_notice", renderNotice);
  scope.on("change:session_effective change:session_diff", onSession);
  scope.on("change:form_error", renderFormError);
  update();
  return { el, update, dispose: scope.dispose };
}

/**
 * Audio bar of one view: the engine's counters as data-* attributes, enable-audio, mute and volume. It redraws
 * at most once per animation frame, however often the engine reports.
 * @param {ViewContext} ctx
 * @returns {Component}
 */
function audioBar(ctx) {
  const { engine } = ctx;
  const enableAudio = h("button", { class: "rt-btn rt-warn", testid: "rt-enable-audio", text: "▶ enable audio", hidden: true });
  enableAudio.addEventListener("click", () => engine.ensure());
  const volume = /** @type {HTMLInputElement} */ (h("input", { type: "range", min: "0", max: "1", step: "0.05",
    testid: "rt-volume", value: String(engine.volume), title: "volume" }));
  volume.addEventListener("input", () => { engine.volume = Number(volume.value); engine.applyVolume(); });
  const mute = h("button", { class: "rt-btn rt-icon", testid: "rt-mute", title: "mute" });
  mute.addEventListener("click", () => { engine.muted = !engine.muted; engine.applyVolume(); });
  const meter = h("span", { class: "rt-meter" });
  const busy = h("span", { class: "rt-busy", testid: "rt-audio-busy", hidden: true, text: "kernel busy — audio waits" });
  const buffering = h("span", { class: "rt-meter", testid: "rt-underruns",
    title: "pre-roll (the preroll_ms setting): audio buffered before playback starts from silence; underruns: " +
      "times playback ran dry mid-item. A longer pre-roll delays the first sample but rides out late deltas" });
  const el = h("div", { class: "rt-audio", testid: "rt-audio" }, enableAudio, mute, volume, meter, buffering, busy);
  const update = () => {
    const st = engine.state();
    const item = engine.currentItem;
    const rec = item ? (1000 * (engine.received[item] || 0)) / SAMPLE_RATE_HZ : 0;
    const pl = item ? (1000 * (engine.played[item] || 0)) / SAMPLE_RATE_HZ : 0;
    const sum = (/** @type {Record<string, number>} */ o) => Object.values(o).reduce((a, b) => a + b, 0);
    el.dataset.receivedMs = String(Math.round(rec));
    el.dataset.playedMs = String(Math.round(pl));
    el.dataset.totalReceivedMs = String(Math.round((1000 * sum(engine.received)) / SAMPLE_RATE_HZ));
    el.dataset.totalPlayedMs = String(Math.round((1000 * sum(engine.played)) / SAMPLE_RATE_HZ));
    el.dataset.itemId = item || "";
    el.dataset.state = st;
    el.dataset.mode = engine.mode;
    el.dataset.underruns = String(engine.underruns);
    enableAudio.hidden = st !== "suspended";
    mute.textContent = engine.muted ? "unmute" : "mute";
    mute.setAttribute("aria-pressed", String(engine.muted));
    meter.textContent = item ? `${(pl / 1000).toFixed(1)} / ${(rec / 1000).toFixed(1)} s` : "no audio yet";
    buffering.dataset.count = String(engine.underruns);
    buffering.dataset.prerollMs = String(engine.prerollMs);
    buffering.textContent = `pre-roll ${engine.prerollMs} ms · ${engine.underruns} underrun${engine.underruns === 1 ? "" : "s"}`;
  };
  let frame = 0;
  const listener = () => {
    if (frame) return;
    frame = requestAnimationFrame(() => { frame = 0; update(); });
  };
  engine.listeners.add(listener);
  // Playback that starves may mean a running cell holds the kernel (audio stops reaching the page): a ping
  // the kernel must acknowledge tells, through the same busy detection as the header's.
  let underruns = engine.underruns;
  let probed = 0;
  const watch = setInterval(() => {
    const now = performance.now();
    if (engine.underruns !== underruns && now - probed > BUSY_AFTER_MS) {
      underruns = engine.underruns;
      probed = now;
      ctx.action({ type: "ping" });
    }
    busy.hidden = !ctx.waiting();
  }, 250);
  update();
  return { el, update, dispose: () => { engine.listeners.delete(listener); cancelAnimationFrame(frame); clearInterval(watch); } };
}

/**
 * The turn mode as the effective session says it: no turn detection is push-to-talk.
 * @param {Record<string, any>} s   the effective session (GA or beta shape)
 * @returns {string}
 */
function sessionTurnMode(s) {
  if (!s || !Object.keys(s).length) return "server_vad";  // a fresh session's default
  const td = s.audio?.input ? s.audio.input.turn_detection : s.turn_detection;
  return td ? td.type : "ptt";
}

/**
 * Voice: the turn mode (text, push-to-talk, hands-free by server or semantic VAD), the microphone with its
 * device and processing toggles, the hold-to-talk button (the space bar too), input and output meters, and
 * the reason when the microphone cannot work.
 * @param {ViewContext} ctx
 * @returns {Component & {key: (e: KeyboardEvent, down: boolean) => boolean}}
 */
function voiceBar(ctx) {
  const { model, engine } = ctx;
  const capture = captureFor(model);
  const scope = makeScope(model);
  const mode = sel("rt-mode", [["text", "text only"], ["ptt", "push to talk"], ["server_vad", "hands-free (server VAD)"],
    ["semantic_vad", "hands-free (semantic VAD)"]], "text");
  const micBtn = /** @type {HTMLButtonElement} */ (h("button", { class: "rt-btn", testid: "rt-mic", text: "mic",
    "aria-pressed": "false", title: "microphone on / off" }));
  const ptt = /** @type {HTMLButtonElement} */ (h("button", { class: "rt-btn rt-ptt", testid: "rt-ptt", text: "hold to talk",
    hidden: true, title: "hold to talk (or hold the space bar while the console has focus); release to send" }));
  const device = sel("rt-mic-device", [["", "default microphone"]], "");
  const level = (/** @type {string} */ testid, /** @type {string} */ title) =>
    h("span", { class: "rt-level", testid, title, "data-rms": "0" }, h("span", { class: "rt-level-bar" }));
  const micLevel = level("rt-mic-level", "microphone level");
  const outLevel = level("rt-out-level", "output level");
  const check = (/** @type {string} */ testid, /** @type {string} */ label, /** @type {"echoCancellation" | "noiseSuppression" | "autoGainControl"} */ key) => {
    const box = /** @type {HTMLInputElement} */ (h("input", { type: "checkbox", testid, checked: capture.constraints[key] }));
    box.addEventListener("change", () => { capture.constraints[key] = box.checked; capture.restart(); });
    return h("label", { class: "rt-check", title: key }, box, ` ${label}`);
  };
  const error = h("div", { class: "rt-mic-error", testid: "rt-mic-error", role: "alert", hidden: true });
  const el = h("div", { class: "rt-voice" },
    h("div", { class: "rt-row" }, mode, micBtn, ptt, micLevel, outLevel),
    h("div", { class: "rt-row rt-mic-options" }, device, check("rt-mic-ec", "echo cancel", "echoCancellation"),
      check("rt-mic-ns", "noise suppr.", "noiseSuppression"), check("rt-mic-agc", "auto gain", "autoGainControl")),
    error);

  let held = false;
  const press = () => {
    if (held || !capture.on || model.get("status") !== "open") return;
    held = true;
    const item = engine.currentItem;
    capture.setActive(true);
    engine.flush(item).then((played) => ctx.action({ type: "ptt.start", played, item }));
    draw();
  };
  const release = () => {
    if (!held) return;
    held = false;
    capture.setActive(false).then(() => ctx.action({ type: "ptt.end" }));
    draw();
  };
  ptt.addEventListener("pointerdown", (e) => { ptt.setPointerCapture(e.pointerId); e.preventDefault(); press(); });
  ptt.addEventListener("pointerup", release);
  ptt.addEventListener("pointercancel", release);
  ptt.addEventListener("lostpointercapture", release);

  /** Start (or stop) the microphone for `want`, and ask the session for that turn mode. */
  const choose = async (/** @type {string} */ want) => {
    if (want === "text") { capture.stop(); draw(); return; }
    engine.ensure();
    if (!(await capture.start())) { draw(); return; }
    if (want !== sessionTurnMode(model.get("session_effective"))) ctx.action({ type: "mode", mode: want });
    capture.setActive(want !== "ptt");
    draw();
  };
  mode.addEventListener("change", () => { choose(mode.value); });
  micBtn.addEventListener("click", () => {
    choose(capture.on ? "text" : sessionTurnMode(model.get("session_effective")));
  });
  device.addEventListener("change", () => { capture.deviceId = device.value; capture.restart(); });

  const draw = () => {
    const st = sessionTurnMode(model.get("session_effective"));
    const open = model.get("status") === "open";
    mode.value = capture.on ? st : "text";
    micBtn.setAttribute("aria-pressed", String(capture.on));
    if (capture.turn) {  // the last stretch of capture: microphone ms in, audio ms sent, the context's rate
      micBtn.dataset.capturedMs = capture.turn.inMs.toFixed(1);
      micBtn.dataset.sentMs = capture.turn.outMs.toFixed(1);
      micBtn.dataset.contextRate = String(capture.turn.ctxRate);
    }
    micBtn.classList.toggle("rt-primary", capture.on);
    ptt.hidden = !(capture.on && st === "ptt");
    ptt.disabled = !open;
    ptt.classList.toggle("rt-held", held);
    ptt.setAttribute("aria-pressed", String(held));
    error.textContent = capture.error;
    error.hidden = !capture.error;
    const ids = capture.devices.map((d) => d.id).join("|");
    if (device.dataset.ids !== ids) {
      device.dataset.ids = ids;
      device.replaceChildren(h("option", { value: "", text: "default microphone" }),
        ...capture.devices.filter((d) => d.id && d.id !== "default").map((d) => h("option", { value: d.id, text: d.label })));
      device.value = capture.deviceId;
    }
    for (const [meter, rms] of [[micLevel, capture.on ? capture.rms : 0], [outLevel, engine.outRms]]) {
      const m = /** @type {HTMLElement} */ (meter);
      m.dataset.rms = Number(rms).toFixed(4);
      const bar = /** @type {HTMLElement} */ (m.firstChild);
      bar.style.width = `${Math.min(100, Math.round(Math.sqrt(Number(rms)) * 140))}%`;
    }
  };
  // The session decides between push-to-talk and hands-free; the rate follows its input format.
  const onSession = () => {
    capture.setRate(model.get("mic_rate"));
    if (capture.on && !held) capture.setActive(sessionTurnMode(model.get("session_effective")) !== "ptt");
    draw();
  };
  scope.on("change:session_effective change:mic_rate", onSession);
  scope.on("change:status", () => {
    if (model.get("status") !== "open") release();
    draw();
  });
  let frame = 0;
  const redraw = () => { if (!frame) frame = requestAnimationFrame(() => { frame = 0; draw(); }); };
  capture.listeners.add(redraw);
  engine.listeners.add(redraw);
  draw();
  return {
    el,
    update: draw,
    /** Space held while the console (not a field) has focus = the hold-to-talk button. */
    key(e, down) {
      if (e.key !== " " || ptt.hidden) return false;
      e.preventDefault();
      if (down && !e.repeat) press();
      else if (!down) release();
      return true;
    },
    dispose: () => {
      release();
      capture.listeners.delete(redraw);
      engine.listeners.delete(redraw);
      cancelAnimationFrame(frame);
      scope.dispose();
    },
  };
}

/**
 * Talk: the streamed reply (status from the `reply` trait, text from reply.text messages), the prompt (Enter
 * sends), respond, Send, Stop and the audio bar.
 * @param {ViewContext} ctx
 * @returns {Component & {setReplyText: (msg: KernelMessage) => void}}
 */
function talk(ctx) {
  const { model, engine } = ctx;
  const scope = makeScope(model);
  const prompt = /** @type {HTMLTextAreaElement} */ (h("textarea", { class: "rt-prompt", testid: "rt-prompt", rows: 2,
    placeholder: "Message — Enter sends, Shift+Enter for a newline" }));
  const respond = /** @type {HTMLInputElement} */ (h("input", { type: "checkbox", testid: "rt-respond", checked: true }));
  const sendBtn = /** @type {HTMLButtonElement} */ (h("button", { class: "rt-btn rt-primary", testid: "rt-send", text: "Send" }));
  const stopBtn = /** @type {HTMLButtonElement} */ (h("button", { class: "rt-btn rt-danger", testid: "rt-stop", text: "Stop" }));
  const reply = h("div", { class: "rt-reply", testid: "rt-reply" });
  // The reply's text arrives in pieces (reply.text: the text from `at` on), appended to one text node.
  const replyText = document.createTextNode("");
  const replyTextEl = h("span", { class: "rt-reply-text" }, replyText);
  /** @type {string | null} */
  let replyItem = null;
  const notice = h("div", { class: "rt-talk-notice", testid: "rt-talk-notice", role: "status", hidden: true });
  const audio = audioBar(ctx);
  scope.add(audio.dispose);
  const send = () => {
    const text = prompt.value;
    if (!text.trim() || sendBtn.disabled) return;
    engine.ensure();
    ctx.action({ type: "send_text", text, respond: respond.checked });
    prompt.value = "";
  };
  prompt.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }  // also Ctrl/Cmd+Enter
  });
  sendBtn.addEventListener("click", send);
  stopBtn.addEventListener("click", () => {
    const item = engine.currentItem;
    engine.flush(item).then((played) => ctx.action({ type: "stop", played, item }));
  });

  const renderReply = () => {
    const r = model.get("reply") || {};
    reply.dataset.status = r.status || "";
    reply.dataset.itemId = r.item_id || "";
    reply.replaceChildren(replyTextEl);
    if (r.status === "truncated") {
      reply.append(h("span", { class: "rt-tag", text: `truncated at ${((r.truncated_ms || 0) / 1000).toFixed(2)} s` }));
    } else if (r.status && r.status !== "done" && r.status !== "streaming") {
      reply.append(h("span", { class: "rt-tag", text: r.status }));
    }
  };
  const renderStatus = () => {
    const open = model.get("status") === "open";
    sendBtn.disabled = !open;
    stopBtn.disabled = !open;
  };
  const setReplyText = (/** @type {KernelMessage} */ msg) => {
    const at = msg.at || 0;
    const text = msg.text || "";
    if (at > 0 && msg.item === replyItem && at === replyText.length) replyText.appendData(text);
    else if (at > 0 && msg.item === replyItem) replyText.data = replyText.data.slice(0, at) + text;
    else replyText.data = text;
    replyItem = msg.item ?? null;
  };
  const renderNotice = () => {
    notice.textContent = model.get("talk_notice") || "";
    notice.hidden = !notice.textContent;
  };
  const update = () => { renderStatus(); renderReply(); renderNotice(); };
  scope.on("change:status", renderStatus);
  scope.on("change:reply", renderReply);
  scope.on("change:talk_notice", renderNotice);
  update();
  const el = h("div", { class: "rt-talk" },
    h("div", { class: "rt-subtle", text: "current reply" }), reply,
    prompt, notice,
    h("div", { class: "rt-row" }, h("label", { class: "rt-check" }, respond, " respond"), sendBtn, stopBtn, audio.el));
  return { el, update, setReplyText, dispose: scope.dispose };
}

/**
 * One log row's element. A click on the row toggles its detail; a click on its cause link jumps to that row.
 * @param {LogRow} r
 * @param {{toggle: (rowId: number) => void, jumpTo: (rowId: number) => void, search: () => string}} on
 */
function logRowEl(r, on) {
  const dir = DIRS[r.d] || r.d;
  const flags = r.f || "";
  const classes = ["rt-log-row", `rt-${dir}`];
  if (flags.includes("e")) classes.push("rt-error");
  if (flags.includes("u")) classes.push("rt-unknown");
  if (flags.includes("w")) classes.push("rt-row-warn");
  if (r.y === "local.connecting") classes.push("rt-row-sep");  // each connection starts below a rule
  const el = h("div", { class: classes.join(" "),
    testid: "rt-log-row", "data-type": r.y, "data-dir": dir, "data-row": String(r.i), "data-count": String(r.n || 1) },
  h("span", { class: "rt-arrow", text: ARROWS[dir] || "?" }),
  h("span", { class: "rt-time", text: fmtTime(r.t) }),
  marked(r.y, on.search(), { class: "rt-type", title: r.y }),
  flags.includes("u") ? h("span", { class: "rt-tag", text: "unknown type", title: "not in the dialect's event set" }) : null,
  flags.includes("x") ? h("span", { class: "rt-tag", text: "bad frame" }) : null,
  flags.includes("w") ? h("span", { class: "rt-tag", text: "⚠ tolerated",
    title: "a known type that deviates from the schema: the problems are in the summary" }) : null,
  h("span", { class: "rt-meta", text: runMeta(r) }),
  marked(r.s || "", on.search(), { class: "rt-summary", title: r.s || "" }),  // title: the whole summary
  r.c != null ? h("a", { class: "rt-cause", text: `← #${r.c}`, title: "the client event this answers",
    onclick: (/** @type {Event} */ e) => { e.stopPropagation(); on.jumpTo(/** @type {number} */ (r.c)); } }) : null);
  if (flags) el.dataset.flags = flags;
  el.addEventListener("click", () => on.toggle(r.i));
  return el;
}

/**
 * The log view's messages from the kernel (routed by handleKernelMessage).
 * @typedef {object} LogHandlers
 * @property {(msg: KernelMessage) => void} append       log.append (batched: one DOM pass per frame)
 * @property {(msg: KernelMessage) => void} showWindow   log.window
 * @property {(msg: KernelMessage) => void} addPage      log.page
 * @property {(msg: KernelMessage) => void} showDetail   log.detail
 * @property {(rowId: number) => void} jumpTo
 */

/**
 * Event log: toolbar (filter, search, count, follow, clear) and a bounded window of rows that pages in older
 * and newer rows as the reader scrolls; the kernel holds the whole log.
 * @param {ViewContext} ctx
 * @returns {Component & LogHandlers}
 */
function logView(ctx) {
  const { model, request } = ctx;
  const scope = makeScope(model);
  const filter = sel("rt-filter", [["all", "all events"], ["no_audio", "hide audio deltas"],
    ["no_deltas", "hide all deltas"], ["errors", "errors only"]], model.get("log_filter"));
  const search = /** @type {HTMLInputElement} */ (h("input", { type: "search", testid: "rt-search",
    placeholder: "search type, text, JSON", value: model.get("log_search") }));
  const count = h("span", { class: "rt-subtle", testid: "rt-log-count" });
  const follow = h("button", { class: "rt-btn rt-follow", testid: "rt-follow", text: "↓ latest", hidden: true });
  const clearBtn = h("button", { class: "rt-btn", testid: "rt-clear", text: "Clear" });
  const list = h("div", { class: "rt-log", testid: "rt-log", role: "log", tabindex: "0" });
  const el = h("div", { class: "rt-logbox" },
    h("div", { class: "rt-row rt-toolbar" }, filter, search, count, h("span", { class: "rt-spacer" }), follow, clearBtn),
    list);

  filter.addEventListener("change", () => { model.set("log_filter", filter.value); model.save_changes(); });
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let searchTimer;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { model.set("log_search", search.value); model.save_changes(); }, 200);
  });
  scope.add(() => clearTimeout(searchTimer));
  clearBtn.addEventListener("click", () => ctx.action({ type: "clear" }));
  scope.on("change:log_filter", () => { filter.value = model.get("log_filter"); });
  scope.on("change:log_search", () => { if (document.activeElement !== search) search.value = model.get("log_search"); });

  // Window state: `rows` mirrors the DOM; offset = position of rows[0] among the rows matching the filter.
  /** @type {LogRow[]} */
  let rows = [];
  /** @type {Map<number, HTMLElement>} */
  const rowEls = new Map();
  let offset = 0;
  let total = 0;
  let atTail = true;
  let autoscroll = true;
  let loading = false;
  /** @type {{row: number, member: number, el: HTMLElement} | null} */
  let open = null;
  /** @type {number | null} */
  let pendingFocus = null;

  const rowHandlers = { toggle: (/** @type {number} */ rowId) => toggleDetail(rowId, 0),
    jumpTo: (/** @type {number} */ rowId) => jumpTo(rowId), search: () => String(model.get("log_search") || "") };
  const rowEl = (/** @type {LogRow} */ r) => logRowEl(r, rowHandlers);

  const updateCount = () => {
    count.textContent = `${total} row${total === 1 ? "" : "s"}`;
    follow.hidden = atTail && autoscroll;
  };
  const nearBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < 24;
  const scrollToBottom = () => { list.scrollTop = list.scrollHeight; };

  /** @type {(newRows: LogRow[], newOffset: number, newTotal: number, tail: boolean) => void} */
  const replaceWindow = (newRows, newOffset, newTotal, tail) => {
    rows = newRows;
    offset = newOffset;
    total = newTotal;
    atTail = tail;
    rowEls.clear();
    const frag = document.createDocumentFragment();
    for (const r of rows) { const e = rowEl(r); rowEls.set(r.i, e); frag.append(e); }
    list.replaceChildren(frag);
    open = null;
    updateCount();
  };

  const trimTop = () => {
    const extra = rows.length - MAX_DOM_ROWS;
    if (extra <= 0) return;
    for (const r of rows.splice(0, extra)) {
      rowEls.get(r.i)?.remove();
      rowEls.delete(r.i);
    }
    offset += extra;
  };
  const trimBottom = () => {
    while (rows.length > MAX_DOM_ROWS) {
      const r = /** @type {LogRow} */ (rows.pop());
      rowEls.get(r.i)?.remove();
      rowEls.delete(r.i);
      atTail = false;
    }
  };

  /** @param {{rows: LogRow[], updates: LogRow[], total: number}} msg */
  const onAppend = (msg) => {
    total = msg.total;
    for (const r of msg.updates || []) {
      const old = rowEls.get(r.i);
      if (!old) continue;
      const idx = rows.findIndex((x) => x.i === r.i);
      if (idx >= 0) rows[idx] = r;
      const fresh = rowEl(r);
      const next = /** @type {Element | null} */ (old.nextSibling);
      const detail = next?.classList?.contains("rt-log-detail") ? next : null;
      old.replaceWith(fresh);
      rowEls.set(r.i, fresh);
      if (detail) fresh.after(detail);
    }
    if (atTail && msg.rows.length) {
      if (!autoscroll && rows.length + msg.rows.length > MAX_DOM_ROWS) {
        // The reader is scrolled up: stop following rather than grow the DOM; "↓ latest" fetches the tail.
        atTail = false;
      } else {
        // While following the tail, rows that would be trimmed at once are never built.
        const incoming = autoscroll && msg.rows.length > MAX_DOM_ROWS ? msg.rows.slice(-MAX_DOM_ROWS) : msg.rows;
        const frag = document.createDocumentFragment();
        for (const r of incoming) {
          if (rows.length && r.i <= rows[rows.length - 1].i) continue;
          rows.push(r);
          const e = rowEl(r);
          rowEls.set(r.i, e);
          frag.append(e);
        }
        list.append(frag);
        if (autoscroll) {
          offset += msg.rows.length - incoming.length;
          trimTop();
          scrollToBottom();
        }
      }
    }
    updateCount();
  };

  // Appends that arrive together (e.g. after a busy kernel catches up) are applied in one DOM pass per frame.
  /** @type {KernelMessage[]} */
  let appendQueue = [];
  let appendFrame = 0;
  /** @param {KernelMessage} msg */
  const append = (msg) => {
    appendQueue.push(msg);
    if (appendFrame) return;
    appendFrame = requestAnimationFrame(() => {
      appendFrame = 0;
      const q = appendQueue;
      appendQueue = [];
      onAppend({ rows: q.flatMap((m) => m.rows || []), updates: q.flatMap((m) => m.updates || []),
        total: /** @type {number} */ (q[q.length - 1].total) });
    });
  };
  scope.add(() => cancelAnimationFrame(appendFrame));

  /** @param {KernelMessage} msg */
  const showWindow = (msg) => {
    loading = false;
    appendQueue = [];
    autoscroll = /** @type {boolean} */ (msg.tail);
    replaceWindow(msg.rows || [], msg.offset || 0, msg.total || 0, !!msg.tail);
    const target = pendingFocus != null ? rowEls.get(pendingFocus) : undefined;
    if (target) {
      autoscroll = false;
      target.classList.add("rt-focus");
      target.scrollIntoView({ block: "center" });
      pendingFocus = null;
    } else if (autoscroll) scrollToBottom();
    updateCount();
  };

  /** @param {KernelMessage} msg */
  const addPage = (msg) => {
    const pageRows = msg.rows || [];
    loading = false;
    if (msg.dir === "older") {
      const before = list.scrollHeight;
      const frag = document.createDocumentFragment();
      for (const r of pageRows) { const e = rowEl(r); rowEls.set(r.i, e); frag.append(e); }
      list.prepend(frag);
      rows = [...pageRows, ...rows];
      offset = /** @type {number} */ (msg.offset);
      list.scrollTop += list.scrollHeight - before;
      trimBottom();
    } else {
      const frag = document.createDocumentFragment();
      for (const r of pageRows) { if (rowEls.has(r.i)) continue; const e = rowEl(r); rowEls.set(r.i, e); frag.append(e); rows.push(r); }
      list.append(frag);
      atTail = !!msg.tail;
      const before = list.scrollHeight;
      const top = list.scrollTop;
      trimTop();
      list.scrollTop = top - (before - list.scrollHeight);
    }
    total = /** @type {number} */ (msg.total);
    updateCount();
  };

  const requestTail = () => { loading = true; request({ type: "log.window", limit: PAGE_ROWS * 2 }); };
  /** @param {number} rowId */
  const jumpTo = (rowId) => {
    autoscroll = false;
    loading = true;
    pendingFocus = rowId;
    request({ type: "log.around", row: rowId, limit: PAGE_ROWS * 2 });
  };

  list.addEventListener("scroll", () => {
    // Autoscroll pauses while the user reads older rows and resumes when they scroll back to the bottom.
    if (nearBottom()) {
      if (atTail) autoscroll = true;
      else if (!loading) { loading = true; request({ type: "log.page", after: rows[rows.length - 1]?.i, limit: PAGE_ROWS }); }
    } else {
      autoscroll = false;
    }
    if (list.scrollTop < 40 && offset > 0 && !loading && rows.length) {
      loading = true;
      request({ type: "log.page", before: rows[0].i, limit: PAGE_ROWS });
    }
    updateCount();
  });
  follow.addEventListener("click", () => { autoscroll = true; requestTail(); });

  /** @type {(rowId: number, member: number) => void} */
  const toggleDetail = (rowId, member) => {
    const rowElement = rowEls.get(rowId);
    if (!rowElement) return;
    if (open && open.row === rowId && member === open.member && open.el.isConnected) {
      open.el.remove();
      open = null;
      return;
    }
    if (open?.el) open.el.remove();
    const box = h("div", { class: "rt-log-detail", testid: "rt-log-detail" }, h("span", { class: "rt-subtle", text: "loading…" }));
    rowElement.after(box);
    open = { row: rowId, member, el: box };
    request({ type: "log.detail", row: rowId, member });
  };

  /** @param {KernelMessage} msg */
  const showDetail = (msg) => {
    if (!open || open.row !== msg.row) return;
    const shown = open;
    const row = /** @type {number} */ (msg.row);
    const member = /** @type {number} */ (msg.member);
    const box = shown.el;
    box.replaceChildren(rowActions(ctx, msg, rowEls.get(row)?.dataset.dir || ""));
    if ((msg.count || 0) > 1) {
      const show = (/** @type {number} */ m) => { shown.member = m; request({ type: "log.detail", row, member: m }); };
      const prev = h("button", { class: "rt-btn rt-icon", testid: "rt-detail-prev", text: "◀", disabled: member <= 0 });
      const next = h("button", { class: "rt-btn rt-icon", testid: "rt-detail-next", text: "▶", disabled: member >= (msg.count || 0) - 1 });
      prev.addEventListener("click", (e) => { e.stopPropagation(); show(member - 1); });
      next.addEventListener("click", (e) => { e.stopPropagation(); show(member + 1); });
      box.append(h("div", { class: "rt-row" }, prev, h("span", { text: `member ${member + 1} of ${msg.count} (entry #${msg.entry})` }), next));
      if (msg.text) box.append(marked(msg.text, rowHandlers.search(), { class: "rt-run-text" }));
    }
    const cause = msg.cause;
    if (cause) {
      box.append(h("a", { class: "rt-cause", text: `caused by ${cause.type} #${cause.row}`,
        onclick: () => jumpTo(cause.row) }));
    }
    box.append(h("pre", {}, marked(/** @type {string} */ (msg.json), rowHandlers.search(), {})));
  };

  updateCount();
  return { el, update: updateCount, append, showWindow, addPage, showDetail, jumpTo, dispose: scope.dispose };
}

/**
 * Record and replay: rt-export downloads the session as JSONL (the kernel builds it, keys redacted, and sends
 * the bytes; a Blob URL saves them), rt-import (a file input: .jsonl, .har, .yaml) sends a file to the kernel,
 * which replaces this console's session with the recording (status "replay"). rt-record-notice says what
 * happened. Files over MAX_IMPORT_MB are refused here, before any byte goes to the kernel.
 * @param {ViewContext} ctx
 * @returns {Component}
 */
function recorder(ctx) {
  const { model } = ctx;
  const scope = makeScope(model);
  const MAX_IMPORT_MB = 200;  // the kernel's MAX_IMPORT_BYTES (rtwidget/widget/recording.py)
  const exportBtn = h("button", { class: "rt-btn", testid: "rt-export", text: "Export",
    title: "download every frame of this session as JSONL (keys redacted)" });
  const input = /** @type {HTMLInputElement} */ (h("input", { type: "file", testid: "rt-import",
    accept: ".jsonl,.json,.har,.yaml,.yml", title: "open a recording (rtwidget JSONL, HAR, pydantic-ai cassette)" }));
  const notice = h("span", { class: "rt-record-notice", testid: "rt-record-notice", role: "status" });
  const el = h("div", { class: "rt-record" }, exportBtn, h("label", { class: "rt-import" }, "Import ", input),
    notice);
  exportBtn.addEventListener("click", () => {
    notice.textContent = "exporting…";
    ctx.action({ type: "export", audio: true });
  });
  input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    if (!file) return;
    input.value = "";
    if (file.size > MAX_IMPORT_MB * 1024 * 1024) {
      notice.textContent = `import refused: ${file.name} is ${Math.round(file.size / 1048576)} MB; the console `
        + `imports at most ${MAX_IMPORT_MB} MB (use RealtimeWidget.replay(path))`;
      return;
    }
    notice.textContent = `importing ${file.name}…`;
    const bytes = await file.arrayBuffer();
    try {
      // A binary buffer, not a trait or base64 JSON: a recording can be large, and it is sent once.
      model.send({ type: "import", view: ctx.viewId, name: file.name, size: file.size }, undefined, [bytes]);
    } catch (err) {
      ctx.markGone(KERNEL_GONE);
    }
  });
  scope.on("msg:custom", (/** @type {any} */ msg, /** @type {DataView[]} */ buffers) => {
    if (msg.view !== ctx.viewId) return;
    if (msg.type === "export.data" && buffers && buffers[0]) {
      const url = URL.createObjectURL(new Blob([buffers[0]], { type: "application/x-ndjson" }));
      const link = h("a", { href: url, download: msg.name, hidden: true });
      el.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      notice.textContent = `exported ${msg.name}`;
    } else if (msg.type === "import.result") {
      notice.textContent = msg.ok ? "imported: this console replays the recording" : `import refused: ${msg.message}`;
    }
  });
  return { el, dispose: scope.dispose };
}

// ---------------------------------------------------------------------------------------------------------
// Event composer and row actions. Every protocol rule is the kernel's (rtwidget/widget/composer.py asks the
// protocol core): the composer only sends its text, on each edit after a pause, and shows the verdict.

const CHECK_DEBOUNCE_MS = 250;
const COPIED_NOTICE_MS = 1500;

/**
 * A JSON value as a Python literal. JSON strings as JSON.stringify writes them are valid Python string
 * literals (the same escapes), so only the constants and the layout differ.
 * @param {any} v
 * @param {string} [pad]
 * @returns {string}
 */
function pyLiteral(v, pad = "") {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") return Number.isFinite(v) ? JSON.stringify(v) : `float("${v > 0 ? "inf" : "-inf"}")`;
  if (typeof v === "string") return JSON.stringify(v);
  const inner = `${pad}    `;
  if (Array.isArray(v)) {
    return v.length ? `[\n${v.map((x) => inner + pyLiteral(x, inner)).join(",\n")},\n${pad}]` : "[]";
  }
  const keys = Object.keys(v);
  if (!keys.length) return "{}";
  return `{\n${keys.map((k) => `${inner}${JSON.stringify(k)}: ${pyLiteral(v[k], inner)}`).join(",\n")},\n${pad}}`;
}

/**
 * Put text on the clipboard: the async clipboard API where the page may use it (a secure context, during a
 * user gesture), else a hidden textarea and execCommand("copy"), which also needs the gesture.
 * @param {string} text
 * @returns {Promise<boolean>}
 */
async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (err) {
      // Refused (no permission, the document lost focus): try the old way below.
    }
  }
  const area = /** @type {HTMLTextAreaElement} */ (h("textarea", { class: "rt-copy-buffer", readonly: true }));
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
  area.remove();
  return ok;
}

/**
 * The actions of one shown row member (its log.detail): copy JSON, copy as Python, and for a client event
 * resend (the kernel sends the logged event again, with a new event_id) and edit and resend (the composer).
 * @param {ViewContext} ctx
 * @param {KernelMessage} msg   the log.detail (JSON already redacted and its audio elided by the kernel)
 * @param {string} dir          client | server | local
 */
function rowActions(ctx, msg, dir) {
  const row = /** @type {number} */ (msg.row);
  const member = /** @type {number} */ (msg.member);
  const notice = h("span", { class: "rt-copy-notice", testid: "rt-copy-notice", role: "status" });
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const copy = async (/** @type {string} */ text) => {
    const ok = await copyText(text);
    notice.textContent = ok ? "copied" : "copy refused by the browser";
    clearTimeout(timer);
    timer = setTimeout(() => { notice.textContent = ""; }, COPIED_NOTICE_MS);
  };
  const python = () => {
    const event = JSON.parse(/** @type {string} */ (msg.json));
    if (dir !== "client") return pyLiteral(event);
    delete event.event_id;  // send_event gives the copy a new one: two events must not share an id
    return `await w.send_event(${pyLiteral(event)})`;
  };
  /** @type {(testid: string, text: string, title: string, fn: () => void) => HTMLElement} */
  const btn = (testid, text, title, fn) => h("button", { class: "rt-btn rt-small", testid, text, title,
    onclick: (/** @type {Event} */ e) => { e.stopPropagation(); fn(); } });
  const bar = h("div", { class: "rt-row rt-row-actions" },
    btn("rt-row-copy-json", "copy JSON", "this event's JSON (keys redacted, audio elided)", () => copy(String(msg.json))),
    btn("rt-row-copy-python", "copy as Python", dir === "client" ? "await w.send_event({...}), without the event_id"
      : "the event as a Python dict", () => copy(python())));
  if (dir === "client") {
    bar.append(
      btn("rt-row-resend", "resend", "send this event again, with a new event_id",
        () => ctx.action({ type: "resend", row, member })),
      btn("rt-row-edit", "edit and resend", "open it in the composer", () => ctx.links.compose(row, member)));
  }
  bar.append(notice);
  return bar;
}

/**
 * The event composer: pick a client event type of the session's dialect, edit its template as JSON (checked by
 * the kernel on each edit, after a pause), send it. Collapsible, like the session form.
 * @param {ViewContext} ctx
 * @returns {Component & {edit: (row: number, member: number) => void}}
 */
function composer(ctx) {
  const { model } = ctx;
  const scope = makeScope(model);
  const typeSel = /** @type {HTMLSelectElement} */ (h("select", { testid: "rt-composer-type", "aria-label": "client event type" }));
  const editor = /** @type {HTMLTextAreaElement} */ (h("textarea", { testid: "rt-composer-json", rows: 9,
    spellcheck: false, "aria-label": "the event as JSON" }));
  const error = h("div", { class: "rt-composer-error", testid: "rt-composer-error", role: "alert" });
  const notice = h("span", { class: "rt-composer-notice", testid: "rt-composer-notice", role: "status" });
  const sendBtn = /** @type {HTMLButtonElement} */ (h("button", { class: "rt-btn", testid: "rt-composer-send",
    text: "Send", disabled: true, title: "validated again by the kernel, then sent with w.send_event" }));
  const fields = h("ul", { class: "rt-composer-fields", testid: "rt-composer-fields" });
  const optional = h("details", { class: "rt-composer-optional" }, h("summary", { text: "optional fields" }), fields);
  const el = /** @type {HTMLDetailsElement} */ (h("details", { class: "rt-form rt-composer", testid: "rt-composer" },
    h("summary", {}, h("span", { text: "Compose event" })),
    h("div", { class: "rt-composer-body" }, typeSel, editor, h("div", { class: "rt-row" }, sendBtn, notice), error,
      optional)));
  let n = 0;  // the latest check asked: older verdicts are stale
  let loaded = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const ask = (/** @type {Record<string, any>} */ content) => { loaded = true; ctx.request({ type: "composer.template", ...content }); };
  const check = () => {
    clearTimeout(timer);
    sendBtn.disabled = true;
    ctx.request({ type: "composer.check", n: ++n, json: editor.value });
  };
  editor.addEventListener("input", () => {
    sendBtn.disabled = true;
    notice.textContent = "";
    clearTimeout(timer);
    timer = setTimeout(check, CHECK_DEBOUNCE_MS);
  });
  scope.add(() => clearTimeout(timer));
  typeSel.addEventListener("change", () => ask({ event: typeSel.value }));
  el.addEventListener("toggle", () => { if (el.open && !loaded) ask({ event: "" }); });
  sendBtn.addEventListener("click", () => {
    sendBtn.disabled = true;
    notice.textContent = "sending…";
    ctx.action({ type: "composer.send", json: editor.value });
  });
  scope.on("change:dialect", () => { if (loaded) ask({ event: typeSel.value }); });

  /** @param {any} msg  composer.template (view.py) */
  const showTemplate = (msg) => {
    const types = /** @type {string[]} */ (msg.types || []);
    if (Array.from(typeSel.options, (o) => o.value).join() !== types.join()) {
      typeSel.replaceChildren(...types.map((t) => h("option", { value: t, text: t })));
    }
    typeSel.value = String(msg.event);
    editor.value = String(msg.json);
    const pairs = /** @type {Array<[string, string]>} */ (msg.optional || []);
    fields.replaceChildren(...pairs.map(([path, type]) => h("li", {}, h("code", { text: path }), ` ${type}`)));
    optional.hidden = !pairs.length;
    notice.textContent = "";
    check();
  };
  /** @param {any} msg  composer.check */
  const showVerdict = (msg) => {
    if (msg.n != null && msg.n !== n) return;  // a newer edit is being checked (n is null for a refused send)
    error.dataset.path = msg.ok ? "" : String(msg.path);
    error.textContent = msg.ok ? "" : `${msg.path}: ${msg.rule} (${msg.code})`;
    sendBtn.disabled = !msg.ok;
    if (!msg.ok) notice.textContent = "";
  };
  scope.on("msg:custom", (/** @type {any} */ msg) => {
    if (msg.view !== ctx.viewId) return;
    if (msg.type === "composer.template") showTemplate(msg);
    else if (msg.type === "composer.check") showVerdict(msg);
    else if (msg.type === "composer.sent") {
      notice.textContent = msg.ok ? `sent ${msg.event_id}` : "";
      if (!msg.ok) error.textContent = String(msg.message);
      sendBtn.disabled = false;
    }
  });
  /** Open the composer on a logged client event, without its event_id (edit and resend). */
  const edit = (/** @type {number} */ row, /** @type {number} */ member) => {
    ask({ row, member });
    el.open = true;
    el.scrollIntoView({ block: "nearest" });
  };
  return { el, edit, dispose: scope.dispose };
}

/**
 * Route one kernel -> view message to the component that owns it. Audio messages are not here: they go to the
 * engine, through the one listener initialize() registers per widget.
 * @param {ViewContext} ctx
 * @param {{busy: Component, log: LogHandlers, errors: ReturnType<typeof errorList>, talk: ReturnType<typeof talk>}} parts
 * @param {KernelMessage} msg
 */
function handleKernelMessage(ctx, parts, msg) {
  if (msg.view && msg.view !== ctx.viewId && msg.view !== "*") return;
  switch (msg.type) {
    case "ack": ctx.acked(/** @type {number} */ (msg.seq)); parts.busy.update?.(); break;
    case "log.append": parts.log.append(msg); break;
    case "log.window": parts.log.showWindow(msg); break;
    case "log.page": parts.log.addPage(msg); break;
    case "log.detail": parts.log.showDetail(msg); break;
    case "errors.window": parts.errors.show(msg); break;
    case "errors.append": parts.errors.append(msg); break;
    case "reply.text": parts.talk.setReplyText(msg); break;
    default: break;
  }
}

let VIEW_COUNTER = 0;

/**
 * The shared state of a new view: its id, the engine, and the two ways to talk to the kernel.
 * @param {Model} model
 * @returns {ViewContext}
 */
function makeContext(model) {
  const viewId = `v${Date.now().toString(36)}${(VIEW_COUNTER++).toString(36)}`;
  // Kernel-busy detection: UI actions carry a seq; the kernel acks each as soon as it handles it.
  let seq = 0;
  /** @type {Map<number, number>} seq -> performance.now() when sent */
  const unacked = new Map();
  let req = 0;
  let gone = "";
  /** @type {ViewContext} */
  const ctx = {
    model,
    viewId,
    engine: engineFor(model),
    action(content) {
      const n = ++seq;
      if (send({ ...content, seq: n, view: viewId })) unacked.set(n, performance.now());
    },
    request: (content) => { send({ ...content, view: viewId, req: ++req }); },
    acked: (n) => { unacked.delete(n); },
    waiting() {
      if (gone) return false;
      const now = performance.now();
      for (const t of unacked.values()) if (now - t >= BUSY_AFTER_MS) return true;
      return false;
    },
    gone: () => gone,
    markGone(reason) {
      if (gone) return;
      gone = reason;
      unacked.clear();
      ctx.links.gone(reason);
    },
    links: { jumpTo: () => {}, toggleErrors: () => {}, gone: () => {}, compose: () => {} },
  };
  // A dead comm (kernel restarted or shut down) throws on send ("Cannot send"): the view says why instead.
  const send = (/** @type {object} */ content) => {
    if (gone) return false;
    try {
      model.send(content);
      return true;
    } catch (err) {
      ctx.markGone(KERNEL_GONE);
      return false;
    }
  };
  return ctx;
}

/**
 * Once per view: build the console into `el` and return its cleanup.
 * @param {{model: Model, el: HTMLElement}} args
 */
function render({ model, el }) {
  const ctx = makeContext(model);
  const busy = busyNotice(ctx);
  const head = header(ctx, busy.el);
  const errors = errorList(ctx);
  const form = sessionForm(ctx);
  const talkBox = talk(ctx);
  const voiceBox = voiceBar(ctx);
  const conv = conversationView(ctx);
  const log = logView(ctx);
  const compose = composer(ctx);
  const goneNotice = h("div", { class: "rt-gone", testid: "rt-gone", role: "alert", hidden: true });
  const left = h("div", { class: "rt-left" }, form.el, compose.el, voiceBox.el, conv.el, talkBox.el);
  const body = h("div", { class: "rt-body" }, left, log.el);
  const root = h("div", { class: "rt-root" }, head.el, goneNotice, errors.el, body);
  ctx.links.jumpTo = log.jumpTo;
  ctx.links.toggleErrors = errors.toggle;
  ctx.links.compose = compose.edit;
  ctx.links.gone = (reason) => {
    goneNotice.textContent = reason;
    goneNotice.hidden = false;
    root.dataset.gone = "1";
    head.update?.();
    for (const c of root.querySelectorAll("button, input, select, textarea")) {
      /** @type {HTMLButtonElement} */ (c).disabled = true;
    }
  };
  const components = [busy, head, errors, form, compose, voiceBox, conv, talkBox, log];
  const rec = recorder(ctx);
  left.append(rec.el);
  components.push(rec);
  el.replaceChildren(root);
  root.addEventListener("keydown", keepKeys);
  // The space bar is push-to-talk while the console, not one of its fields, has focus.
  const onSpace = (/** @type {KeyboardEvent} */ e, /** @type {boolean} */ down) => {
    const t = /** @type {HTMLElement} */ (e.target);
    if (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName)) return;
    voiceBox.key(e, down);
  };
  root.addEventListener("keydown", (e) => onSpace(e, true));
  root.addEventListener("keyup", (e) => onSpace(e, false));
  // Notebook 7 runs its shortcuts from a capture-phase keydown listener on the document (JupyterLab from a
  // bubbling one), so it sees a key before keepKeys can stop it. Lumino skips shortcuts for targets inside an
  // element marked data-lm-suppress-shortcuts: mark the root, per key, just before the document sees it.
  const markKeys = (/** @type {KeyboardEvent} */ e) => {
    if (root.contains(/** @type {Node} */ (e.target))) root.toggleAttribute(SUPPRESS_SHORTCUTS, keepsKey(e));
  };
  window.addEventListener("keydown", markKeys, true);

  const onMsg = unbatched((msg) => handleKernelMessage(ctx, { busy, log, errors, talk: talkBox }, msg));
  model.on("msg:custom", onMsg);
  // The widget manager sets comm_live false when the kernel restarts or dies (nothing else turns it off
  // while a view lives: a comm closed by the kernel removes the views).
  const onCommLive = () => ctx.markGone(KERNEL_GONE);
  model.on("comm_live_update", onCommLive);

  // Handshake (docs/testing.md): the kernel sends nothing to a view before this message; it answers with
  // the tail of the log, so a view displayed later rebuilds from traits plus one window.
  ctx.action({ type: "ready", limit: PAGE_ROWS * 2 });

  return () => {
    model.off("msg:custom", onMsg);
    model.off("comm_live_update", onCommLive);
    window.removeEventListener("keydown", markKeys, true);
    // The kernel closes the connection when its last view is gone for good (a re-run cell, a cleared output).
    ctx.request({ type: "bye" });
    for (const c of components) c.dispose();
  };
}

/**
 * Keys typed in the console belong to the console. JupyterLab and Notebook 7 run their shortcuts from a
 * keydown listener on the document (Notebook 7's in the capture phase: see markKeys in render), so without
 * this Shift+Enter in the prompt re-runs the cell (and replaces the console), Enter in command mode swallows
 * a textarea's newline, and A, B or D D add or delete cells.
 * In a field every key stays here (Escape leaves the field); elsewhere in the console plain keys stay here and
 * chords go on. Ctrl/Cmd+S still saves the notebook.
 * @param {KeyboardEvent} e
 */
function keepKeys(e) {
  const t = /** @type {HTMLElement} */ (e.target);
  if (isEditable(t) && e.key === "Escape") t.blur();
  if (keepsKey(e)) e.stopPropagation();
}

const SUPPRESS_SHORTCUTS = "data-lm-suppress-shortcuts";

/** @param {HTMLElement} t */
function isEditable(t) {
  return t.isContentEditable || t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT";
}

/**
 * Whether a key typed in the console stays in it (see keepKeys).
 * @param {KeyboardEvent} e
 */
function keepsKey(e) {
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "s") return false;
  return isEditable(/** @type {HTMLElement} */ (e.target)) || !(e.ctrlKey || e.metaKey || e.altKey);
}

export default { initialize, render };
