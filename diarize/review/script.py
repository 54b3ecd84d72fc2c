"""The review page's script (plain ES2019, no library: the page must work offline from file://).

It reads the JSON that :mod:`diarize.review.page` embeds and draws the timeline on canvases, only
the visible part of it, so that a 2-hour file with thousands of turns stays responsive. The
playback cursor lives on its own overlay canvas: following playback redraws one line, not the
lanes. ``window.diarizeReview`` exposes the state for the browser tests.
"""

SCRIPT = r"""
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("review-data").textContent);
  const audio = document.getElementById("audio");
  const $ = (id) => document.getElementById(id);
  const AXIS = 22, WAVE = 56, LANE = 22, GAP = 10, ERR = 12;
  const STEPS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  const duration = Math.max(data.duration, 1e-3);
  const errorKinds = [["missed", "missed"], ["false_alarm", "false alarm"], ["confusion", "confusion"]];
  const css = getComputedStyle(document.documentElement);
  const color = (name) => css.getPropertyValue("--" + name).trim();

  // ---- data: envelope, lanes, turns sorted by start per lane ----
  const env = (() => {
    const raw = atob(data.envelope.data);
    const pairs = new Int8Array(raw.length);
    for (let i = 0; i < raw.length; i++) pairs[i] = raw.charCodeAt(i) << 24 >> 24;
    return { rate: data.envelope.rate, pairs: pairs, bins: pairs.length >> 1 };
  })();
  const lanes = data.lanes.map((lane) => Object.assign({ starts: [], ends: [], maxDur: 0 }, lane));
  data.turns.forEach((t) => {
    const lane = lanes[t[2]];
    lane.starts.push(t[0]);
    lane.ends.push(t[1]);
    lane.maxDur = Math.max(lane.maxDur, t[1] - t[0]);
  });
  const hypTurns = data.turns.filter((t) => lanes[t[2]].group === "hyp");
  const errorRows = data.errors ? errorKinds.map((k) => data.errors[k[0]]) : [];
  const errorStarts = data.errors
    ? [].concat(...errorRows).map((r) => r[0]).sort((a, b) => a - b) : [];

  // ---- layout: rows from top to bottom ----
  const rows = [];
  let y = AXIS;
  rows.push({ kind: "wave", y: y, h: WAVE, label: "signal" }); y += WAVE + 4;
  ["hyp", "ref"].forEach((group) => {
    const members = lanes.filter((l) => l.group === group);
    if (!members.length) return;
    y += GAP;
    rows.push({ kind: "group", y: y - GAP, h: GAP, label: group === "hyp" ? "system" : "reference" });
    const top = y;
    members.forEach((lane) => { lane.y = y; rows.push({ kind: "lane", lane: lane, y: y, h: LANE, label: lane.label }); y += LANE; });
    rows.push({ kind: "overlap", group: group, y: top, h: y - top });
  });
  if (data.errors) {
    y += GAP;
    errorKinds.forEach((k, i) => { rows.push({ kind: "error", index: i, y: y, h: ERR, label: k[1] }); y += ERR + 2; });
  }
  const height = y + 4;

  // ---- view and canvases ----
  const view = { start: 0, span: duration };
  const base = $("timeline"), over = $("cursor"), ovr = $("overview");
  let width = 0, gutter = 110, dpr = 1;
  const stats = { turnsDrawn: 0, refTurnsDrawn: 0, errorsDrawn: 0, draws: 0 };

  function setup(canvas, w, h) {
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
    canvas.style.width = w + "px"; canvas.style.height = h + "px";
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return ctx;
  }
  const plotWidth = () => Math.max(10, width - gutter);
  const toX = (t) => gutter + (t - view.start) / view.span * plotWidth();
  const toTime = (x) => view.start + (x - gutter) / plotWidth() * view.span;
  function clampView() {
    view.span = Math.min(Math.max(view.span, 0.5), duration);
    view.start = Math.min(Math.max(view.start, 0), duration - view.span);
  }
  function fmt(t, step) {
    const sign = t < 0 ? "-" : ""; t = Math.abs(t);
    const h = Math.floor(t / 3600), m = Math.floor(t % 3600 / 60), s = t % 60;
    const sec = step < 1 ? s.toFixed(1).padStart(4, "0") : String(Math.floor(s + 1e-6)).padStart(2, "0");
    return sign + (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + sec;
  }
  function firstIndex(starts, t) {  // first i with starts[i] >= t
    let lo = 0, hi = starts.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (starts[mid] < t) lo = mid + 1; else hi = mid; }
    return lo;
  }

  function drawWave(ctx, x0, w, top, h, t0, span) {
    const mid = top + h / 2, half = h / 2 - 1;
    ctx.fillStyle = color("wave");
    for (let px = 0; px < w; px++) {
      const a = Math.floor((t0 + px / w * span) * env.rate), b = Math.max(a + 1, Math.floor((t0 + (px + 1) / w * span) * env.rate));
      let lo = 127, hi = -127;
      for (let i = Math.max(a, 0); i < Math.min(b, env.bins); i++) { lo = Math.min(lo, env.pairs[2 * i]); hi = Math.max(hi, env.pairs[2 * i + 1]); }
      if (hi < lo) continue;
      ctx.fillRect(x0 + px, mid - hi / 127 * half, 1, Math.max(1, (hi - lo) / 127 * half));
    }
  }

  function draw() {
    const ctx = setup(base, width, height);
    const t0 = view.start, t1 = view.start + view.span, pw = plotWidth();
    ctx.font = "12px system-ui, sans-serif"; ctx.textBaseline = "middle";
    // time axis
    const step = STEPS.find((s) => s / view.span * pw >= 80) || 7200;
    ctx.fillStyle = color("muted"); ctx.strokeStyle = color("grid"); ctx.lineWidth = 1;
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      const x = Math.round(toX(t)) + 0.5;
      ctx.beginPath(); ctx.moveTo(x, AXIS - 6); ctx.lineTo(x, height); ctx.stroke();
      ctx.fillText(fmt(t, step), x + 3, AXIS / 2);
    }
    stats.turnsDrawn = 0; stats.refTurnsDrawn = 0; stats.errorsDrawn = 0;
    rows.forEach((row) => {
      if (row.label) {
        ctx.fillStyle = row.kind === "group" ? color("muted") : color("text");
        ctx.font = (row.kind === "group" ? "600 11px" : "12px") + " system-ui, sans-serif";
        let label = row.label;
        while (label.length > 3 && ctx.measureText(label).width > gutter - 10) label = label.slice(0, -2) + "\u2026";
        ctx.fillText(label, 4, row.y + row.h / 2);
      }
      if (row.kind === "wave") drawWave(ctx, gutter, pw, row.y, row.h, t0, view.span);
      else if (row.kind === "overlap") {
        ctx.fillStyle = color("overlap");
        (data.overlap[row.group] || []).forEach((r) => {
          if (r[1] < t0 || r[0] > t1) return;
          const x = Math.max(toX(r[0]), gutter);
          ctx.fillRect(x, row.y, Math.max(2, toX(r[1]) - x), row.h);
        });
      } else if (row.kind === "lane") {
        const lane = row.lane;
        ctx.fillStyle = color("lane"); ctx.fillRect(gutter, row.y + 1, pw, row.h - 2);
        ctx.fillStyle = lane.color;
        for (let i = firstIndex(lane.starts, t0 - lane.maxDur); i < lane.starts.length && lane.starts[i] <= t1; i++) {
          if (lane.ends[i] < t0) continue;
          const x = Math.max(toX(lane.starts[i]), gutter - 1), x2 = Math.min(toX(lane.ends[i]), width + 1);
          ctx.fillRect(x, row.y + 3, Math.max(1, x2 - x), row.h - 6);
          if (lane.group === "hyp") stats.turnsDrawn++; else stats.refTurnsDrawn++;
        }
      } else if (row.kind === "error") {
        ctx.fillStyle = color("lane"); ctx.fillRect(gutter, row.y, pw, row.h);
        ctx.fillStyle = color(errorKinds[row.index][0]);
        errorRows[row.index].forEach((r) => {
          if (r[1] < t0 || r[0] > t1) return;
          const x = Math.max(toX(r[0]), gutter);
          ctx.fillRect(x, row.y, Math.max(1, toX(r[1]) - x), row.h);
          stats.errorsDrawn++;
        });
      }
    });
    stats.draws++;
    base.dataset.turnsDrawn = stats.turnsDrawn;
    base.dataset.refTurnsDrawn = stats.refTurnsDrawn;
    base.dataset.errorsDrawn = stats.errorsDrawn;
    drawOverview();
    drawCursor();
  }

  // the overview's waveform and turns never change with the view: drawn once per size, then
  // copied, so that following playback costs a copy and two rectangles per frame
  let ovrCache = null;
  function drawOverview() {
    const h = 48, pw = plotWidth();
    if (!ovrCache || ovrCache.key !== width + "x" + dpr) {
      ovrCache = document.createElement("canvas");
      ovrCache.key = width + "x" + dpr;
      drawOverviewStatic(setup(ovrCache, width, h), h, pw);
    }
    const ctx = ovr.getContext("2d");
    if (ovr.width !== ovrCache.width) setup(ovr, width, h);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, ovr.width, ovr.height);
    ctx.drawImage(ovrCache, 0, 0);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const ox = (t) => gutter + t / duration * pw;
    ctx.strokeStyle = color("accent"); ctx.lineWidth = 2;
    ctx.strokeRect(ox(view.start), 1, Math.max(3, ox(view.start + view.span) - ox(view.start)), h - 2);
    const x = ox(audio.currentTime || 0);
    ctx.fillStyle = color("cursor"); ctx.fillRect(x - 1, 0, 2, h);
  }

  function drawOverviewStatic(ctx, h, pw) {
    ctx.fillStyle = color("lane"); ctx.fillRect(gutter, 0, pw, h);
    drawWave(ctx, gutter, pw, 0, 30, 0, duration);
    const ox = (t) => gutter + t / duration * pw;
    hypTurns.forEach((t) => { ctx.fillStyle = lanes[t[2]].color; ctx.fillRect(ox(t[0]), 32, Math.max(1, ox(t[1]) - ox(t[0])), 6); });
    errorRows.forEach((rows, k) => {
      ctx.fillStyle = color(errorKinds[k][0]);
      rows.forEach((r) => ctx.fillRect(ox(r[0]), 41, Math.max(1, ox(r[1]) - ox(r[0])), 5));
    });
    ctx.fillStyle = color("muted"); ctx.font = "600 11px system-ui, sans-serif"; ctx.textBaseline = "middle";
    ctx.fillText("overview", 4, h / 2);
  }

  function drawCursor() {
    const ctx = over.getContext("2d");
    if (over.width !== base.width || over.height !== base.height) setup(over, width, height);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const t = audio.currentTime || 0;
    if (t >= view.start && t <= view.start + view.span) {
      const x = toX(t);
      ctx.fillStyle = color("cursor"); ctx.fillRect(x - 1, 0, 2, height);
    }
    $("clock").textContent = fmt(t, 0.1) + " / " + fmt(duration, 1);
    const speaking = hypTurns.filter((r) => r[0] <= t && t < r[1]).map((r) => lanes[r[2]].label);
    $("now").textContent = speaking.length ? speaking.join(" + ") : "\u2014";
  }

  // ---- playback ----
  function seek(t, play) {
    audio.currentTime = Math.min(Math.max(t, 0), duration);
    follow(true);
    if (play) { const p = audio.play(); if (p && p.catch) p.catch(() => {}); }
    drawCursor(); drawOverview();
  }
  function follow(center) {
    const t = audio.currentTime || 0;
    if (t < view.start || t > view.start + view.span * 0.95) {
      view.start = center ? t - view.span * 0.1 : t; clampView(); draw();
    }
  }
  function tick() {
    if (!audio.paused) { follow(false); drawCursor(); drawOverview(); requestAnimationFrame(tick); }
  }
  audio.addEventListener("play", () => { $("play").textContent = "\u275a\u275a"; requestAnimationFrame(tick); });
  audio.addEventListener("pause", () => { $("play").textContent = "\u25b6"; drawCursor(); });
  audio.addEventListener("seeked", () => { drawCursor(); drawOverview(); });
  audio.addEventListener("error", () => { $("audio-error").hidden = false; });
  function togglePlay() {
    if (audio.paused) { const p = audio.play(); if (p && p.catch) p.catch(() => {}); } else audio.pause();
  }
  function jump(direction, starts) {
    const t = audio.currentTime || 0;
    if (!starts.length) return;
    const i = direction > 0 ? firstIndex(starts, t + 0.05) : firstIndex(starts, t - 0.5) - 1;
    if (i >= 0 && i < starts.length) seek(starts[i], !audio.paused || direction !== 0);
  }
  const hypStarts = hypTurns.map((t) => t[0]);

  function zoom(factor, atTime) {
    const t = atTime === undefined ? (audio.currentTime >= view.start && audio.currentTime <= view.start + view.span ? audio.currentTime : view.start + view.span / 2) : atTime;
    const frac = (t - view.start) / view.span;
    view.span *= factor; clampView();
    view.start = t - frac * view.span; clampView(); draw();
  }

  // ---- pointer: click a turn to play it, click elsewhere to seek, drag to pan ----
  function hit(x, yy) {
    const t = toTime(x);
    for (const row of rows) {
      if (row.kind !== "lane" || yy < row.y || yy >= row.y + row.h) continue;
      const lane = row.lane, tol = 3 / plotWidth() * view.span;
      for (let i = firstIndex(lane.starts, t - lane.maxDur - tol); i < lane.starts.length && lane.starts[i] <= t + tol; i++) {
        if (lane.ends[i] + tol >= t) return lane.starts[i];
      }
    }
    return null;
  }
  let drag = null;
  over.addEventListener("pointerdown", (e) => { drag = { x: e.clientX, start: view.start, moved: false }; });
  over.addEventListener("pointermove", (e) => {
    const r = over.getBoundingClientRect();
    over.style.cursor = hit(e.clientX - r.left, e.clientY - r.top) !== null ? "pointer" : "default";
    if (!drag) return;
    const dx = e.clientX - drag.x;
    if (Math.abs(dx) > 4) drag.moved = true;
    if (drag.moved) { view.start = drag.start - dx / plotWidth() * view.span; clampView(); draw(); }
  });
  over.addEventListener("pointerup", (e) => {
    const was = drag; drag = null;
    if (!was || was.moved) return;
    const r = over.getBoundingClientRect(), x = e.clientX - r.left, yy = e.clientY - r.top;
    if (x < gutter) return;
    const start = hit(x, yy);
    if (start !== null) seek(start, true); else seek(toTime(x), false);
  });
  over.addEventListener("pointercancel", () => { drag = null; });
  over.addEventListener("wheel", (e) => {
    const r = over.getBoundingClientRect();
    if (e.ctrlKey || e.metaKey) { e.preventDefault(); zoom(Math.exp(e.deltaY * 0.01), toTime(e.clientX - r.left)); }
    else if (Math.abs(e.deltaX) > Math.abs(e.deltaY) || e.shiftKey) {
      e.preventDefault(); view.start += (e.deltaX || e.deltaY) / plotWidth() * view.span; clampView(); draw();
    }
  }, { passive: false });
  let ovrDrag = false;
  function overviewSeek(e) {
    const r = ovr.getBoundingClientRect(), x = e.clientX - r.left;
    if (x < gutter) return;
    const t = (x - gutter) / plotWidth() * duration;
    view.start = t - view.span / 2; clampView();
    if (!ovrDrag) seek(t, false); else draw();
  }
  ovr.addEventListener("pointerdown", (e) => { overviewSeek(e); ovrDrag = true; ovr.setPointerCapture(e.pointerId); });
  ovr.addEventListener("pointermove", (e) => { if (ovrDrag) overviewSeek(e); });
  ovr.addEventListener("pointerup", () => { ovrDrag = false; });

  // ---- buttons and keys ----
  $("play").addEventListener("click", togglePlay);
  $("prev").addEventListener("click", () => jump(-1, hypStarts));
  $("next").addEventListener("click", () => jump(1, hypStarts));
  $("zoom-in").addEventListener("click", () => zoom(0.5));
  $("zoom-out").addEventListener("click", () => zoom(2));
  $("fit").addEventListener("click", () => { view.start = 0; view.span = duration; draw(); });
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const tag = e.target && e.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "AUDIO") return;
    const keys = {
      " ": togglePlay, k: togglePlay,
      n: () => jump(1, hypStarts), ArrowRight: () => jump(1, hypStarts), j: () => jump(1, hypStarts),
      p: () => jump(-1, hypStarts), ArrowLeft: () => jump(-1, hypStarts),
      e: () => jump(1, errorStarts), E: () => jump(-1, errorStarts),
      "+": () => zoom(0.5), "=": () => zoom(0.5), "-": () => zoom(2),
      "0": () => { view.start = 0; view.span = duration; draw(); },
    };
    const action = keys[e.key];
    if (!action) return;
    if (tag === "BUTTON" && (e.key === " " || e.key === "Enter")) return;
    e.preventDefault(); action();
  });

  // ---- audio source: a relative path, or embedded base64 turned into a blob ----
  const embedded = document.getElementById("review-audio");
  if (embedded) {
    const raw = atob(embedded.textContent.trim()), bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    audio.src = URL.createObjectURL(new Blob([bytes], { type: embedded.dataset.mime }));
  }

  function resize() {
    const w = Math.floor($("timeline-box").clientWidth);
    const d = window.devicePixelRatio || 1;
    if (w === width && d === dpr) return;
    width = w; dpr = d; gutter = width < 600 ? 84 : 120;
    over.style.width = width + "px";
    setup(over, width, height);
    draw();
  }
  new ResizeObserver(resize).observe($("timeline-box"));
  resize();
  window.diarizeReview = {
    data: data, view: view, stats: stats, audio: audio, draw: draw, zoom: zoom, seek: seek,
    // viewport coordinates of the middle of a turn (group "hyp" or "ref", index in that group)
    turnPoint: function (group, index) {
      const turns = data.turns.filter((t) => lanes[t[2]].group === group), t = turns[index];
      const lane = lanes[t[2]], r = over.getBoundingClientRect();
      const a = Math.max(t[0], view.start), b = Math.min(t[1], view.start + view.span);
      return { x: r.left + (toX(a) + toX(b)) / 2, y: r.top + lane.y + LANE / 2, start: t[0] };
    },
  };
  document.body.dataset.ready = "1";
})();
"""
