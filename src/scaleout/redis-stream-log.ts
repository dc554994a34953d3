import { randomBytes } from 'node:crypto';
import { createClient, type RedisClientType } from '@redis/client';
import type { UnsequencedEvent } from '../protocol/index.js';
import { DashboardError, errorMessage, UsageError } from '../util/errors.js';
import { type Logger, silentLogger } from '../util/log.js';
import { checkReceiverName, DEFAULT_NAMESPACE, type StreamKeys, streamKeys } from './keys.js';
import { parseEntries, type StreamRecord } from './records.js';
import { isRefusedConnection, isTransientRedisError } from './redis-errors.js';
import { redactRedisUrl } from './redis-url.js';
import { APPEND_SCRIPT, type LuaScript, READ_SCRIPT, type SendCommand } from './scripts.js';
import { type SubscribeHandler, type Subscription, startSubscription } from './subscription.js';

export interface RedisStreamLogOptions {
  /** `redis://host:port[/db]`. */
  url: string;
  /** The hash tag every key carries; one namespace is one shared log. @default 'cis490' */
  namespace?: string;
  /** Approximate number of entries the stream keeps (`XADD MAXLEN ~`). @default 1,000,000 */
  maxLen?: number;
  /** File identities whose marks are kept per (receiver, source). @default 32 */
  keepIdentities?: number;
  /** Entries per XREAD of a subscription. @default 1000 */
  readCount?: number;
  /** Milliseconds a subscription's XREAD blocks before it is sent again. @default 5000 */
  blockMs?: number;
  /** Called when an append or read finds another epoch than the one this log knew. */
  onEpochChange?: (previous: string, current: string) => void;
  /** @default a silent logger */
  logger?: Logger;
  /** Stops `open` waiting for an unreachable Redis (it rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Told each time a connection `open` waits for fails (Redis away; it keeps trying). */
  onConnectError?: (err: unknown) => void;
}

/** Where a batch comes from in its source file: the bytes [startOffset, endOffset) of `fileId`. */
export interface SourceMark {
  /** Path relative to the data root (`index.jsonl`). */
  source: string;
  /** The file's identity (device, inode, fingerprint); changes when the file is rotated. */
  fileId: string;
  startOffset: number;
  endOffset: number;
}

/** A receiver's batch; with a mark it is appended at most once (safe to re-send), without one always. */
export interface AppendBatch {
  receiver: string;
  mark?: SourceMark;
  events: readonly UnsequencedEvent[];
  /**
   * The epoch the batch's positions belong to: when the stream has another, nothing is written and
   * the answer is `epoch_changed`. Absent: appended into whatever epoch the stream has.
   */
  expectEpoch?: string;
  /**
   * A request id (no mark only): a batch sent again with the same `key` within `ttlMs` of the
   * first is not appended again (`duplicate`, naming the first one's seq).
   */
  idempotency?: { key: string; ttlMs: number };
}

export type AppendResult =
  /** `firstSeq..lastSeq` were given to the events (`firstSeq = lastSeq + 1` for no events). */
  | { status: 'appended'; epoch: string; firstSeq: number; lastSeq: number }
  /** The mark already covers this batch: nothing was written. */
  | { status: 'skipped'; epoch: string; markOffset: number }
  /** The batch starts below the mark and ends above it: re-read from `markOffset`. */
  | { status: 'overlap'; epoch: string; markOffset: number }
  /** The stream's epoch is not `expectEpoch`: nothing was written. */
  | { status: 'epoch_changed'; epoch: string }
  /** The batch's idempotency key was used already: nothing was written; `firstSeq` is the earlier one's. */
  | { status: 'duplicate'; epoch: string; firstSeq: number };

/** One file identity's high-water mark, newest generation first in `marks()`. */
export interface FileMark {
  fileId: string;
  offset: number;
  generation: number;
}

