// ctest fixture gateways.node.npm_ci: installs client/node's dependencies
// exactly as package-lock.json pins them (`npm ci`), unless node_modules
// already holds exactly those versions, so that a second run, or a machine
// without network access that installed them before, needs no registry.
//
// Usage: node npm_ci.mjs <package dir>   (npm from $NPM, else PATH)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const dir = path.resolve(process.argv[2] ?? '.');
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/** True if every package the lockfile pins is installed at its version. */
function upToDate() {
  // npm writes node_modules/.package-lock.json (the "hidden lockfile") after
  // every install; it records what node_modules holds.
  const hidden = path.join(dir, 'node_modules', '.package-lock.json');
  if (!existsSync(hidden)) return false;
  const wanted = readJson(path.join(dir, 'package-lock.json')).packages ?? {};
  const installed = readJson(hidden).packages ?? {};
  return Object.entries(wanted).every(([location, pkg]) => {
    if (location === '' || pkg.dev || pkg.optional) return true;
    const have = installed[location];
    const manifest = path.join(dir, location, 'package.json');
    return (
      have?.version === pkg.version &&
      have?.integrity === pkg.integrity &&
      existsSync(manifest) &&
      readJson(manifest).version === pkg.version
    );
  });
}

if (upToDate()) {
  console.log(`${dir}/node_modules matches package-lock.json: npm ci skipped`);
  process.exit(0);
}

const npm = process.env.NPM || 'npm';
// --ignore-scripts: no dependency needs an install script (protobufjs's
// postinstall only checks its CLI's version).
const args = ['ci', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts'];
console.log(`${npm} ${args.join(' ')}  (in ${dir})`);
const result = spawnSync(npm, args, { cwd: dir, stdio: 'inherit', timeout: 240_000 });
if (result.error) {
  console.error(`cannot run ${npm}: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
