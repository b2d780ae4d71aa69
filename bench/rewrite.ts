/**
 * `npm run bench:report`: writes BENCHMARKS.md again from bench/results/latest.json, so a change to
 * the report's wording needs no new 25-minute run. The figures are the last run's, unchanged.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runScript } from '../test/reliability/processes';
import { type BenchReport, formatMarkdown } from './report';
import { writeTopology } from './topology';

runScript('bench:report', async () => {
  const file = join(ROOT, 'bench', 'results', 'latest.json');
  const report = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
  const previous = readFileSync(join(ROOT, 'BENCHMARKS.md'), 'utf8');
  writeFileSync(join(ROOT, 'BENCHMARKS.md'), await formatMarkdown(report));
  await writeTopology(ROOT, undefined, previous); // the "Topologies" section, as it was

  process.stdout.write(`BENCHMARKS.md written from ${file} (run of ${report.at})\n`);
  return 0;
});
