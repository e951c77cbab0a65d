import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RoundTraffic } from '@marina/protocol';
import type { RoundRecord } from '@marina/core';
import type { RunView } from './view.js';

/** Round-duration buckets in seconds: 100 µs (a raw loopback round) up to a minute (a slow client). */
const ROUND_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The Prometheus view of one server (`GET /metrics`). */
export interface ServerMetrics {
  /** This server's own registry, never the global default, so several servers share a process. */
  readonly registry: Registry;
}

/**
 * Serves `/metrics` in the Prometheus text format: rounds, algorithm bits and wire bytes by direction and
 * client rank, telemetry and control bytes, round durations, connected clients.
 *
 * The hot path only adds into typed arrays (one add per client per round); the counters are filled from
 * them when scraped, so a scrape costs O(n) and a round costs no label lookups. Every number comes from the
 * coordinator's ledger, so the counters agree exactly with rounds.jsonl: Σ over ranks of
 * `marina_wire_bytes_total{direction="up"}` is Σ over rounds of `wireBytesUp`.
 */
export function attachMetrics(server: RunView): ServerMetrics {
  const n = server.clients;
  const registry = new Registry();
  registry.setDefaultLabels({ run: server.runId });
  const bitsUp = new Float64Array(n);
  const wireUp = new Float64Array(n);
  const wireDown = new Float64Array(n);
  const telemetry = new Float64Array(n);
  const ranks = Array.from({ length: n }, (_, i) => String(i));
  let rounds = 0;
  let lastGradNormSq: number | null = null;
  let roundStartedAt = NaN;

  new Counter({
    name: 'marina_rounds_total',
    help: 'Rounds finished (round 0 included); equals the number of lines in rounds.jsonl.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(rounds);
    },
  });
  new Counter({
    name: 'marina_algorithm_bits_total',
    help: 'Algorithm bits as the papers count them (SPEC decision 1), by client rank. Only the uplink is counted.',
    labelNames: ['direction', 'rank'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (let i = 0; i < n; i++) this.inc({ direction: 'up', rank: ranks[i]! }, bitsUp[i]!);
    },
  });
  new Counter({
    name: 'marina_wire_bytes_total',
    help: 'WebSocket frame bytes of algorithm messages (headers included), by direction and client rank.',
    labelNames: ['direction', 'rank'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (let i = 0; i < n; i++) {
        this.inc({ direction: 'up', rank: ranks[i]! }, wireUp[i]!);
        this.inc({ direction: 'down', rank: ranks[i]! }, wireDown[i]!);
      }
    },
  });
  new Counter({
    name: 'marina_telemetry_bytes_total',
    help: 'WebSocket frame bytes of evaluation traffic (reports, and round starts sent only to evaluate), by client rank.',
    labelNames: ['rank'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (let i = 0; i < n; i++) this.inc({ rank: ranks[i]! }, telemetry[i]!);
    },
  });
  new Counter({
    name: 'marina_control_bytes_total',
    help: 'WebSocket frame bytes of hello, assign, report, welcome, error and bye messages.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(server.ledger.totals.controlBytes);
    },
  });
  const duration = new Histogram({
    name: 'marina_round_duration_seconds',
    help: 'Wall-clock time from a round start being sent to the round finishing.',
    buckets: ROUND_BUCKETS,
    registers: [registry],
  });
  const connected = new Gauge({ name: 'marina_connected_clients', help: 'Clients holding a rank.', registers: [registry] });
  new Gauge({ name: 'marina_clients', help: 'Clients the run needs (n).', registers: [registry] }).set(n);
  new Gauge({
    name: 'marina_grad_norm_sq',
    help: 'Latest evaluated squared gradient norm at the iterate (NaN before the first evaluation).',
    registers: [registry],
    collect() {
      this.set(lastGradNormSq ?? NaN);
    },
  });

  let lastTest: { loss: number | null; accuracy: number | null } = { loss: null, accuracy: null };
  new Gauge({
    name: 'marina_test_loss',
    help: 'Latest loss on the held-out --test-data at the iterate (NaN without test data or before the first evaluation).',
    registers: [registry],
    collect() {
      this.set(lastTest.loss ?? NaN);
    },
  });
  new Gauge({
    name: 'marina_test_accuracy',
    help: 'Latest accuracy on the held-out --test-data at the iterate, in [0, 1] (NaN when there is none).',
    registers: [registry],
    collect() {
      this.set(lastTest.accuracy ?? NaN);
    },
  });

  server.on('clients', (count: number) => connected.set(count));
  server.on('roundStart', () => (roundStartedAt = performance.now()));
  server.on('round', (record: RoundRecord, traffic: RoundTraffic | null) => {
    rounds++;
    if (record.gradNormSq !== null) lastGradNormSq = record.gradNormSq;
    if (record.testLoss !== null) lastTest = { loss: record.testLoss, accuracy: record.testAccuracy };
    if (!Number.isNaN(roundStartedAt)) duration.observe((performance.now() - roundStartedAt) / 1000);
    roundStartedAt = NaN;
    if (!traffic) return;
    for (let i = 0; i < n; i++) {
      const c = traffic.perClient[i]!;
      bitsUp[i]! += c.bitsUp;
      wireUp[i]! += c.wireBytesUp;
      wireDown[i]! += c.wireBytesDown;
      telemetry[i]! += c.telemetryBytes;
    }
  });

  server.route('/metrics', (_req, res) => {
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      },
      (err: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`metrics failed: ${err.message}\n`);
      },
    );
  });
  return { registry };
}
