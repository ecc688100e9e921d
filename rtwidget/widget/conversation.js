// @ts-check
/**
 * rtwidget console, part 2 of 4: the conversation panel (widget.py joins capture.js, this file, latency.js and
 * widget.js into the one ES module anywidget loads; this part defines, widget.js renders and exports).
 *
 * One rt-item per conversation item, keyed by item id, in conversation order. The kernel sends conv.window (the
 * last items, whole: to a new view, and to every view after a new session) and, per flush, conv.items: the
 * items events touched, each with its text from `at` on, and the ids conversation.item.deleted removed. Older
 * items come on scroll (conv.page); the DOM keeps at most CONV_MAX_DOM_ITEMS items, like the log's rows.
 *
 * Audio stays in the kernel: play asks for one item's PCM (conv.audio: what was received; for an interrupted
 * reply, what was heard) and plays it through its own AudioBufferSourceNode into the engine's gain, so volume
 * and mute apply and the live playback's counters are untouched. The page drops the PCM when it ends.
 *
 * Latency (latency.js): the first output item of each response shows the response's timeline (rt-timeline), and
 * the panel ends with the session's chart (rt-latency-chart), both from what the kernel sends with the items.
 */

const CONV_MAX_DOM_ITEMS = 200;
const CONV_PAGE_ITEMS = 50;
const CONV_REPLAY_TICK_MS = 50;

/**
 * One conversation item as the kernel sends it (rtwidget/widget/convview.py).
 * @typedef {object} ConvItem
 * @property {string} id
 * @property {string} type      message | function_call | function_call_output | ...
 * @property {string} role      user | assistant | system | tool
 * @property {string} status    in_progress | completed | interrupted | incomplete | failed
 * @property {string} [name]    a call's function
 * @property {string} [call_id]
 * @property {{received_ms: number, heard_ms: number, end_ms: number | null, played_ms: number, held: boolean}} [audio]
 * @property {string} [transcription]   the user's audio: in_progress | completed | failed
 * @property {number} [at]      the item's text from character `at` on is `text` (0 replaces it)
 * @property {string} [text]
 * @property {string | null} [after]    a new item: the item before it (null: first); absent for known items
 * @property {LatencyRow} [timeline]   its response's latency stages (the response's first output item only)
 */

/**
 * The words beside an item's role: its status, and what its audio or transcription is doing.
 * @param {ConvItem} it
 */
function convStatusText(it) {
  const a = it.audio;
  if (it.status === "interrupted") return a ? `interrupted at ${a.end_ms ?? a.heard_ms} ms of ${a.received_ms}` : "interrupted";
  if (it.transcription === "in_progress") return "transcribing…";
  if (it.transcription === "failed") return "transcription failed";
  if (it.status === "in_progress") return "…";
  return it.status === "completed" ? "" : it.status;
}

/**
 * The conversation panel: rt-conversation with one rt-item per item, paged like the log.
 * @param {ViewContext} ctx
 */
