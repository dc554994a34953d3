// Child process of the fault suite's WebSocket case (plain JS: Node 20 runs it without a build).
// Opens N clients to a dashboard over loopback: a tenth never read, a tenth disconnect abruptly
// after a few events, the rest read and count every `episode` event by id (`sw-<k>`).
// Talks to the parent over IPC: {cmd:'connect', url, n} → {connected};
// {cmd:'progress', n} → {progress, readersClosed} once every reader saw n ids (or one closed);
// {cmd:'expect', n} → {done, ...} likewise, with the final counts;
// {cmd:'release'} → resumes the silent ones, {released, closeCodes} once each of them closed.
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
let phase = 'idle';
const send = (m) => process.send?.(m);
const debug = (text) => process.env.SWARM_DEBUG && process.stderr.write(`swarm: ${text}\n`);

function makeClient(url, role) {
  const c = { role, ws: new WebSocket(url, { skipUTF8Validation: true }), counts: new Uint8Array(0) };
  Object.assign(c, { distinct: 0, dup: 0, hello: false, close: null, events: 0 });
  c.ws.on('open', () => {
    if (role !== 'silent') return;
    c.ws.pause();
    opened++;
    check();
  });
  c.ws.on('message', (data) => {
    if (!c.hello) {
      c.hello = true;
      opened++;
      return check();
    }
    c.events++;
    if (role === 'abrupt' && c.events >= 3) {
      c.ws._socket?.destroy(); // no close frame: the peer vanished
      return;
    }
    if (role !== 'reader') return;
    // Cheaper than JSON.parse at 1,000 clients: the events are ours, `type` and the id lead.
    const m = /^\{"type":"episode","episode_id":"sw-(\d+)"/.exec(String(data));
    if (!m) return;
    const k = Number(m[1]);
    if (k >= c.counts.length) {
      const grown = new Uint8Array(Math.max(k + 1, c.counts.length * 2));
      grown.set(c.counts);
      c.counts = grown;
    }
    if (c.counts[k] === 0) {
      c.distinct++;
      if (c.distinct === target) reached++;
      if (c.distinct >= target) check();
    } else c.dup++;
    c.counts[k]++;
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
      readersClosed,
      readersBehind: rs.filter((c) => c.distinct < target).length,
      abruptGone: clients.filter((c) => c.role === 'abrupt' && c.close !== null).length,
    });
  } else if (phase === 'releasing' && silentClosed === silent) {
    phase = 'idle';
    const closeCodes = {};
    for (const c of clients) if (c.role === 'silent') closeCodes[c.close] = (closeCodes[c.close] ?? 0) + 1;
    send({ released: silent, closeCodes });
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
  } else if (msg.cmd === 'exit') {
    for (const c of clients) c.ws.terminate();
    process.exit(0);
  }
});
