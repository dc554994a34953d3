/**
 * Fault case 2: the index holds garbage — random bytes, invalid UTF-8, NUL runs, a 50 MiB line,
 * a flood of empty lines, a line cut off mid-write with the next one glued to it — before start
 * and while live. Every valid line around them counts, the
 * skips show in /metrics, and the server keeps answering.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EpisodesPage } from '../../src/protocol/api.js';
import type { DashboardState } from '../../src/protocol/index.js';
import { getJson, testServer } from '../support/server.js';
import { tempDir } from '../support/tmp.js';
import { IdRecorder, indexLine, mib, peakRss, prng, RSS_BOUND_BYTES, report, scale } from './support.js';

const MiB = 1024 * 1024;
const HUGE_LINE_BYTES = 50 * MiB;
const EMPTY_LINES = scale(2_000_000, 20_000_000);

/** Appends one fault and then a valid line, so each fault sits between two valid ones. */
function faults(rnd: () => number): Array<{ name: string; glues?: boolean; write(fd: number): void }> {
  return [
    {
      name: 'random bytes',
      write(fd) {
        // No NUL: a NUL starting a line is crash padding, its own case below (exact counts).
        const b = Buffer.alloc(4096);
        for (let i = 0; i < b.length; i++) b[i] = 1 + Math.floor(rnd() * 255);
        fs.writeSync(fd, b);
        fs.writeSync(fd, '\n');
      },
    },
    {
      name: 'invalid UTF-8 outside JSON',
      write: (fd) => fs.writeSync(fd, Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0x0a])),
    },
    {
      // A line of NULs only: dropped, counted as nul_padding.
      name: 'NUL run',
      write: (fd) => fs.writeSync(fd, Buffer.concat([Buffer.alloc(64 * 1024), Buffer.from('\n')])),
    },
    {
      // A receiver crashed mid-write (the file grew, the bytes never landed: NULs) and, restarted,
      // appended its next line right behind them — the valid line that follows is glued to the run.
      name: 'crashed write',
      glues: true,
      write: (fd) => fs.writeSync(fd, Buffer.alloc(4096)),
    },
    {
      name: '50 MiB line',
      write(fd) {
        // Written in pieces: the writer does not hold it whole either.
        fs.writeSync(fd, '{"episode_id":"huge","host_id":"host-01","pad":"');
        const piece = Buffer.alloc(MiB, 'x');
        for (let n = 0; n < HUGE_LINE_BYTES / MiB; n++) fs.writeSync(fd, piece);
        fs.writeSync(fd, '"}\n');
      },
    },
    {
      name: 'empty-line flood',
      write(fd) {
        const piece = Buffer.alloc(MiB, '\n');
        for (let n = 0; n < EMPTY_LINES / MiB; n++) fs.writeSync(fd, piece);
        fs.writeSync(fd, ' \t \r\n\r\n');
      },
    },
    { name: 'truncated JSON', write: (fd) => fs.writeSync(fd, '{"episode_id":"half","host_id":"h\n') },
    {
      // A receiver killed mid-line (no newline written) and, restarted, appending its next line
      // right behind the fragment: the fragment is dropped (`torn_line`), the line after it kept.
      name: 'torn write',
      glues: true,
      write: (fd) => fs.writeSync(fd, '{"episode_id": "torn", "host_id": "host-0'),
    },
    { name: 'JSON not an object', write: (fd) => fs.writeSync(fd, '[1,2,3]\nnull\n"text"\n') },
  ];
}

