import type { ReactNode } from 'react';
import { useStore } from '../data/hooks.js';
import { Notice } from './Widget.js';

/** Until the first hello: a designed loading (or "cannot reach") state instead of zeros. */
export function SceneGate({ children }: { children: ReactNode }) {
  const loaded = useStore((s) => s.loaded);
  const status = useStore((s) => s.status);
  if (loaded) return <>{children}</>;
  if (status.kind === 'connecting')
    return <Notice kind="loading" title="Connecting to the dashboard server…" />;
  return (
    <Notice kind="error" title="Cannot reach the dashboard server">
      {status.kind === 'offline' ? status.reason : 'Retrying by itself; nothing to do here.'}
    </Notice>
  );
}
