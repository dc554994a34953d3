import type { HostIndexed } from '../../../protocol/index.js';
import { formatBytes, formatCount } from '../../data/format.js';

/** Episodes per host as horizontal bars, largest first, numbers always printed (no hover needed). */
export function HostBars({
  hosts,
  label = (key) => key,
}: {
  hosts: Record<string, HostIndexed>;
  /** How a host key is shown (`host-a · rack-2` where two receivers share a name). */
  label?: (key: string) => string;
}) {
  const rows = Object.entries(hosts).sort(
    (a, b) => b[1].episodes - a[1].episodes || a[0].localeCompare(b[0]),
  );
  const max = Math.max(1, ...rows.map(([, h]) => h.episodes));
  return (
    <ul className="bars" data-testid="host-bars">
      {rows.map(([host, h]) => (
        <li key={host} className="bar-row" data-host={host}>
          <span className="bar-label">{label(host)}</span>
          <span className="bar-track">
            <span className="bar-fill" style={{ width: `${(h.episodes / max) * 100}%` }} />
          </span>
          <span className="bar-value" data-testid="host-episodes">
            {formatCount(h.episodes)}
          </span>
          <span className="bar-sub">{formatBytes(h.bytes)}</span>
        </li>
      ))}
    </ul>
  );
}