async function metricsText(server: { url: string }): Promise<string> {
  const res = await fetch(`${server.url}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

function metric(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`cis490_dashboard_${name}{${labels}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('fault: garbage in the index', () => {
  it('counts every valid line around garbage, reports the skips and keeps serving', async () => {
    const started = Date.now();
    const root = tempDir('cis490-fault-garbage-');
    const index = path.join(root, 'index.jsonl');
    const rnd = prng(8_002);
    let valid = 0;
    const fd = fs.openSync(index, 'a');
    const writeValid = (host = 'host-01') => fs.writeSync(fd, indexLine(`ep-${++valid}`, host));
    /** Ids of the valid lines written glued behind a NUL run. */
    const glued: string[] = [];

    // Before start: every fault once, between valid lines (the first pass reads them in bulk).
    writeValid();
    for (const f of faults(rnd)) {
      f.write(fd);
      if (f.glues) glued.push(`ep-${valid + 1}`);
      writeValid();
    }
    // A valid record whose host has invalid UTF-8: delivered with U+FFFD, so it counts.
    fs.writeSync(
      fd,
      Buffer.concat([
        Buffer.from(`{"episode_id":"ep-${++valid}","host_id":"host-`),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('"}\n'),
      ]),
    );
    const server = await testServer({ dataRoot: root, rescanInterval: 3600 });
    await server.pipeline.whenReady();
    expect((await getJson<DashboardState>(server, '/api/state')).body.total_episodes).toBe(valid);

    // Live: the same faults again while a client watches; the valid lines arrive as events.
    const client = IdRecorder.to(server);
    await client.opened();
    const src = 'source="index"';
    const nulPaddedBeforeLive = metric(
      await metricsText(server),
      'input_lines_skipped_total',
      `${src},reason="nul_padding"`,
    );
    const liveFrom = valid;
    for (const f of faults(rnd)) {
      f.write(fd);
      if (f.glues) glued.push(`ep-${valid + 1}`);
      writeValid('host-02');
      // The server answers while it chews through each fault.
      expect((await fetch(`${server.url}/livez`)).status).toBe(200);
    }
    fs.closeSync(fd);
    await client.until(() => client.seen.size >= valid - liveFrom, 'the live valid lines');
    expect([...client.seen.keys()].sort()).toEqual(
      Array.from({ length: valid - liveFrom }, (_, i) => `ep-${liveFrom + i + 1}`).sort(),
    );
    expect(client.repeated()).toEqual([]);
    // The lines glued behind the crash padding and behind the torn write arrived, once each (not
    // skipped as malformed).
    expect(glued).toHaveLength(4);
    expect(client.seen.get(glued[2] as string)).toBe(1);
    expect(client.seen.get(glued[3] as string)).toBe(1);

    const state = await getJson<DashboardState>(server, '/api/state');
    expect(state.status).toBe(200);
    expect(state.body.total_episodes).toBe(valid);

    // The episodes kept behind a torn write are in the catalog too (the writer parses alike).
    for (const id of [glued[1], glued[3]]) {
      const page = await getJson<EpisodesPage>(server, `/api/episodes?q=${id}`);
      expect(page.body.items.filter((e) => e.episode_id === id)).toHaveLength(1);
    }

    const text = await metricsText(server);
    expect(metric(text, 'input_lines_skipped_total', `${src},reason="line_too_long"`)).toBe(2);
    // Random bytes, invalid UTF-8 and truncated JSON, twice; plus the random bytes' own newlines
    // may split them into more malformed lines. NUL runs are not among them any more.
    expect(
      metric(text, 'input_lines_skipped_total', `${src},reason="malformed_json"`),
    ).toBeGreaterThanOrEqual(6);
    // The NUL-only line and the crashed write's padding, each counted once: by the cold first
    // pass's range reader before start, by the tailer live.
    expect(nulPaddedBeforeLive).toBe(2);
    expect(metric(text, 'input_lines_skipped_total', `${src},reason="nul_padding"`)).toBe(4);
    expect(metric(text, 'input_lines_skipped_total', `${src},reason="not_object"`)).toBe(6);
    // The torn write's fragment, once before start (the first pass) and once live.
    expect(metric(text, 'input_lines_skipped_total', `${src},reason="torn_line"`)).toBe(2);
    expect(metric(text, 'input_invalid_utf8_lines_total', src)).toBeGreaterThanOrEqual(3);
    client.close();

    const peak = peakRss();
    report('garbage', { valid, peak_rss: mib(peak), seconds: (Date.now() - started) / 1000 });
    expect(peak ?? 0).toBeLessThan(RSS_BOUND_BYTES);
  }, 120_000);
});
