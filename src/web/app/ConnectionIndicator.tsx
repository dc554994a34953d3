import { formatDuration } from '../data/format.js';
import { useNow, useStore } from '../data/hooks.js';
import type { ConnectionStatus } from '../data/source.js';

/** After this long without a connection, "reconnecting" becomes "offline for …" (still retrying). */
const OFFLINE_AFTER_MS = 30_000;

export function describeStatus(
  status: ConnectionStatus,
  now: number,
): { tone: string; text: string; detail: string } {
  switch (status.kind) {
    case 'connected':
      return {
        tone: 'ok',
        text: 'Live',
        detail: `connected for ${formatDuration((now - status.since) / 1000)}`,
      };
    case 'connecting':
      return { tone: 'warn', text: 'Connecting…', detail: 'waiting for the server' };
    case 'reconnecting': {
      const lost = now - status.since;
      const retryIn = Math.max(0, Math.ceil((status.retryAt - now) / 1000));
      const retry = retryIn > 0 ? `retrying in ${retryIn} s` : 'retrying now';
      return lost >= OFFLINE_AFTER_MS
        ? { tone: 'bad', text: `Offline for ${formatDuration(lost / 1000)}`, detail: retry }
        : {
            tone: 'warn',
            text: 'Reconnecting…',
            detail: `lost ${formatDuration(lost / 1000)} ago, ${retry}`,
          };
    }
    case 'offline':
      return {
        tone: 'bad',
        text: `Offline for ${formatDuration((now - status.since) / 1000)}`,
        detail: status.reason,
      };
    case 'static':
      return { tone: 'muted', text: 'Static data', detail: 'not connected to a server' };
    default: {
      const _never: never = status;
      return { tone: 'muted', text: 'Unknown', detail: '' };
    }
  }
}

/** A pill readable across the room: colour, a word, and how long. */
export function ConnectionIndicator() {
  const status = useStore((s) => s.status);
  const now = useNow(1000);
  const { tone, text, detail } = describeStatus(status, now);
  return (
    <div className={`conn conn-${tone}`} data-testid="connection" data-status={status.kind} role="status">
      <span className="conn-dot" aria-hidden="true" />
      <span className="conn-text">{text}</span>
      <span className="conn-detail">{detail}</span>
    </div>
  );
}
