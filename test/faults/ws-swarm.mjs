// Child process of the fault suite's WebSocket case (plain JS: Node 20 runs it without a build).
// Opens N clients to a dashboard over loopback: a tenth never read, a tenth disconnect abruptly
// after a few events, the rest read and count every `episode` event by id (`sw-<k>`) and check
// that every message's seq follows the previous one (in order, none missing, none twice).
// Talks to the parent over IPC: {cmd:'connect', url, n} → {connected};
// {cmd:'progress', n} → {progress, readersClosed} once every reader saw n ids (or one closed);
// {cmd:'expect', n} → {done, ...} likewise, with the final counts;
// {cmd:'release'} → resumes the silent ones, {released, closeCodes} once each of them closed;
// {cmd:'resume', url} → each silent one reconnects with ?since=<its last seq>&epoch=<its epoch>,
//   {resumed, replayed, reset, badStart} once each got its first message;
// {cmd:'expectResumed', from, n} → {resumedDone, ...} once each resumed client saw ids from..n-1.
// Every check is O(1) per message: with 1,000 clients a scan per message would stall this process.
import WebSocket from 'ws';

const clients = [];
let readers = 0;
let silent = 0;
let opened = 0;
let target = -1;
let reached = 0;
let readersClosed = 0;
let silentClosed = 0;
let resumedOpened = 0;
let resumedReached = 0;
let resumedFrom = 0;
let resumedTarget = -1;
let phase = 'idle';
const send = (m) => process.send?.(m);
const debug = (text) => process.env.SWARM_DEBUG && process.stderr.write(`swarm: ${text}\n`);

/** The `seq` of a serialised server message: our events end with it, so search from the end. */
function seqOf(text) {
  const at = text.lastIndexOf('"seq":');
  return at < 0 ? -1 : Number.parseInt(text.slice(at + 6, at + 26), 10);
}

/**
 * Watches one socket: `role` is 'reader', 'silent', 'abrupt' or 'resumed' (a silent one back with
 * its cursor). Readers and resumed clients count episode ids and check the seq sequence.
 */
