import { useId, useState } from 'react';
import type { AlertGroupState } from '../../../protocol/alerts.js';
import { clearAlertAction, postAlertAction, rememberedOperator } from './actions.js';

const SILENCE_HOURS = [1, 4, 24, 168];

/**
 * Acknowledge / silence / clear one alert group. Needs the operator token (the server's phase
 * token); name and token are remembered for this tab.
 */
export function ActionForm({ group, onDone }: { group: AlertGroupState; onDone: () => void }) {
  const id = useId();
  const remembered = rememberedOperator();
  const [by, setBy] = useState(remembered.by);
  const [token, setToken] = useState(remembered.token);
  const [kind, setKind] = useState<'acknowledge' | 'silence'>('acknowledge');
  const [hours, setHours] = useState(4);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const key = group.dedup_key;
  if (key === null) return <p className="muted">This alert has no dedup key; it cannot be acknowledged.</p>;

  const run = (op: () => Promise<unknown>): void => {
    setBusy(true);
    setError(null);
    op()
      .then(onDone)
      .catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)))
      .finally(() => setBusy(false));
  };
  return (
    <form
      className="action-form"
      data-testid="alert-action-form"
      onSubmit={(e) => {
        e.preventDefault();
        const until = kind === 'silence' ? new Date(Date.now() + hours * 3600_000).toISOString() : null;
        run(() =>
          postAlertAction({ dedup_key: key, receiver: group.receiver ?? null, kind, by, until }, token),
        );
      }}
    >
      <fieldset>
        <legend>Answer this alert</legend>
        <label>
          <input
            type="radio"
            name={`${id}-kind`}
            checked={kind === 'acknowledge'}
            onChange={() => setKind('acknowledge')}
          />{' '}
          Acknowledge (until it happens again or clears)
        </label>
        <label>
          <input
            type="radio"
            name={`${id}-kind`}
            checked={kind === 'silence'}
            onChange={() => setKind('silence')}
          />{' '}
          Silence for{' '}
          <select value={hours} onChange={(e) => setHours(Number(e.target.value))} aria-label="Silence for">
            {SILENCE_HOURS.map((h) => (
              <option key={h} value={h}>
                {h < 24 ? `${h} h` : `${h / 24} d`}
              </option>
            ))}
          </select>
        </label>
      </fieldset>
      <label>
        Your name{' '}
        <input
          value={by}
          onChange={(e) => setBy(e.target.value)}
          required
          maxLength={200}
          data-testid="action-by"
        />
      </label>
      <label>
        Operator token{' '}
        <input
          type="password"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          required
          autoComplete="off"
          data-testid="action-token"
        />
      </label>
      <div className="action-buttons">
        <button type="submit" disabled={busy} data-testid="action-submit">
          {kind === 'acknowledge' ? 'Acknowledge' : 'Silence'}
        </button>
        {group.action !== null && (
          <button
            type="button"
            disabled={busy || token === ''}
            onClick={() => run(() => clearAlertAction(key, group.receiver, token))}
          >
            Clear the {group.action.kind === 'silence' ? 'silence' : 'acknowledgement'}
          </button>
        )}
      </div>
      {error !== null && (
        <p className="form-error" role="alert" data-testid="action-error">
          {error}
        </p>
      )}
    </form>
  );
}
