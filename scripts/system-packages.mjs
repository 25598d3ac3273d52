// The programs weft's tests and benchmarks run outside Node.js, and how to bring them: each with
// how to find it, its Debian packages and what needs it. Missing ones are installed with apt-get
// (non-interactive, without recommended packages) when running as root; otherwise the caller is
// told the apt-get command to run. Used by `npm test`'s pretest (scripts/pretest.mjs: all of them)
// and `npm run bench`'s prebench (scripts/prebench.mjs: wrk). Plain JavaScript that any Node.js
// from 18 on can run.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Whether an executable `name` is on PATH or in the sbin directories (dnsmasq lives in /usr/sbin). */
export function onPath(name) {
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

/** wrk, the HTTP load generator of the `server-overhead` benchmark (test/bench/wrk.ts). */
export const WRK = {
  what: 'wrk',
  present: () => onPath('wrk'),
  pkgs: ['wrk'],
  usedBy: 'the server-overhead bench test',
};

/**
 * What the test suite runs outside Node.js. Installed without recommended packages (chromium's
 * pull in systemd, udev and perl), but with the fonts the admin page renders in.
 */
export const SYSTEM_PACKAGES = [
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
  WRK,
];

/** Run `command` with `args`, its output on ours, after `say`ing it; true when it exited 0. */
export function run(say, command, args) {
  say(`$ ${[command, ...args].join(' ')}`);
  const result = spawnSync(command, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return result.status === 0;
}

/**
 * Bring every one of `wanted` that is missing; true when all are present after. `who` needs them
 * (e.g. "the test suite"), `again` is the command to run again once they are installed, and `say`
 * prints one line.
 */
export function bringSystemPackages(wanted, { who, again, say }) {
  let missing = wanted.filter((p) => !p.present());
  if (missing.length === 0) return true;
  const pkgs = () => missing.flatMap((p) => p.pkgs).join(' ');
  const listed = () => missing.map((p) => `${p.what} (${p.usedBy})`).join(', ');
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const aptGet = onPath('apt-get');
  if (root && aptGet) {
    say(`${who} needs ${listed()}; installing ${pkgs()}`);
    // -o DPkg::Lock::Timeout: wait for another apt-get to finish rather than fail at once.
    const apt = (...args) => run(say, 'apt-get', ['-o', 'DPkg::Lock::Timeout=300', '-q', ...args]);
    const ok = apt('update') && apt('install', '-y', '--no-install-recommends', ...pkgs().split(' '));
    missing = wanted.filter((p) => !p.present());
    if (ok && missing.length === 0) return true;
  }
  const sudo = root ? '' : 'sudo ';
  const install = `${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends ${pkgs()}`;
  const how = !aptGet
    ? [
        `apt-get is not available here: install ${missing.map((p) => p.what).join(', ')} with this system's`,
        `package manager (the Debian packages: ${pkgs()}),`,
      ]
    : root
      ? ['apt-get failed (see above); run it yourself:', `  ${install}`]
      : [`${again} installs them itself when run as root; as this user, run:`, `  ${install}`];
  say([`not installed, and ${who} needs them: ${listed()}.`, ...how, `then ${again} again.`].join('\n'));
  return false;
}