function makeClient(url, role) {
  const c = { role, ws: new WebSocket(url, { skipUTF8Validation: true }), counts: new Uint8Array(0) };
  Object.assign(c, { distinct: 0, dup: 0, hello: false, close: null, events: 0 });
  Object.assign(c, { seq: -1, epoch: null, gaps: 0, start: null });
  c.ws.on('open', () => {
    if (role !== 'silent') return;
    // ws's pause() pauses the net.Socket: Node stops reading it, the kernel buffers fill, and then
    // the server's own queue (ws bufferedAmount) grows until it closes us with 4000.
    c.ws.pause();
    opened++;
    check();
  });
  c.ws.on('message', (data) => {
    const text = String(data);
    // A heartbeat is no event: it repeats the newest seq so a client can tell a frozen server
    // from a quiet one, and is left out of the seq sequence the swarm checks.
    if (text.startsWith('{"type":"heartbeat"')) return;
    const seq = seqOf(text);
    if (!c.hello) {
      c.hello = true;
      if (role === 'resumed') {
        // A resume answers with the missed events (the first one right after the cursor) or,
        // when they are too many or aged out, with a fresh hello marked reset.
        c.start = text.startsWith('{"type":"hello"')
          ? JSON.parse(text).reset
            ? 'reset'
            : 'hello'
          : 'replay';
        c.startSeq = seq;
        resumedOpened++;
        check();
        if (c.start !== 'replay') {
          c.seq = seq;
          return;
        }
        // A replayed (or, with nothing missed, live) event: counted like any other below.
        c.seq = c.since;
      }
      if (role !== 'resumed') {
        if (text.startsWith('{"type":"hello"')) c.epoch = JSON.parse(text).epoch;
        c.seq = seq;
        if (role !== 'silent') opened++;
        return check();
      }
    }
    if (seq !== c.seq + 1) c.gaps++;
    c.seq = seq;
    c.events++;
    if (role === 'abrupt' && c.events >= 3) {
      c.ws._socket?.destroy(); // no close frame: the peer vanished
      return;
    }
    if (role !== 'reader' && role !== 'resumed') return;
    // Cheaper than JSON.parse at 1,000 clients: the events are ours, `type` and the id lead.
    const m = /^\{"type":"episode","episode_id":"sw-(\d+)"/.exec(text);
    if (!m) return;
    const k = Number(m[1]);
    if (k >= c.counts.length) {
      const grown = new Uint8Array(Math.max(k + 1, c.counts.length * 2));
      grown.set(c.counts);
      c.counts = grown;
    }
    // Counted before any check: a check may read the counts (a resumed client's completeness).
    c.counts[k]++;
    if (c.counts[k] > 1) {
      c.dup++;
      return;
    }
    c.distinct++;
    if (role === 'reader') {
      if (c.distinct === target) reached++;
      if (c.distinct >= target) check();
    } else if (k === resumedTarget - 1) {
      resumedReached++;
      check();
    }
  });
  c.ws.on('close', (code, reason) => {
    c.close = code;
    if (role === 'reader') {
      readersClosed++;
      debug(`reader closed ${code} ${reason} distinct=${c.distinct} target=${target} phase=${phase}`);
    }
    if (role === 'silent') silentClosed++;
    check();
  });
  c.ws.on('error', () => {});
  return c;
}

function setTarget(n) {
  target = n;
  reached = clients.filter((c) => c.role === 'reader' && c.distinct >= n).length;
}

function check() {
  if (phase === 'connecting' && opened === clients.length) {
    phase = 'idle';
    send({ connected: clients.length });
  } else if (phase === 'progress' && (readersClosed > 0 || reached === readers)) {
    phase = 'idle';
    send({ progress: target, readersClosed });
  } else if (phase === 'expecting' && (readersClosed > 0 || reached === readers)) {
    phase = 'idle';
    const rs = clients.filter((c) => c.role === 'reader');
    send({
      done: true,
      readers,
      readersComplete: rs.filter((c) => c.distinct === target && c.dup === 0).length,
      duplicates: rs.reduce((n, c) => n + c.dup, 0),
      seqGaps: rs.reduce((n, c) => n + c.gaps, 0),
      readersClosed,
      readersBehind: rs.filter((c) => c.distinct < target).length,
      abruptGone: clients.filter((c) => c.role === 'abrupt' && c.close !== null).length,
    });
  } else if (phase === 'releasing' && silentClosed === silent) {
    phase = 'idle';
    const closeCodes = {};
    for (const c of clients) if (c.role === 'silent') closeCodes[c.close] = (closeCodes[c.close] ?? 0) + 1;
    const ss = clients.filter((c) => c.role === 'silent');
    send({
      released: silent,
      closeCodes,
      // What they read before the close must be in order too.
      seqGaps: ss.reduce((n, c) => n + c.gaps, 0),
      withCursor: ss.filter((c) => c.epoch !== null && c.seq > 0).length,
    });
  } else if (phase === 'resuming' && resumedOpened === silent) {
    phase = 'idle';
    const rs = clients.filter((c) => c.role === 'resumed');
    send({
      resumed: rs.length,
      replayed: rs.filter((c) => c.start === 'replay').length,
      reset: rs.filter((c) => c.start === 'reset').length,
      badStart: rs.filter((c) => c.start === 'hello' || c.gaps > 0).length,
    });
  } else if (phase === 'expectingResumed' && resumedReached === silent) {
    phase = 'idle';
    const rs = clients.filter((c) => c.role === 'resumed');
    const complete = (c) => {
      for (let k = resumedFrom; k < resumedTarget; k++) if (c.counts[k] !== 1) return false;
      return true;
    };
    const missing = (c) => {
      const out = [];
      for (let k = resumedFrom; k < resumedTarget && out.length < 5; k++) if (c.counts[k] !== 1) out.push(k);
      return out;
    };
    send({
      resumedDone: rs.length,
      complete: rs.filter(complete).length,
      // For a failure message: what the incomplete ones lack, and how they started.
      incomplete: rs
        .filter((c) => !complete(c))
        .slice(0, 3)
        .map((c) => ({ since: c.since, start: c.start, startSeq: c.startSeq, missing: missing(c) })),
      duplicates: rs.reduce((n, c) => n + c.dup, 0),
      seqGaps: rs.reduce((n, c) => n + c.gaps, 0),
      closed: rs.filter((c) => c.close !== null).length,
    });
  }
}

process.on('message', (msg) => {
  debug(JSON.stringify(msg));
  if (msg.cmd === 'connect') {
    phase = 'connecting';
    for (let i = 0; i < msg.n; i++) {
      const role = i % 10 === 0 ? 'silent' : i % 10 === 1 ? 'abrupt' : 'reader';
      if (role === 'reader') readers++;
      if (role === 'silent') silent++;
      clients.push(makeClient(msg.url, role));
    }
  } else if (msg.cmd === 'progress' || msg.cmd === 'expect') {
    setTarget(msg.n);
    phase = msg.cmd === 'progress' ? 'progress' : 'expecting';
    check();
  } else if (msg.cmd === 'release') {
    phase = 'releasing';
    for (const c of clients) if (c.role === 'silent') c.ws.resume();
    check();
  } else if (msg.cmd === 'resume') {
    phase = 'resuming';
    for (const old of clients.filter((c) => c.role === 'silent')) {
      const c = makeClient(`${msg.url}?since=${old.seq}&epoch=${old.epoch}`, 'resumed');
      c.since = old.seq;
      clients.push(c);
    }
    check();
  } else if (msg.cmd === 'expectResumed') {
    resumedFrom = msg.from;
    resumedTarget = msg.n;
    resumedReached = clients.filter((c) => c.role === 'resumed' && c.counts[msg.n - 1] > 0).length;
    phase = 'expectingResumed';
    check();
  } else if (msg.cmd === 'exit') {
    for (const c of clients) c.ws.terminate();
    process.exit(0);
  }
});
