import { ProtocolError } from '@marina/protocol';
import type { Dataset } from './data/dataset.js';
import type { Problem } from './problems/types.js';
import type { RunSetup } from './setup.js';

/** Test loss and accuracy at an iterate: telemetry, never on the algorithm's path. */
export interface TestEvaluator {
  evaluate(x: Float64Array): { loss: number; accuracy: number | null };
}

/**
 * Evaluates a held-out data set (`--test-data`) with the run's problem at the server's iterate. The test
 * file may use fewer feature indices than the training data (a9a.t has no index 123): it is read with the
 * clients' feature count, and refused if it has more.
 */
export function testEvaluator(setup: RunSetup, data: Dataset, source: string): TestEvaluator {
  const features = setup.facts[0]?.features ?? 0;
  if (setup.problem.data === 'none') throw new ProtocolError('MARINA_ERR_BAD_CONFIG', `--test-data needs a data problem; "${setup.problem.name}" is generated`, { field: 'testData' });
  if (data.features > features) {
    throw new ProtocolError('MARINA_ERR_BAD_DATA', `${source}: the test data has ${data.features} features, the clients' data ${features}; give --features`, { file: source });
  }
  const problem: Problem = setup.problem.local(setup.config, setup.n, 0, { ...data, features }).problem;
  if (problem.d !== setup.d) throw new ProtocolError('MARINA_ERR_BAD_DATA', `${source}: the test data gives d = ${problem.d}, the run d = ${setup.d}`, { file: source });
  return { evaluate: (x) => ({ loss: problem.loss(x), accuracy: problem.accuracy ? problem.accuracy(x) : null }) };
}
