// @ts-check
/**
 * rtwidget console, part 3 of 4: latency as the kernel measured it (widget.py joins capture.js, conversation.js,
 * this file and widget.js into the one ES module anywidget loads; this part defines, widget.js renders and
 * exports).
 *
 * The stages are the kernel's (rtwidget/widget/metrics.py: one clock, ms from the turn start; the first rendered
 * sample is the worklet's, mapped through getOutputTimestamp). They come with the conversation's messages: an
 * item's `timeline` (the first output item of each response) and the session's `latency` (median and p90 per
 * stage). Nothing is computed here but where to draw.
 */

/** The stages in the order a turn goes through them: [field, short label, what it marks]. */
const LATENCY_STAGES = /** @type {const} */ ([
  ["to_created_ms", "created", "response.created"],
  ["to_first_text_ms", "text", "first text delta"],
  ["to_first_audio_ms", "audio", "first audio delta at the kernel"],
  ["to_first_played_ms", "heard", "first sample rendered (heard)"],
  ["to_last_played_ms", "end", "last sample rendered"],
  ["to_done_ms", "done", "response.done"],
]);

/** What started the turn (metrics.py's `turn`), as the timeline's first words. */
const TURN_STARTS = /** @type {Record<string, string>} */ ({
  speech_stopped: "speech end",
  commit: "push-to-talk release",
  "response.create": "send",
});

/**
 * One response's stages (metrics.Timeline.row): ms from the turn start, null where a stage does not apply.
 * @typedef {{turn: string | null} & Record<string, number | null>} LatencyRow
 */

/**
 * The session's stages (metrics.Timeline.summary): per stage how many responses have it, its median and p90.
 * @typedef {Record<string, {n: number, median_ms: number | null, p90_ms: number | null}>} LatencySummary
 */

/** @param {number} ms */
function fmtMs(ms) {
  return ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/**
 * Draw one response's timeline into `el` (an rt-timeline): its stages as markers on one ms axis from the turn
 * start, in time order, each with data-stage and data-ms, and the figures as labels below.
 * @param {HTMLElement} el
 * @param {LatencyRow | undefined} row
 */
function drawTimeline(el, row) {
  const stages = row
    ? LATENCY_STAGES.filter(([key]) => typeof row[key] === "number")
      .map(([key, short, what]) => ({ key, short, what, ms: /** @type {number} */ (row[key]) }))
      .sort((a, b) => a.ms - b.ms)
    : [];
  el.hidden = !stages.length;
  if (!row || !stages.length) { el.replaceChildren(); return; }
  const start = TURN_STARTS[row.turn || ""] || row.turn || "turn start";
  const span = Math.max(1, stages[stages.length - 1].ms);
  const at = (/** @type {number} */ ms) => `${((100 * Math.max(0, ms)) / span).toFixed(2)}%`;
  const axis = h("div", { class: "rt-tl-axis" });
  const heard = row.to_first_played_ms, end = row.to_last_played_ms;
  if (typeof heard === "number" && typeof end === "number") {  // the stretch the user heard
    axis.append(h("span", { class: "rt-tl-heard", style: `left: ${at(heard)}; width: ${at(end - heard)}` }));
  }
  for (const s of stages) {
    axis.append(h("span", { class: "rt-tl-mark", "data-stage": s.key, "data-ms": String(s.ms),
      style: `left: ${at(s.ms)}`, title: `${s.what}: ${fmtMs(s.ms)} after the ${start}` }));
  }
  const labels = h("div", { class: "rt-tl-labels" }, h("span", { class: "rt-tl-start", text: `from ${start}:` }),
    ...stages.map((s) => h("span", { class: "rt-tl-label", "data-stage": s.key, title: s.what,
      text: `${s.short} ${fmtMs(s.ms)}` })));
  el.dataset.turn = row.turn || "";
  el.replaceChildren(axis, labels);
}

/**
 * The session's latency chart (rt-latency-chart): per stage a bar to its median and a lighter one to its p90, on
 * one axis, with the figures; data-n is how many responses have a turn start (response.created timed).
 */
function latencyChart() {
  const title = h("summary", { class: "rt-subtle", text: "latency" });
  const rows = h("div", { class: "rt-chart-rows" });
  const el = h("details", { class: "rt-latency-chart", testid: "rt-latency-chart", open: true, hidden: true },
    title, rows);
  /** @param {LatencySummary | undefined} summary */
  const show = (summary) => {
    if (!summary) return;
    const stages = LATENCY_STAGES.map(([key, short, what]) => ({ key, short, what, ...summary[key] }))
      .filter((s) => s.n > 0 && typeof s.median_ms === "number");
    const n = summary.to_created_ms?.n || 0;
    el.dataset.n = String(n);
    el.hidden = !stages.length;
    title.textContent = `latency over ${n} response${n === 1 ? "" : "s"} (median · p90, ms from the turn start)`;
    const span = Math.max(1, ...stages.map((s) => s.p90_ms ?? s.median_ms ?? 0));
    const pct = (/** @type {number} */ ms) => `${((100 * Math.max(0, ms)) / span).toFixed(2)}%`;
    rows.replaceChildren(...stages.map((s) => {
      const median = /** @type {number} */ (s.median_ms), p90 = s.p90_ms ?? median;
      return h("div", { class: "rt-chart-row", "data-stage": s.key, "data-n": String(s.n),
        "data-median-ms": String(median), "data-p90-ms": String(p90), title: `${s.what} (${s.n} responses)` },
      h("span", { class: "rt-chart-label", text: s.short }),
      h("span", { class: "rt-chart-track" },
        h("span", { class: "rt-chart-p90", style: `width: ${pct(p90)}` }),
        h("span", { class: "rt-chart-median", style: `width: ${pct(median)}` })),
      h("span", { class: "rt-chart-figure", text: `${fmtMs(median)} · ${fmtMs(p90)}` }));
    }));
  };
  return { el, show };
}
