"""The review pages' style sheet: system fonts only (nothing fetched), laptop and phone layouts."""

CSS = r"""
:root {
  --text: #1f2328; --muted: #656d76; --bg: #ffffff; --panel: #f6f8fa; --border: #d0d7de;
  --grid: #eaeef2; --lane: #f3f4f6; --wave: #8c959f; --overlap: rgba(31, 35, 40, 0.14);
  --accent: #0969da; --cursor: #cf222e;
  --missed: #e8590c; --false_alarm: #c2255c; --confusion: #7048e8;
}
* { box-sizing: border-box; }
body {
  margin: 0; padding: 12px; color: var(--text); background: var(--bg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
main { max-width: 1400px; margin: 0 auto; }
h1 { font-size: 1.25rem; margin: 0 0 4px; word-break: break-all; }
h2 { font-size: 1rem; margin: 18px 0 6px; }
a { color: var(--accent); }
.meta { color: var(--muted); margin: 0 0 10px; }
.meta b { color: var(--text); }
.der { font-weight: 600; color: var(--text); }
.controls {
  display: flex; flex-wrap: wrap; gap: 6px; align-items: center; position: sticky; top: 0;
  z-index: 2; background: var(--bg); padding: 6px 0; border-bottom: 1px solid var(--border);
}
.controls audio { flex: 1 1 260px; min-width: 200px; height: 36px; }
button {
  font: inherit; min-width: 36px; height: 36px; padding: 0 10px; border: 1px solid var(--border);
  border-radius: 6px; background: var(--panel); color: var(--text); cursor: pointer;
}
button:hover { border-color: var(--accent); }
.readout { font-variant-numeric: tabular-nums; color: var(--muted); white-space: nowrap; }
.readout b { color: var(--text); }
#overview { display: block; margin-top: 8px; touch-action: none; cursor: pointer; }
#timeline-box { position: relative; margin-top: 6px; width: 100%; }
#timeline { display: block; }
#cursor { position: absolute; left: 0; top: 0; touch-action: pan-y; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 8px 0; color: var(--muted); }
.legend span { white-space: nowrap; }
.swatch {
  display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px;
  margin-right: 4px;
}
.tables { display: flex; flex-wrap: wrap; gap: 8px 32px; }
.table-box { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px 3px 0; text-align: right; border-bottom: 1px solid var(--grid); }
th:first-child, td:first-child { text-align: left; }
th { color: var(--muted); font-weight: 600; }
.warning { background: #fff8c5; border: 1px solid #d4a72c; padding: 6px 10px; border-radius: 6px; }
footer { color: var(--muted); margin-top: 18px; font-size: 0.9em; }
kbd {
  border: 1px solid var(--border); border-bottom-width: 2px; border-radius: 4px; padding: 0 4px;
  font: 0.85em ui-monospace, monospace; background: var(--panel);
}
@media (max-width: 600px) {
  body { padding: 8px; font-size: 13px; }
  .controls audio { flex-basis: 100%; }
}
"""
