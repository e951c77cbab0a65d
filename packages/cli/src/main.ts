import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { isProtocolError } from '@marina/protocol';
import { ClientError } from '@marina/client';
import { CheckpointError, RunFolderError, ServerStartError } from '@marina/server';
import { benchCommand } from './commands/bench.js';
import { clientCommand } from './commands/client.js';
import { UsageError } from './commands/common.js';
import { compareCommand } from './commands/compare.js';
import { localCommand } from './commands/local.js';
import { mseCommand } from './commands/mse.js';
import { reportCommand } from './commands/report.js';
import { resultsCommand } from './commands/results.js';
import { serverCommand } from './commands/server.js';
import { shardCommand } from './commands/shard.js';
import { simCommand } from './commands/sim.js';
import { sweepCommand } from './commands/sweep.js';
import { theoryCommand } from './commands/theory.js';
import { environmentGuard } from './options.js';
import { ClusterError } from './runs.js';
import { clientExitStatus } from './security.js';

/** Every command; the environment guard needs them all to tell a shared MARINA_* variable from a typo. */
const commands = [localCommand, simCommand, serverCommand, clientCommand, compareCommand, benchCommand, theoryCommand, mseCommand, shardCommand, sweepCommand, reportCommand, resultsCommand];

const cli = yargs(hideBin(process.argv))
  .scriptName('marina')
  .env('MARINA')
  .middleware(environmentGuard(commands), true)
  .usage('$0 <command> [options]\n\nA parameter server for communication-compressed distributed optimization.')
  .command(commands)
  .demandCommand(1, 'name a command: local, sim, server, client, compare, bench, theory, mse, shard, sweep, report or results')
  .strict()
  .recommendCommands()
  .wrap(Math.min(120, process.stdout.columns ?? 100))
  .fail((msg, err, y) => {
    if (err) throw err;
    process.stderr.write(`${y.help()}\n\n${msg}\n`);
    process.exit(2);
  });

try {
  await cli.parseAsync();
} catch (e) {
  if (isProtocolError(e) && (e as { code: string }).code === 'MARINA_ERR_DIVERGED') {
    // A client whose update overflowed: the run diverged, which the server records as a result (exit 3).
    process.stderr.write(`marina: ${(e as Error).message}\n`);
    process.exit(3);
  }
  if (isProtocolError(e) || e instanceof UsageError || e instanceof RunFolderError || e instanceof ServerStartError || e instanceof CheckpointError) {
    const err = e as Error;
    process.stderr.write(`marina: ${err.message}\n`);
    process.exit(2);
  }
  if (e instanceof ClusterError) {
    process.stderr.write(`marina: ${e.message}\n`);
    process.exit(1);
  }
  if (e instanceof ClientError) {
    // The run failed for a reason the server or the network gave: one line, not a stack trace, and a status
    // that tells authentication, TLS and protocol mismatches apart from other failures (README "Security").
    process.stderr.write(`marina client: ${e.code}: ${e.message}\n`);
    process.exit(clientExitStatus(e.code));
  }
  process.stderr.write(`marina: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
}
