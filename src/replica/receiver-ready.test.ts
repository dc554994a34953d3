/**
 * A receiver's readiness on a replica (real agent, the built CLI: `npm run build:server` first): a
 * replica that started before the receiver's agent — no snapshot to seed it from — shows the
 * receiver ready once its agent appended its first pass.
 */
import { describe, expect, test, vi } from 'vitest';
import { Lab, spawnAgent } from '../../test/support/agent.js';
import { redisServer } from '../../test/support/redis-server.js';
import { startReplica } from '../../test/support/replica-harness.js';
import { tempDir } from '../../test/support/tmp.js';

const LONG = { timeout: 60_000, interval: 100 };

describe('a receiver’s readiness on a replica', () => {
  test('a replica started before the agent shows the receiver ready once its first pass is appended', async () => {
    const redis = await redisServer();
    const replica = await startReplica(redis.url);
    const lab = new Lab(tempDir(), 'a');
    lab.writeIndex(50);
    lab.writeAlerts(5);
    const stateDir = tempDir('cis490-agent-');
    const agent = spawnAgent({
      dataRoot: lab.root,
      redisUrl: redis.url,
      receiver: 'rack-a',
      args: ['--state-dir', stateDir],
    });
    await agent.waitForLog('agent ready');
    await vi.waitFor(() => expect(replica.feed.state.receivers?.['rack-a']?.ready).toBe(true), LONG);
    expect(replica.feed.state.ready).toBe(true);
    await agent.kill();
  }, 120_000);
});