function conversationView(ctx) {
  const { model, engine } = ctx;
  const scope = makeScope(model);
  const count = h("span", { class: "rt-subtle", testid: "rt-conversation-count" });
  const follow = h("button", { class: "rt-btn rt-follow", text: "↓ latest", hidden: true });
  const list = h("div", { class: "rt-conversation", testid: "rt-conversation", role: "log", tabindex: "0" });
  const chart = latencyChart();
  const el = h("div", { class: "rt-convbox" },
    h("div", { class: "rt-row" }, h("span", { class: "rt-subtle", text: "conversation" }), count,
      h("span", { class: "rt-spacer" }), follow),
    list, chart.el);

  /** @typedef {{data: ConvItem, el: HTMLElement, text: Text, status: HTMLElement, kind: HTMLElement, play: HTMLButtonElement, timeline: HTMLElement}} Entry */
  /** @type {Map<string, Entry>} */
  const entries = new Map();
  let offset = 0;  // position of the first item shown among all items
  let total = 0;
  let atTail = true;  // the window ends with the newest item (else newer items are not shown)
  let loading = false;

  const updateCount = () => {
    count.textContent = `${total} item${total === 1 ? "" : "s"}`;
    follow.hidden = atTail;
  };
  const nearBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < 24;

  /** @param {Entry} e */
  const draw = (e) => {
    const it = e.data;
    const d = e.el.dataset;
    d.itemId = it.id;
    d.role = it.role;
    d.type = it.type;
    d.status = it.status;
    e.kind.textContent = it.type === "function_call" ? `call ${it.name || ""}` : it.type === "function_call_output"
      ? "output" : it.type === "message" ? "" : it.type;
    e.status.textContent = convStatusText(it);
    const a = it.audio;
    if (a) {
      const live = (1000 * (engine.played[it.id] || 0)) / SAMPLE_RATE_HZ;
      const got = (1000 * (engine.received[it.id] || 0)) / SAMPLE_RATE_HZ;
      d.receivedMs = String(Math.round(Math.max(a.received_ms, got)));
      d.playedMs = String(Math.round(Math.max(a.played_ms, live)));
    }
    e.play.hidden = !a || !a.held || a.heard_ms <= 0;
  };

  /** @param {ConvItem} it */
  const makeEntry = (it) => {
    const text = document.createTextNode("");
    const status = h("span", { class: "rt-item-status", testid: "rt-item-status" });
    const kind = h("span", { class: "rt-item-kind" });
    const play = /** @type {HTMLButtonElement} */ (h("button", { class: "rt-btn rt-icon", testid: "rt-item-play",
      text: "▶", title: "play this item's audio (what was heard)", "aria-pressed": "false" }));
    const timeline = h("div", { class: "rt-timeline", testid: "rt-timeline", hidden: true });
    const del = h("button", { class: "rt-btn rt-icon", testid: "rt-item-delete", text: "✕",
      title: "delete this item (conversation.item.delete)" });
    const item = h("div", { class: "rt-item", testid: "rt-item" },
      h("div", { class: "rt-item-head" }, h("span", { class: "rt-item-role", text: it.role }), kind, status,
        h("span", { class: "rt-spacer" }), play, del),
      h("div", { class: "rt-item-text", testid: "rt-item-text" }, text), timeline);
    /** @type {Entry} */
    const e = { data: { ...it, text: undefined, at: undefined }, el: item, text, status, kind, play, timeline };
    play.addEventListener("click", () => togglePlay(e.data.id));
    del.addEventListener("click", () => {
      item.dataset.deleting = "1";  // gone when the server's conversation.item.deleted comes back
      ctx.action({ type: "conv.delete", item: e.data.id });
    });
    entries.set(it.id, e);
    return e;
  };

  /**
   * Apply one item's upsert to its entry: fields replace, the text from `at` on replaces the text there.
   * @param {Entry} e
   * @param {ConvItem} it
   */
  const merge = (e, it) => {
    const { at, text, after, ...rest } = it;
    Object.assign(e.data, rest);
    if (typeof text === "string") {
      const start = at || 0;
      if (start > 0 && start === e.text.length) e.text.appendData(text);
      else e.text.data = start > 0 ? e.text.data.slice(0, start) + text : text;
    }
    if (rest.timeline) drawTimeline(e.timeline, rest.timeline);  // sent only when a stage changed
    draw(e);
  };

  const trimTop = () => {
    while (entries.size > CONV_MAX_DOM_ITEMS) {
      const first = /** @type {HTMLElement} */ (list.firstElementChild);
      entries.delete(first.dataset.itemId || "");
      first.remove();
      offset += 1;
    }
  };
  const trimBottom = () => {
    while (entries.size > CONV_MAX_DOM_ITEMS) {
      const last = /** @type {HTMLElement} */ (list.lastElementChild);
      entries.delete(last.dataset.itemId || "");
      last.remove();
      atTail = false;
    }
  };

  /** @param {ConvItem[]} items */
  const build = (items) => {
    const frag = document.createDocumentFragment();
    for (const it of items) {
      if (entries.has(it.id)) continue;
      const e = makeEntry(it);
      merge(e, it);
      frag.append(e.el);
    }
    return frag;
  };

  /** @param {{items: ConvItem[], offset: number, total: number}} msg */
  const showWindow = (msg) => {
    stopPlaying();
    entries.clear();
    offset = msg.offset;
    total = msg.total;
    atTail = true;
    loading = false;
    list.replaceChildren(build(msg.items));
    list.scrollTop = list.scrollHeight;
    updateCount();
  };

  /** @param {{items: ConvItem[], offset: number, total: number}} msg */
  const addPage = (msg) => {
    loading = false;
    if (!msg.items.length) return;
    const before = list.scrollHeight;
    list.prepend(build(msg.items));
    offset = msg.offset;
    total = msg.total;
    list.scrollTop += list.scrollHeight - before;  // the reader stays where they were
    trimBottom();
    updateCount();
  };

  /** @param {{items: ConvItem[], removed: string[], total: number}} msg */
  const applyItems = (msg) => {
    const stick = atTail && nearBottom();
    for (const it of msg.items) {
      const known = entries.get(it.id);
      if (known) { merge(known, it); continue; }
      if (!("after" in it)) continue;  // an item the view was told of before, outside its window
      const prev = it.after ? entries.get(it.after) : undefined;
      // At the tail every item from `offset` on is shown: a new item whose predecessor is not is older.
      if (it.after === null ? offset > 0 : !prev) { if (atTail) offset += 1; continue; }
      if (!atTail && prev && !prev.el.nextElementSibling) continue;  // newer than a scrolled-up window
      const e = makeEntry(it);
      merge(e, it);
      if (prev) prev.el.after(e.el);
      else list.prepend(e.el);
    }
    for (const id of msg.removed) {
      const e = entries.get(id);
      if (!e) continue;
      if (playing?.id === id) stopPlaying();
      e.el.remove();
      entries.delete(id);
    }
    total = msg.total;
    if (stick) { trimTop(); list.scrollTop = list.scrollHeight; } else trimBottom();  // the reader's place stays
    updateCount();
  };

  // Scrolling to an edge pages items in from the kernel, which holds the whole conversation.
  list.addEventListener("scroll", () => {
    if (loading) return;
    const first = /** @type {HTMLElement | null} */ (list.firstElementChild);
    if (list.scrollTop < 24 && offset > 0 && first) {
      loading = true;
      ctx.request({ type: "conv.page", before: first.dataset.itemId, limit: CONV_PAGE_ITEMS });
    } else if (!atTail && nearBottom()) {
      loading = true;
      ctx.request({ type: "conv.window" });
    }
  });
  follow.addEventListener("click", () => { loading = true; ctx.request({ type: "conv.window" }); });

  // --- playing one item's audio (fetched on demand) ---------------------------------------------------------
  /** @type {{id: string, src: AudioBufferSourceNode, start: number, ms: number, timer: ReturnType<typeof setInterval>} | null} */
  let playing = null;
  /** @type {string | null} */
  let fetching = null;

  /** @param {string} id @param {boolean} on */
  const pressed = (id, on) => {
    const e = entries.get(id);
    if (e) { e.play.setAttribute("aria-pressed", String(on)); e.play.textContent = on ? "■" : "▶"; }
  };
  const stopPlaying = () => {
    if (!playing) return;
    const p = playing;
    playing = null;
    clearInterval(p.timer);
    try { p.src.stop(); } catch { /* not started or already ended */ }
    pressed(p.id, false);
  };
  /** @param {string} id */
  const togglePlay = (id) => {
    const again = playing?.id === id;
    stopPlaying();
    if (again) return;
    engine.ensure();  // a click: autoplay policy lets the context start
    fetching = id;
    pressed(id, true);
    ctx.request({ type: "conv.audio", item: id });
  };
  /** @param {{item: string, ms?: number, reason?: string}} msg @param {DataView[]} buffers */
  const onAudio = (msg, buffers) => {
    if (msg.item !== fetching) return;
    fetching = null;
    const e = entries.get(msg.item);
    const ac = engine.ctx;
    if (!e || !buffers?.[0] || !ac || !engine.gain) {
      pressed(msg.item, false);
      if (e) e.play.title = msg.reason || "no audio";
      return;
    }
    const x = pcm16ToFloat32(buffers[0]);
    const buffer = ac.createBuffer(1, Math.max(1, x.length), SAMPLE_RATE_HZ);
    buffer.copyToChannel(x, 0);
    const src = ac.createBufferSource();
    src.buffer = buffer;
    src.connect(engine.gain);
    const start = ac.currentTime + 0.02;
    src.start(start);
    const ms = (1000 * x.length) / SAMPLE_RATE_HZ;
    e.play.dataset.fetchedMs = String(Math.round(ms));
    e.play.dataset.positionMs = "0";
    const tick = () => {
      const pos = Math.max(0, Math.min(ms, (ac.currentTime - start) * 1000));
      const cur = entries.get(msg.item);
      if (cur) cur.play.dataset.positionMs = String(Math.round(pos));
    };
    playing = { id: msg.item, src, start, ms, timer: setInterval(tick, CONV_REPLAY_TICK_MS) };
    src.onended = () => { if (playing?.src === src) { tick(); stopPlaying(); } };
  };

  // Live playback moves the playing item's counters: one redraw per animation frame at most.
  let frame = 0;
  const onEngine = () => {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      const e = engine.currentItem ? entries.get(engine.currentItem) : undefined;
      if (e && e.data.audio) draw(e);
    });
  };
  engine.listeners.add(onEngine);
  scope.add(() => { engine.listeners.delete(onEngine); cancelAnimationFrame(frame); stopPlaying(); });

  scope.on("msg:custom", (/** @type {any} */ msg, /** @type {DataView[]} */ buffers) => {
    if (msg.view && msg.view !== ctx.viewId && msg.view !== "*") return;
    if (msg.type === "conv.window") { showWindow(msg); chart.show(msg.latency); }
    else if (msg.type === "conv.items") { applyItems(msg); chart.show(msg.latency); }
    else if (msg.type === "conv.page") addPage(msg);
    else if (msg.type === "conv.audio") onAudio(msg, buffers);
  });
  updateCount();
  return { el, dispose: scope.dispose };
}