function newEpochCandidate(): string {
  return `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
}

// biome-ignore lint/complexity/noBannedTypes: node-redis's own spelling of "no modules, functions or scripts".
type Client = RedisClientType<{}, {}, {}, 2>;

/**
 * The shared event log on one Redis Stream (DESIGN §3, scale-out): receivers' agents append
 * batches through one Lua script that dedups by (receiver, file identity, offset) and hands out a
 * dense global seq; replicas read from a seq and subscribe with XREAD BLOCK. Events are the wire
 * protocol's, stored as JSON without their seq (the entry id `<seq>-0` is the seq).
 */
export class RedisStreamLog {
  readonly keys: StreamKeys;
  readonly #client: Client;
  readonly #options: RedisStreamLogOptions;
  readonly #logger: Logger;
  readonly #send: SendCommand;
  readonly #subscriptions = new Set<Subscription>();
  #epoch = '';

  private constructor(client: Client, options: RedisStreamLogOptions) {
    this.#client = client;
    this.#options = options;
    this.#logger = options.logger ?? silentLogger();
    this.keys = streamKeys(options.namespace ?? DEFAULT_NAMESPACE);
    this.#send = (args) => this.#client.sendCommand(args) as Promise<unknown>;
  }

  /** Connects and makes sure the stream has an epoch (creating it when Redis has none). */
  static async open(options: RedisStreamLogOptions): Promise<RedisStreamLog> {
    const client = RedisStreamLog.#connectClient(options.url, options.logger ?? silentLogger());
    // The client retries a connection forever, also one Redis refuses (a wrong password, a
    // database it does not have): those are the command line's mistake, said at once.
    let onRefused: (err: unknown) => void = () => {};
    const refused = new Promise<never>((_, reject) => {
      onRefused = reject;
    });
    let connecting = true;
    client.on('error', (err: unknown) => {
      if (isRefusedConnection(err)) onRefused(err);
      else if (connecting) options.onConnectError?.(err);
    });
    let onAbort: () => void = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(options.signal?.reason);
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([client.connect(), refused, aborted]);
      const log = new RedisStreamLog(client, options);
      await log.ensureEpoch();
      return log;
    } catch (err) {
      // Not left reconnecting in the background: the caller may try again with a new one.
      if (client.isOpen) client.destroy();
      if (isRefusedConnection(err)) {
        throw new UsageError(
          'redis_refused',
          `--redis ${redactRedisUrl(options.url)}: Redis refused the connection: ${errorMessage(err)}`,
        );
      }
      throw err;
    } finally {
      connecting = false;
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  static #connectClient(url: string, logger: Logger): Client {
    const client = createClient({
      url,
      RESP: 2,
      // Reconnect quickly (a restarted Redis is back in well under a second) but without spinning.
      socket: { reconnectStrategy: (retries: number) => Math.min(25 * 2 ** retries, 500) },
    });
    let connected = true;
    // Without an 'error' listener a lost connection would crash the process; log each outage once.
    const shown = redactRedisUrl(url);
    client.on('error', (err: unknown) => {
      if (connected)
        logger.warn({ err: errorMessage(err), url: shown }, 'redis connection lost; reconnecting');
      connected = false;
    });
    client.on('ready', () => {
      if (!connected) logger.info({ url: shown }, 'redis connection back');
      connected = true;
    });
    return client;
  }

  /** The stream's epoch as last seen (it changes only when Redis lost the stream's metadata). */
  get epoch(): string {
    return this.#epoch;
  }

  /** Reads the epoch, creating it when absent; returns it. */
  async ensureEpoch(): Promise<string> {
    const reply = await APPEND_SCRIPT.run(
      this.#send,
      [this.keys.meta, this.keys.stream],
      [newEpochCandidate(), String(this.#maxLen), '', '', '0', '0', '0', '', ''],
    );
    return this.#seeEpoch(String((reply as unknown[])[1]));
  }

  get #maxLen(): number {
    return this.#options.maxLen ?? 1_000_000;
  }

  #seeEpoch(epoch: string): string {
    const previous = this.#epoch;
    this.#epoch = epoch;
    if (previous !== '' && previous !== epoch) {
      this.#logger.warn({ previous, epoch }, 'the stream has a new epoch: Redis lost its data');
      this.#options.onEpochChange?.(previous, epoch);
    }
    return epoch;
  }

  /** Appends one batch atomically (see `APPEND_SCRIPT` for the dedup and the marks). */
  async append(batch: AppendBatch): Promise<AppendResult> {
    checkReceiverName(batch.receiver);
    const { mark } = batch;
    const keys = [this.keys.meta, this.keys.stream];
    const { idempotency } = batch;
    if (mark && idempotency) {
      throw new DashboardError('bad_batch', 'a batch has a mark or an idempotency key, not both');
    }
    if (mark) keys.push(this.keys.mark(batch.receiver, mark.source));
    if (idempotency) keys.push(this.keys.idempotency(idempotency.key));
    const args = [
      newEpochCandidate(),
      String(this.#maxLen),
      batch.receiver,
      mark?.fileId ?? '',
      String(mark?.startOffset ?? 0),
      String(mark?.endOffset ?? 0),
      String(this.#options.keepIdentities ?? 32),
      batch.expectEpoch ?? '',
      idempotency ? String(Math.max(1, Math.round(idempotency.ttlMs))) : '',
    ];
    if (mark && (mark.fileId === '' || !(mark.endOffset > mark.startOffset))) {
      throw new DashboardError('bad_mark', 'a mark needs a file identity and endOffset > startOffset', {
        mark,
      });
    }
    for (const event of batch.events) args.push(JSON.stringify(event));
    let reply: unknown[];
    try {
      reply = (await APPEND_SCRIPT.run(this.#send, keys, args)) as unknown[];
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('CIS490_META_LOST')) {
        throw new DashboardError(
          'stream_meta_lost',
          err.message,
          { stream: this.keys.stream },
          { cause: err },
        );
      }
      throw err;
    }
    const [status, epoch] = reply as [string, string];
    this.#seeEpoch(epoch);
    if (status === 'appended') {
      const lastSeq = Number(reply[2]);
      return { status, epoch, firstSeq: lastSeq - Number(reply[3]) + 1, lastSeq };
    }
    if (status === 'skipped' || status === 'overlap') return { status, epoch, markOffset: Number(reply[2]) };
    if (status === 'epoch_changed') return { status, epoch };
    if (status === 'duplicate') return { status, epoch, firstSeq: Number(reply[2]) };
    throw new DashboardError('bad_script_reply', `append script answered ${status}`, { reply });
  }

  /**
   * The agent's append: a keyed batch sent again after every connection lost before Redis answered
   * (the script skips it if the lost try had landed), until it is answered or `signal` aborts.
   * Only keyed batches: one without a mark could land twice.
   */
  async appendKeyed(
    batch: AppendBatch & { mark: SourceMark },
    options: { signal?: AbortSignal; onResend?: (err: unknown) => void } = {},
  ): Promise<AppendResult> {
    for (;;) {
      options.signal?.throwIfAborted();
      try {
        return await this.append(batch);
      } catch (err) {
        if (!isTransientRedisError(err)) throw err;
        options.onResend?.(err);
      }
    }
  }

  /**
   * Records with seq >= fromSeq, oldest first, at most `limit` ([] when fromSeq is past the
   * newest); null when some of them are gone: trimmed by MAXLEN, or the position belongs to
   * another epoch — `epoch` when given (a resuming viewer's), else the one this log last saw.
   */
  async read(
    fromSeq: number,
    options: { limit?: number; epoch?: string } = {},
  ): Promise<StreamRecord[] | null> {
    const from = Math.max(1, Math.floor(fromSeq));
    const reply = (await READ_SCRIPT.run(
      this.#send,
      [this.keys.meta, this.keys.stream],
      [String(from), String(options.limit ?? 10_000)],
    )) as [string | null, number, unknown];
    const [epoch, lastSeq, entries] = reply;
    if (epoch === null) return null;
    const expected = options.epoch ?? this.#epoch;
    this.#seeEpoch(epoch);
    if (epoch !== expected) return null;
    const records = parseEntries(entries);
    if (from > lastSeq) return [];
    if (records[0]?.event.seq !== from) return null;
    return records;
  }

  /**
   * Sends one command on this log's connection (queued while it reconnects) and resolves with its
   * raw RESP2 reply: for the small per-receiver keys beside the stream (snapshot, heartbeat).
   */
  command(args: string[]): Promise<unknown> {
    return this.#send(args);
  }

  /** Runs a Lua script on this log's connection (loading it on `NOSCRIPT`). */
  runScript(script: LuaScript, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return script.run(this.#send, keys, args);
  }

  /** The last seq handed out (0 before any). */
  async lastSeq(): Promise<number> {
    return Number((await this.#send(['HGET', this.keys.meta, 'seq'])) ?? 0);
  }

  /** A receiver's marks for one source, newest generation first: where its agent resumes each file. */
  async marks(receiver: string, source: string): Promise<FileMark[]> {
    const fields = (await this.#send(['HGETALL', this.keys.mark(receiver, source)])) as string[];
    const map = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] as string, fields[i + 1] as string);
    const marks: FileMark[] = [];
    for (const [name, value] of map) {
      if (!name.startsWith('o:')) continue;
      const fileId = name.slice(2);
      marks.push({ fileId, offset: Number(value), generation: Number(map.get(`g:${fileId}`) ?? 0) });
    }
    return marks.sort((a, b) => b.generation - a.generation);
  }

  /** Delivers every record from `fromSeq` on, in order, on a dedicated connection (see `startSubscription`). */
  async subscribe(fromSeq: number, handler: SubscribeHandler): Promise<Subscription> {
    const client = this.#client.duplicate();
    client.on('error', (err: unknown) => this.#logger.debug({ err }, 'stream subscription connection error'));
    await client.connect();
    let disconnected = false;
    const subscription = startSubscription(
      {
        send: (args) => client.sendCommand(args) as Promise<unknown>,
        disconnect: () => {
          if (!disconnected) {
            disconnected = true;
            client.destroy();
          }
          return Promise.resolve();
        },
        onReconnect: (fn) => client.on('reconnecting', fn),
        keys: this.keys,
        epoch: this.#epoch,
        count: this.#options.readCount ?? 1000,
        blockMs: this.#options.blockMs ?? 5000,
        logger: this.#logger,
      },
      fromSeq,
      handler,
    );
    this.#subscriptions.add(subscription);
    void subscription.done.finally(() => this.#subscriptions.delete(subscription));
    return subscription;
  }

  /** Stops every subscription and closes the connection. */
  async close(): Promise<void> {
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
    this.#client.destroy();
  }
}
