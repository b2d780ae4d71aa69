// Runs StrykerJS once per module group of stryker.config.mjs, one after another (all groups, or those
// named: `npm run test:mutation -- codec hero`). Reports land in reports/mutation/<group>.html.
import { spawnSync } from 'node:child_process';
import { groups } from '../../stryker.config.mjs';

const wanted = process.argv.slice(2);
const unknown = wanted.filter((g) => !(g in groups));
if (unknown.length) {
  console.error(`unknown group(s) ${unknown.join(', ')}; the groups are ${Object.keys(groups).join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const group of wanted.length ? wanted : Object.keys(groups)) {
  console.log(`\n== mutation group ${group}`);
  const run = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs'], {
    stdio: 'inherit',
    env: { ...process.env, MUTATION_GROUP: group },
  });
  if (run.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
