// `npm run bench`'s prebench, before it builds dist/: the Node.js running npm's scripts satisfies
// package.json engines (scripts/check-node.mjs, which stops here when it does not), and wrk, the
// load generator of `server-overhead`, is brought the way `npm test`'s pretest brings it
// (scripts/system-packages.mjs: apt-get when running as root). When wrk cannot be brought, this
// prints the apt-get command and lets the run go on: the other scenarios do not need it, and
// `server-overhead` then fails with the same advice (test/bench/wrk.ts). Plain JavaScript that any
// Node.js from 18 on can run.
import { nodeProblem } from './check-node.mjs';
import { bringSystemPackages, WRK } from './system-packages.mjs';

const problem = nodeProblem();
if (problem !== undefined) {
  console.error(problem);
  process.exitCode = 1;
} else {
  const say = (text) => console.error(`weft prebench: ${text}`);
  if (!bringSystemPackages([WRK], { who: 'npm run bench', again: 'npm run bench', say })) {
    say('going on without it: of the scenarios, only server-overhead needs wrk.');
  }
}
