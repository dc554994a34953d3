import { own } from '../../protocol/index.js';
import { useReceivers, useStore } from '../data/hooks.js';
import { pickReceiver, useReceiver } from '../data/receiver.js';

/**
 * One receiver picker for every scene (scale-out): all receivers, or one, kept in the page's query
 * (`?receiver=`). Not shown on a single box, where no record names a receiver.
 */
export function ReceiverPicker() {
  const receivers = useReceivers();
  const picked = useReceiver();
  const agents = useStore((s) => s.agents);
  if (receivers.length === 0 && picked === null) return null;
  const options = picked === null || receivers.includes(picked) ? receivers : [...receivers, picked].sort();
  return (
    <label className="receiver-picker">
      <span className="sr-only">Receiver</span>
      <select
        value={picked ?? ''}
        onChange={(e) => pickReceiver(e.currentTarget.value === '' ? null : e.currentTarget.value)}
        data-testid="receiver-picker"
        aria-label="Receiver"
      >
        <option value="">All receivers</option>
        {options.map((r) => (
          <option key={r} value={r}>
            {own(agents, r)?.up === false ? `${r} (offline)` : r}
          </option>
        ))}
      </select>
    </label>
  );
}

/** On the wall: which receiver a kiosk pinned with `?receiver=` shows (nothing when all). */
export function ReceiverTag() {
  const picked = useReceiver();
  return picked === null ? null : (
    <span className="receiver-tag" data-testid="receiver-tag">
      {picked}
    </span>
  );
}
