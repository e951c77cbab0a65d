/**
 * The dashboard page (served at `/`). Everything it loads comes from this server: uPlot from the installed
 * package and the page's script from script.ts, so it works with no network beyond the server.
 *
 * Hooks for tests and scripts: `#round` holds the last finished round, and `<body>` carries `data-phase`
 * (waiting, running, finished) and `data-points` (rounds plotted).
 */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>marina dashboard</title>
<link rel="stylesheet" href="/dashboard/uPlot.min.css">
<style>
  :root { --fg: #1d2430; --muted: #667085; --line: #e4e7ec; --bg: #f6f7f9; --card: #fff; --accent: #2563eb; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
  header { display: flex; align-items: baseline; gap: 12px; padding: 14px 20px; background: var(--card); border-bottom: 1px solid var(--line); flex-wrap: wrap; }
  header h1 { font-size: 18px; margin: 0; }
  header .run { color: var(--muted); font-family: ui-monospace, monospace; font-size: 12px; }
  .pill { padding: 2px 10px; border-radius: 999px; font-size: 12px; font-weight: 600; background: #eef2ff; color: #3730a3; }
  .pill.running { background: #dcfce7; color: #166534; }
  .pill.finished { background: #e0e7ff; color: #1e3a8a; }
  .pill.aborted, .pill.disconnected { background: #fee2e2; color: #991b1b; }
  #reason { color: var(--muted); font-size: 12px; }
  main { padding: 16px 20px; display: grid; gap: 16px; }
  .stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; }
  .stat { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
  .stat .k { color: var(--muted); font-size: 12px; }
  .stat .v { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
  .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 16px; }
  .card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px; min-width: 0; }
  .card h2 { font-size: 14px; margin: 0 0 8px; font-weight: 600; }
  .card h2 small { color: var(--muted); font-weight: 400; }
  .plot { width: 100%; min-height: 260px; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  td { padding: 3px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
  td:first-child { color: var(--muted); white-space: nowrap; width: 1%; }
  td:last-child { font-family: ui-monospace, monospace; word-break: break-word; }
  .config { display: grid; grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); gap: 16px; }
</style>
</head>
<body data-phase="waiting" data-points="0">
<header>
  <h1>marina</h1>
  <span class="pill" id="phase">connecting</span>
  <span class="run" id="run"></span>
  <span id="reason"></span>
</header>
<main>
  <section class="stats">
    <div class="stat"><div class="k">round</div><div class="v"><span id="round">–</span> <small id="rounds-max"></small></div></div>
    <div class="stat"><div class="k">round rate</div><div class="v" id="rate">–</div></div>
    <div class="stat"><div class="k">connected clients</div><div class="v" id="connected">–</div></div>
    <div class="stat"><div class="k">‖∇f(xᵗ)‖²</div><div class="v" id="grad">–</div></div>
    <div class="stat"><div class="k">test loss · accuracy</div><div class="v" id="test">–</div></div>
    <div class="stat"><div class="k">bits per client</div><div class="v" id="bits">–</div></div>
    <div class="stat"><div class="k">wire bytes up / down</div><div class="v" id="wire">–</div></div>
    <div class="stat"><div class="k">elapsed</div><div class="v" id="elapsed">–</div></div>
  </section>
  <section class="charts">
    <div class="card"><h2>‖∇f(xᵗ)‖² against bits per client <small>(algorithm bits, round 0 included)</small></h2><div class="plot" id="chart-bits"></div></div>
    <div class="card"><h2>‖∇f(xᵗ)‖² against rounds</h2><div class="plot" id="chart-rounds"></div></div>
    <div class="card"><h2>Uplink bytes per client <small>(algorithm wire bytes, cumulative)</small></h2><div class="plot" id="chart-uplink"></div></div>
    <div class="card"><h2>Round rate <small>(rounds per second)</small></h2><div class="plot" id="chart-rate"></div></div>
  </section>
  <section class="config">
    <div class="card"><h2>Configuration</h2><table id="config"></table></div>
    <div class="card"><h2>Theory</h2><table id="theory"></table></div>
  </section>
</main>
<script src="/dashboard/uPlot.iife.min.js"></script>
<script src="/dashboard/app.js"></script>
</body>
</html>
`;
