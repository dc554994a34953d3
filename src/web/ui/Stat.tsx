import type { ReactNode } from 'react';

/** One big number with a label and an optional sub-line. */
export function Stat({
  label,
  value,
  sub,
  title,
  testId,
  tone,
}: {
  label: string;
  value: ReactNode;
  sub?: ReactNode;
  /** Exact value for those who ask (never the only place information lives). */
  title?: string;
  testId?: string;
  tone?: 'bad' | 'warn';
}) {
  return (
    <div className={`stat ${tone ? `stat-${tone}` : ''}`} data-testid={testId}>
      <div className="stat-label">{label}</div>
      <div className="stat-value" title={title}>
        {value}
      </div>
      {sub !== undefined && <div className="stat-sub">{sub}</div>}
    </div>
  );
}
