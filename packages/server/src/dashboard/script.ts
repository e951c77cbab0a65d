/**
 * The dashboard's browser script (served at `/dashboard/app.js`): opens the live feed (live.ts documents
 * its messages) and draws four uPlot charts. Plain browser JavaScript kept as a string so that the built
 * package serves it from `dist` with no bundler and no file beside the compiled code.
 * (It avoids template literals, which would end this string.)
 */
export const DASHBOARD_SCRIPT = String.raw`(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  /** Past this many points per chart, every other point is dropped (the shape stays, memory stays bounded). */
  var MAX_POINTS = 200000;
  /** Seconds of run time per round-rate sample. */
  var RATE_WINDOW = 0.5;
  var data, rate, rateMark, uplink, totals, test, run, finished, stopReason, lastGrad, connected;
  var charts = {};

  function reset() {
    data = { round: [], grad: [], bits: [], seconds: [] };
    rate = { t: [], r: [] };
    rateMark = null;
    uplink = [];
    totals = null;
    test = null;
    run = null;
    finished = false;
    stopReason = null;
    lastGrad = null;
    connected = 0;
  }

  /** Three significant digits and an SI prefix: 24.6 M, 120 k, 0.5. */
  function si(x, unit) {
    if (x === null || x === undefined || !isFinite(x)) return '–';
    var a = Math.abs(x);
    var p = a >= 1e12 ? [1e12, ' T'] : a >= 1e9 ? [1e9, ' G'] : a >= 1e6 ? [1e6, ' M'] : a >= 1e3 ? [1e3, ' k'] : [1, ' '];
    return (String(Number((x / p[0]).toPrecision(3))) + p[1] + (unit || '')).trim();
  }
  function sci(x) { return x === null || x === undefined || !isFinite(x) ? '–' : x.toExponential(3); }
  function logTicks(u, vals) { return vals.map(function (v) { return v === null ? '' : v.toExponential(0).replace('+', ''); }); }
  /** Grid lines and labels at powers of ten only (uPlot would also draw 2·10^k … 9·10^k). */
  function decades(u, axisIdx, min, max) {
    var out = [];
    for (var e = Math.ceil(Math.log10(min) - 1e-9); e <= Math.floor(Math.log10(max) + 1e-9); e++) out.push(Math.pow(10, e));
    return out;
  }
  function siTicks(unit) { return function (u, vals) { return vals.map(function (v) { return si(v, unit); }); }; }

  function plotWidth(id) { return Math.max(280, $(id).clientWidth); }

  function makeCharts() {
    var grad = { label: '‖∇f(xᵗ)‖²', stroke: '#2563eb', width: 1.5, spanGaps: true, points: { show: false }, value: function (u, v) { return sci(v); } };
    var logY = { distr: 3, log: 10 };
    charts.bits = new uPlot({
      width: plotWidth('chart-bits'), height: 260,
      scales: { x: { time: false }, y: logY },
      series: [{ label: 'bits/client', value: function (u, v) { return si(v, 'bit'); } }, grad],
      axes: [{ values: siTicks('') , size: 40 }, { values: logTicks, splits: decades, size: 56 }],
    }, [[], []], $('chart-bits'));
    charts.rounds = new uPlot({
      width: plotWidth('chart-rounds'), height: 260,
      scales: { x: { time: false }, y: logY },
      series: [{ label: 'round' }, Object.assign({}, grad)],
      axes: [{ size: 40 }, { values: logTicks, splits: decades, size: 56 }],
    }, [[], []], $('chart-rounds'));
    charts.uplink = new uPlot({
      width: plotWidth('chart-uplink'), height: 260,
      scales: { x: { time: false, range: function (u, min, max) { return [min - 0.5, max + 0.5]; } } },
      series: [{ label: 'rank' }, { label: 'uplink', fill: 'rgba(37, 99, 235, 0.35)', stroke: '#2563eb', width: 1, points: { show: false },
        paths: uPlot.paths.bars({ size: [0.8, 48] }), value: function (u, v) { return si(v, 'B'); } }],
      axes: [{ size: 40, values: function (u, vals) { return vals.map(function (v) { return Number.isInteger(v) ? String(v) : ''; }); } },
        { values: siTicks('B'), size: 72 }],
    }, [[], []], $('chart-uplink'));
    charts.rate = new uPlot({
      width: plotWidth('chart-rate'), height: 260,
      scales: { x: { time: false } },
      series: [{ label: 'seconds', value: function (u, v) { return v === null ? '–' : v.toFixed(1) + ' s'; } },
        { label: 'rounds/s', stroke: '#16a34a', width: 1.5, points: { show: false }, value: function (u, v) { return si(v, ''); } }],
      axes: [{ size: 40, values: function (u, vals) { return vals.map(function (v) { return v + ' s'; }); } }, { values: siTicks(''), size: 64 }],
    }, [[], []], $('chart-rate'));
    window.addEventListener('resize', function () {
      charts.bits.setSize({ width: plotWidth('chart-bits'), height: 260 });
      charts.rounds.setSize({ width: plotWidth('chart-rounds'), height: 260 });
      charts.uplink.setSize({ width: plotWidth('chart-uplink'), height: 260 });
      charts.rate.setSize({ width: plotWidth('chart-rate'), height: 260 });
    });
  }

  function addPoints(p) {
    for (var i = 0; i < p.round.length; i++) {
      var g = p.gradNormSq[i];
      if (g !== null) lastGrad = g;
      // A log axis cannot show 0: an exact zero is left out of the line (it stays in the stat above).
      var y = g !== null && g > 0 ? g : null;
      data.round.push(p.round[i]);
      data.grad.push(y);
      data.bits.push(p.bits[i]);
      data.seconds.push(p.seconds[i]);
      addRate(p.round[i], p.seconds[i]);
    }
    if (data.round.length > MAX_POINTS) {
      var keep = function (a) { return a.filter(function (_, j) { return j % 2 === 0 || j === a.length - 1; }); };
      data = { round: keep(data.round), grad: keep(data.grad), bits: keep(data.bits), seconds: keep(data.seconds) };
    }
  }

  function addRate(round, seconds) {
    if (rateMark === null) { rateMark = { round: round, seconds: seconds }; return; }
    var dt = seconds - rateMark.seconds;
    if (dt < RATE_WINDOW) return;
    rate.t.push(seconds);
    rate.r.push((round - rateMark.round) / dt);
    rateMark = { round: round, seconds: seconds };
  }

  function currentRate() {
    var n = data.round.length;
    if (finished && n > 1) {
      var span = data.seconds[n - 1] - data.seconds[0];
      return span > 0 ? (data.round[n - 1] - data.round[0]) / span : null;
    }
    return rate.r.length ? rate.r[rate.r.length - 1] : null;
  }

  function setPhase(phase) {
    var pill = $('phase');
    var aborted = phase === 'finished' && stopReason && stopReason.indexOf('aborted') === 0;
    pill.textContent = aborted ? 'aborted' : phase;
    pill.className = 'pill ' + (aborted ? 'aborted' : phase);
    document.body.dataset.phase = phase;
    $('reason').textContent = stopReason || '';
  }

  function draw() {
    charts.bits.setData([data.bits, data.grad]);
    charts.rounds.setData([data.round, data.grad]);
    charts.uplink.setData([uplink.map(function (_, i) { return i; }), uplink]);
    charts.rate.setData([rate.t, rate.r]);
    var n = data.round.length;
    $('round').textContent = n ? String(data.round[n - 1]) : '–';
    $('rounds-max').textContent = run ? '/ ' + run.config.rounds : '';
    $('rate').textContent = si(currentRate(), '/s');
    $('connected').textContent = run ? connected + ' / ' + run.config.clients : String(connected);
    $('grad').textContent = sci(lastGrad);
    $('test').textContent = test ? sci(test.loss) + ' · ' + (test.accuracy === null ? '–' : (100 * test.accuracy).toFixed(2) + ' %') : '–';
    $('bits').textContent = totals ? si(totals.bitsPerClient, 'bit') : '–';
    $('wire').textContent = totals ? si(totals.wireBytesUp, 'B') + ' / ' + si(totals.wireBytesDown, 'B') : '–';
    $('elapsed').textContent = n ? data.seconds[n - 1].toFixed(1) + ' s' : '–';
    document.body.dataset.points = String(charts.rounds.data[0].length);
  }

  function fill(id, obj) {
    var table = $(id);
    table.textContent = '';
    Object.keys(obj).forEach(function (k) {
      var v = obj[k];
      if (v === undefined) return;
      var text = v === null ? '—' : typeof v === 'number' ? String(Number(v.toPrecision(6)))
        : Array.isArray(v) ? v.join('; ') : typeof v === 'object' ? JSON.stringify(v) : String(v);
      var tr = document.createElement('tr');
      var a = document.createElement('td');
      var b = document.createElement('td');
      a.textContent = k;
      b.textContent = text;
      tr.appendChild(a);
      tr.appendChild(b);
      table.appendChild(tr);
    });
  }

  function onMessage(msg) {
    if (msg.type === 'init') {
      reset();
      run = { runId: msg.runId, config: msg.config, theory: msg.theory };
      stopReason = msg.stopReason;
      finished = msg.phase === 'finished';
      connected = msg.connected;
      totals = msg.totals;
      test = msg.test || null;
      uplink = msg.uplink;
      addPoints(msg.points);
      var c = msg.config;
      $('run').textContent = 'run ' + msg.runId + ' · ' + c.method + ' + ' + c.compressor + ' · n = ' + c.clients + ', d = ' + (msg.d === null ? '(joining)' : msg.d) + ', problem ' + c.problem;
      document.title = 'marina · ' + c.method + ' + ' + c.compressor + ' · ' + msg.runId;
      fill('config', c);
      fill('theory', msg.theory);
      setPhase(msg.phase);
    } else if (msg.type === 'rounds') {
      addPoints(msg.points);
      uplink = msg.uplink;
      totals = msg.totals;
      test = msg.test || null;
      connected = msg.connected;
      if (!finished) setPhase('running');
    } else if (msg.type === 'clients') {
      connected = msg.connected;
    } else if (msg.type === 'end') {
      finished = true;
      stopReason = msg.stopReason;
      setPhase('finished');
    }
    draw();
  }

  function connect() {
    // A server with a secret asks /live for the token the page was opened with (/?token=…).
    var token = new URLSearchParams(location.search).get('token');
    var ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/live' + (token ? '?token=' + encodeURIComponent(token) : ''));
    ws.onmessage = function (e) { onMessage(JSON.parse(e.data)); };
    ws.onclose = function () {
      if (finished) {
        $('reason').textContent = (stopReason || '') + ' (server closed)';
        return;
      }
      setPhase('disconnected');
      setTimeout(connect, 2000);
    };
  }

  reset();
  makeCharts();
  connect();
})();
`;
