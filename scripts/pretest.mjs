// `npm test`'s pretest: brings what the suite needs, so `npm install` then `npm test` passes on a
// fresh machine, and no test has to skip. In order:
//  1. the Node.js running npm's scripts satisfies package.json engines (scripts/check-node.mjs);
//  2. the system programs the suite runs (scripts/system-packages.mjs): dnsmasq (DNS discovery
//     tests, Debian package dnsmasq-base), Chromium at /usr/bin/chromium (admin page test),
//     openssl (TLS tests), protoc (a ts-proto generated gRPC client, Debian package
//     protobuf-compiler), the gRPC interop server and client of Debian's ruby-grpc (gRPC interop
//     tests), etcd (the etcd discovery tests, Debian package etcd-server), wrk (the load
//     generator of the server-overhead bench test, Debian package wrk).
//     Missing ones are installed with apt-get when running as root; otherwise it stops and prints
//     the apt-get command to run;
//  3. a Node.js below the floor for test/node-check.test.ts (scripts/old-node.mjs), installed
//     from the npm registry if the machine has none;
//  4. dist/ built and newer than its sources (tests load the built package), else `npm run build`.
// Non-interactive throughout (no TTY needed). Plain JavaScript that any Node.js from 18 on can
// run, so that step 1 can explain itself on an old one.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { nodeProblem, ROOT } from './check-node.mjs';
import { findOldNode, installOldNode, OLD_NODE_PACKAGE, oldNodeDir } from './old-node.mjs';
import { bringSystemPackages, run, SYSTEM_PACKAGES } from './system-packages.mjs';

const say = (text) => console.error(`weft pretest: ${text}`);

function systemPackages() {
  return bringSystemPackages(SYSTEM_PACKAGES, { who: 'the test suite', again: 'npm test', say });
}

function oldNode() {
  const found = findOldNode();
  if (found !== undefined) return true;
  say(
    `no Node.js below the floor on this machine (test/node-check.test.ts loads weft on one); installing ${OLD_NODE_PACKAGE} into ${oldNodeDir()}`,
  );
  try {
    installOldNode();
  } catch (error) {
    say(
      `${error.message}\nSet WEFT_OLD_NODE to the path of a Node.js 18 or 20 binary instead, and run npm test again.`,
    );
    return false;
  }
  if (findOldNode() !== undefined) return true;
  say(
    `${OLD_NODE_PACKAGE} was installed into ${oldNodeDir()} but does not run; set WEFT_OLD_NODE to a Node.js 18 or 20 binary.`,
  );
  return false;
}

/** Newest modification time under `path` (a file or a directory), in ms. */
function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((latest, name) => Math.max(latest, newest(join(path, name))), stat.mtimeMs);
}

/** The files package.json `exports` points at (every entry's JavaScript and types, ESM and CJS). */
function builtFiles() {
  const { exports } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const files = [];
  const walk = (value) => {
    if (typeof value === 'string') {
      if (value.startsWith('./dist/')) files.push(join(ROOT, value));
    } else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(exports);
  return files;
}

function build() {
  const inputs = ['src', 'package.json', 'tsup.config.ts', 'tsconfig.json'].map((p) => join(ROOT, p));
  const outputs = builtFiles();
  const stale =
    outputs.some((file) => !existsSync(file)) ||
    Math.min(...outputs.map((file) => statSync(file).mtimeMs)) < Math.max(...inputs.map(newest));
  if (!stale) return true;
  say('dist/ is missing or older than its sources; building it');
  const npm = process.env.npm_execpath;
  return npm?.endsWith('.js')
    ? run(say, process.execPath, [npm, 'run', 'build'])
    : run(say, 'npm', ['run', 'build']);
}

function main() {
  const problem = nodeProblem();
  if (problem !== undefined) {
    console.error(problem);
    return 1;
  }
  for (const step of [systemPackages, oldNode, build]) if (!step()) return 1;
  return 0;
}

process.exitCode = main();
