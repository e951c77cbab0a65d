import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';

/**
 * `marina report FOLDER... --out DIR`: figures (‖∇f(xᵗ)‖² against bits per client, wire bytes per client and
 * rounds), a table and one self-contained page for the runs below the folders (a sweep folder contributes its
 * `kept` runs). The renderer (vega) loads only when this command runs.
 */
export const reportCommand: CommandModule = {
  command: 'report <folders..>',
  describe: 'plots and a table of the runs below run or sweep folders: grad-vs-bits/-wire/-rounds.svg, table.md, index.html',
  builder: (y) =>
    y
      .positional('folders', { type: 'string', array: true, describe: 'run folders, or folders holding runs (searched recursively; a sweep folder gives its sweep.json "kept" runs)' })
      .options({
        out: { type: 'string', demandOption: true, describe: 'folder for the report (created; its report files are overwritten)', group: 'Output:' },
        json: { type: 'boolean', default: false, describe: 'print one JSON object: the files written and the series', group: 'Output:' },
      }),
  handler: async (a) => {
    const { buildReport } = await import('../report/build.js');
    const report = await buildReport((a['folders'] as unknown[]).map(String));
    const dir = String(a['out']);
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of report.files) writeFileSync(join(dir, name), text);
    for (const w of report.warnings) process.stderr.write(`marina report: warning: ${w}\n`);
    const files = [...report.files.keys()].map((f) => join(dir, f));
    if (a['json']) {
      process.stdout.write(JSON.stringify({ files, series: report.series.map((s) => ({ label: s.label, dir: s.run.dir, points: s.points.length })) }) + '\n');
    } else {
      process.stdout.write(`report of ${report.series.length} run${report.series.length === 1 ? '' : 's'} in ${dir}: ${[...report.files.keys()].join(', ')}\n`);
      for (const s of report.series) process.stdout.write(`  ${s.label}\n`);
    }
  },
};
