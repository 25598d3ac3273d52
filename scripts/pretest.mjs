// `npm test`'s pretest: brings what the suite needs, so `npm install` then `npm test` passes on a
// fresh machine, and no test has to skip. In order:
//  1. the Node.js running npm's scripts satisfies package.json engines (scripts/check-node.mjs);
//  2. the system programs the suite runs: dnsmasq (DNS discovery tests, Debian package
//     dnsmasq-base), Chromium at /usr/bin/chromium (admin page test), openssl (TLS tests),
//     protoc (a ts-proto generated gRPC client, Debian package protobuf-compiler), the gRPC
//     interop server and client of Debian's ruby-grpc (gRPC interop tests), etcd (the etcd
//     discovery tests, Debian package etcd-server).
//     Missing ones are installed with apt-get when running as root; otherwise it stops and prints
//     the apt-get command to run;
//  3. a Node.js below the floor for test/node-check.test.ts (scripts/old-node.mjs), installed
//     from the npm registry if the machine has none;
//  4. dist/ built and newer than its sources (tests load the built package), else `npm run build`.
// Non-interactive throughout (no TTY needed). Plain JavaScript that any Node.js from 18 on can
// run, so that step 1 can explain itself on an old one.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { nodeProblem, ROOT } from './check-node.mjs';
import { findOldNode, installOldNode, OLD_NODE_PACKAGE, oldNodeDir } from './old-node.mjs';

const say = (text) => console.error(`weft pretest: ${text}`);

/** Whether an executable `name` is on PATH or in the sbin directories (dnsmasq lives in /usr/sbin). */
function onPath(name) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  return dirs.some((dir) => {
    if (dir === '') return false;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * What the suite runs outside Node.js: how to find it, its Debian packages, and which tests need
 * it. Installed without recommended packages (chromium's pull in systemd, udev and perl), but
 * with the fonts the admin page renders in.
 */
const SYSTEM_PACKAGES = [
  {
    what: 'dnsmasq',
    present: () => onPath('dnsmasq'),
    pkgs: ['dnsmasq-base'],
    usedBy: 'the DNS discovery tests',
  },
  {
    what: 'etcd',
    present: () => onPath('etcd'),
    pkgs: ['etcd-server'],
    usedBy: 'the etcd discovery tests',
  },
  {
    what: '/usr/bin/chromium',
    present: () => existsSync('/usr/bin/chromium'),
    pkgs: ['chromium', 'fonts-liberation'],
    usedBy: 'the admin page test',
  },
  { what: 'openssl', present: () => onPath('openssl'), pkgs: ['openssl'], usedBy: 'the TLS tests' },
  {
    what: 'protoc',
    present: () => onPath('protoc'),
    pkgs: ['protobuf-compiler'],
    usedBy: 'the gRPC test of a ts-proto generated client',
  },
  {
    what: "ruby-grpc's interop server and client",
    present: rubyGrpcInterop,
    pkgs: ['ruby', 'ruby-grpc'],
    usedBy: 'the gRPC interop tests',
  },
];

/**
 * Whether ruby finds the grpc gem and it holds the interop scripts the tests run (as
 * test/support/ruby-interop.ts looks for them).
 */
function rubyGrpcInterop() {
  if (!onPath('ruby')) return false;
  const found = spawnSync('ruby', ['-e', 'print Gem::Specification.find_by_name("grpc").gem_dir'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 15_000,
  });
  if (found.status !== 0 || found.stdout === '') return false;
  return ['server.rb', 'client.rb'].every((script) =>
    existsSync(join(found.stdout, 'src/ruby/pb/test', script)),
  );
}

function run(command, args) {
  say(`$ ${[command, ...args].join(' ')}`);
  const result = spawnSync(command, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return result.status === 0;
}

function systemPackages() {
  let missing = SYSTEM_PACKAGES.filter((p) => !p.present());
  if (missing.length === 0) return true;
  const pkgs = () => missing.flatMap((p) => p.pkgs).join(' ');
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const aptGet = onPath('apt-get');
  if (root && aptGet) {
    say(`the suite needs ${missing.map((p) => `${p.what} (${p.usedBy})`).join(', ')}; installing ${pkgs()}`);
    // -o DPkg::Lock::Timeout: wait for another apt-get to finish rather than fail at once.
    const apt = (...args) => run('apt-get', ['-o', 'DPkg::Lock::Timeout=300', '-q', ...args]);
    const ok = apt('update') && apt('install', '-y', '--no-install-recommends', ...pkgs().split(' '));
    missing = SYSTEM_PACKAGES.filter((p) => !p.present());
    if (ok && missing.length === 0) return true;
  }
  const sudo = root ? '' : 'sudo ';
  const install = `${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends ${pkgs()}`;
  const how = !aptGet
    ? [
        'apt-get is not available here: install dnsmasq, openssl, protoc, Chromium (as /usr/bin/chromium)',
        "and the gRPC Ruby gem with its interop scripts with this system's package manager (the Debian",
        'packages: dnsmasq-base chromium fonts-liberation openssl protobuf-compiler ruby ruby-grpc),',
      ]
    : root
      ? ['apt-get failed (see above); run it yourself:', `  ${install}`]
      : ['npm test installs them itself when run as root; as this user, run:', `  ${install}`];
  console.error(
    [
      `weft pretest: not installed, and the test suite needs them: ${missing.map((p) => `${p.what} (${p.usedBy})`).join(', ')}.`,
      ...how,
      'then npm test again.',
    ].join('\n'),
  );
  return false;
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
  return npm?.endsWith('.js') ? run(process.execPath, [npm, 'run', 'build']) : run('npm', ['run', 'build']);
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
