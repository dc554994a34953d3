import { createHash } from 'node:crypto';

/** Sends one command (its words) and resolves with the raw RESP2 reply. */
export type SendCommand = (args: string[]) => Promise<unknown>;

/**
 * A Lua script run by `EVALSHA`; when the server answers `NOSCRIPT` (a restarted Redis has an
 * empty script cache) it is loaded with `SCRIPT LOAD` and run again.
 */
export class LuaScript {
  readonly source: string;
  readonly sha: string;

  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(send: SendCommand, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    const words = [this.sha, String(keys.length), ...keys, ...args];
    try {
      return await send(['EVALSHA', ...words]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      await send(['SCRIPT', 'LOAD', this.source]);
      return await send(['EVALSHA', ...words]);
    }
  }
}

/**
 * The append script: one receiver's batch of events from one source file, appended at most once.
 *
 * KEYS: 1 meta hash, 2 stream, 3 the (receiver, source) mark hash (only when the batch has a mark),
 *       or the idempotency key (an unmarked batch sent with a request id).
 * ARGV: 1 epoch candidate, 2 MAXLEN, 3 receiver, 4 file identity ('' = no mark: always appended),
 *       5 start offset, 6 end offset, 7 identities kept per source, 8 the epoch the sender expects
 *       ('' = any), 9 how long the idempotency key is kept, ms ('' = no key), 10.. the events' JSON.
 * Reply: {'appended', epoch, last seq, count} | {'skipped', epoch, mark offset}
 *      | {'overlap', epoch, mark offset} | {'epoch_changed', epoch}
 *      | {'duplicate', epoch, first seq of the earlier append}.
 *
 * The idempotency key. An API append (a phase post, an alert action) has no file to mark; a client
 * that sends it again after a cut connection (Redis had appended it) names the same request id, and
 * the script finds its key — written with the append, in the same atomic step, kept for ARGV 9 ms —
 * and appends nothing: the reply names the seq the first one got.
 *
 * The high-water mark. A source is a path relative to the data root (`index.jsonl`); its file
 * identity (device, inode, fingerprint of the first bytes) changes when the receiver rotates it.
 * One offset per source would be wrong across a rotation: the old file's tail, re-sent by an agent
 * restarted after it switched to the new file, would compare its large offsets with the new
 * file's small ones and be appended twice. So the mark hash of a (receiver, source) keeps one
 * offset per file identity (`o:<id>`), which makes the dedup exact per file whatever the order
 * files arrive in (a late tail of the rotated file — a writer still appending through its open
 * fd — is appended once too), plus the ordering the agent needs to resume: `g:<id>` is the
 * identity's generation (1, 2, … in order of first append), `gen` the last one given and `cur`
 * the newest identity. Identities more than `keep` generations old are dropped so the hash stays
 * small; a file that old is long gone from the receiver's rotation set (an agent must never
 * re-send a file whose identity is older than the `keep` newest, or it would land again).
 *
 * A batch is skipped when its end offset is at or below its identity's mark (an agent that died
 * after this append and before anything else re-sends exactly this batch). A batch that starts
 * below the mark and ends above it is refused as `overlap`: its events cannot be split here, so
 * the agent re-reads from the mark it is given. An agent names the epoch its positions belong to:
 * when the stream has another (Redis lost its data), nothing is written and it is told
 * `epoch_changed` — it then starts its files over from byte 0 — so no batch read from an old
 * position lands in the new epoch and turns the files' earlier lines into an "overlap". The whole script is atomic and written to the AOF
 * as one unit, so the events, the seq and the mark are never out of step, even after a crash.
 *
 * The epoch is created here (and nowhere else) when the meta hash has none: a Redis that lost its
 * data gets a new epoch, and every reader and agent sees that the stream started over. A stream
 * without its meta hash is refused before anything is written (Lua writes are not rolled back).
 */
export const APPEND_SCRIPT = new LuaScript(`
local meta, stream, markKey = KEYS[1], KEYS[2], KEYS[3]
local receiver, fileId, startOffset, endOffset = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local epoch = redis.call('HGET', meta, 'epoch')
if not epoch then
  if redis.call('EXISTS', stream) == 1 then
    return redis.error_reply('CIS490_META_LOST the stream exists but its meta hash (epoch, seq) does not')
  end
  epoch = ARGV[1]
  redis.call('HSET', meta, 'epoch', epoch)
end
if ARGV[8] ~= '' and ARGV[8] ~= epoch then return {'epoch_changed', epoch} end
local idemKey = fileId == '' and ARGV[9] ~= '' and markKey or false
if idemKey then
  local first = redis.call('GET', idemKey)
  if first then return {'duplicate', epoch, first} end
end
local prev = false
if fileId ~= '' then
  prev = redis.call('HGET', markKey, 'o:' .. fileId)
  if prev then
    local mark = tonumber(prev)
    if tonumber(endOffset) <= mark then return {'skipped', epoch, prev} end
    if tonumber(startOffset) < mark then return {'overlap', epoch, prev} end
  end
end
local count = #ARGV - 9
local last
if count > 0 then
  last = redis.call('HINCRBY', meta, 'seq', count)
  local first = last - count
  for i = 1, count do
    redis.call('XADD', stream, string.format('%d-0', first + i), 'r', receiver, 'e', ARGV[9 + i])
  end
  if idemKey then redis.call('SET', idemKey, string.format('%d', first + 1), 'PX', ARGV[9]) end
  redis.call('XTRIM', stream, 'MAXLEN', '~', ARGV[2])
else
  last = tonumber(redis.call('HGET', meta, 'seq') or '0')
end
if fileId ~= '' then
  if not prev then
    local gen = redis.call('HINCRBY', markKey, 'gen', 1)
    redis.call('HSET', markKey, 'g:' .. fileId, gen, 'cur', fileId)
    local oldest = gen - tonumber(ARGV[7])
    local fields = redis.call('HGETALL', markKey)
    for i = 1, #fields, 2 do
      local name = fields[i]
      if string.sub(name, 1, 2) == 'g:' and tonumber(fields[i + 1]) <= oldest then
        redis.call('HDEL', markKey, name, 'o:' .. string.sub(name, 3))
      end
    end
  end
  redis.call('HSET', markKey, 'o:' .. fileId, endOffset)
end
return {'appended', epoch, last, count}
`);

/**
 * The read script: the epoch, the last seq and up to `count` entries from `fromSeq` on, in one
 * atomic step (so "nothing there yet" and "trimmed away" cannot be confused by a racing append).
 *
 * KEYS: 1 meta hash, 2 stream. ARGV: 1 from seq, 2 count.
 * Reply: {epoch or nil, last seq, XRANGE entries}.
 */
export const READ_SCRIPT = new LuaScript(`#!lua flags=no-writes
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local entries = redis.call('XRANGE', KEYS[2], ARGV[1] .. '-0', '+', 'COUNT', ARGV[2])
return {epoch, seq, entries}
`);
