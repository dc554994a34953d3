import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { testServer } from '../../test/support/server.js';
import { tempDir } from '../../test/support/tmp.js';
import { createLogger } from '../util/log.js';
import { dataRootId, defaultStateDirFor, realPathLoose } from './data-root-id.js';
import { StateDirLock } from './lock.js';
import { openStateDir } from './state-dir.js';

const logger = createLogger({ level: 'silent' });

describe('the state dir', () => {
  it('keys the default state dir by the real path of the data root, also before the root exists', () => {
    const tmp = fs.realpathSync(tempDir());
    const env = { XDG_STATE_HOME: path.join(tmp, 'xdg') };
    const root = path.join(tmp, 'later', 'root');
    const before = defaultStateDirFor(root, env);
    expect(realPathLoose(root)).toBe(root);
    expect(dataRootId(root).fingerprint).toBeNull();
    fs.mkdirSync(root, { recursive: true });
    expect(defaultStateDirFor(root, env)).toBe(before);
    expect(dataRootId(root).fingerprint).toMatch(/^\d+:\d+/);
    // A symlink to the root is the same root; another root is another dir.
    fs.symlinkSync(root, path.join(tmp, 'link'));
    expect(defaultStateDirFor(path.join(tmp, 'link'), env)).toBe(before);
    expect(defaultStateDirFor(path.join(tmp, 'other'), env)).not.toBe(before);
    expect(path.dirname(before)).toBe(path.join(tmp, 'xdg', 'cis490-dashboard'));
    expect(path.basename(before)).toMatch(/^root-[0-9a-f]{12}$/);
  });

  it('is owned by one holder at a time, in one process too, and free again once released', () => {
    const stateDir = tempDir();
    const first = StateDirLock.acquire(stateDir, '/data');
    expect(() => StateDirLock.acquire(stateDir, '/data')).toThrow(
      expect.objectContaining({
        code: 'state_dir_locked',
        message: expect.stringContaining(`pid ${process.pid}`),
      }),
    );
    first.release();
    StateDirLock.acquire(stateDir, '/data').release();
  });

  it('refuses a second in-process server on a state dir a running one owns', async () => {
    const dataRoot = tempDir();
    const stateDir = path.join(tempDir(), 'state');
    await testServer({ dataRoot, stateDir });
    await expect(testServer({ dataRoot, stateDir })).rejects.toMatchObject({ code: 'state_dir_locked' });
  });

  it('records its data root on first use and refuses the catalog for another root afterwards', () => {
    const stateDir = tempDir();
    const a = tempDir();
    const b = tempDir();
    openStateDir({ stateDir, dataRoot: a, logger }).release();
    openStateDir({ stateDir, dataRoot: a, logger }).release();
    expect(() => openStateDir({ stateDir, dataRoot: b, logger })).toThrow(
      expect.objectContaining({ code: 'state_dir_other_root' }),
    );
    // The refusal released the lock: the right root still opens it.
    openStateDir({ stateDir, dataRoot: a, logger }).release();
  });
});
