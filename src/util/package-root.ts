import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DashboardError, errnoCode } from './errors.js';

/** The `name` in this package's package.json: how the walk below knows it found ours. */
export const PACKAGE_NAME = 'cis490-dashboard';

interface PackageJson {
  name?: unknown;
  version?: unknown;
}

let found: { dir: string; version: string } | undefined;

/**
 * This package's package.json, found by walking up from this module's own file. Why a walk and
 * not a fixed `../..`: the same code runs from three layouts — src/util/ (tests), dist/util/ (tsc)
 * and dist/bundle/ (the rolldown bundle, one flat folder in which this module sits inside some
 * chunk) — and any fixed depth is right in only some of them. A package.json of another name
 * (a workspace, a project that vendors this one) is passed over.
 */
function ownPackage(): { dir: string; version: string } {
  if (found) return found;
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    let pkg: PackageJson | undefined;
    try {
      pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson;
    } catch (err) {
      // Only "no package.json here" moves on up; an unreadable or broken one is worth a stack.
      if (errnoCode(err) !== 'ENOENT' && errnoCode(err) !== 'ENOTDIR') throw err;
    }
    if (pkg?.name === PACKAGE_NAME) {
      found = { dir, version: typeof pkg.version === 'string' ? pkg.version : '0.0.0' };
      return found;
    }
    if (path.dirname(dir) === dir) {
      throw new DashboardError(
        'package_root_not_found',
        `no package.json named ${PACKAGE_NAME} above ${start} (a copy of the built files without their package?)`,
        { start },
      );
    }
  }
}

/** The package's root folder: where package.json, bin/ and web-dist/ are. */
export function packageRoot(): string {
  return ownPackage().dir;
}

/** The package's version, as `--version` prints it. */
export function packageVersion(): string {
  return ownPackage().version;
}
