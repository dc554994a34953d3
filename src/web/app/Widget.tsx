import type { ReactNode, Ref } from 'react';
import { ErrorBoundary } from './ErrorBoundary.js';

interface Props {
  title: string;
  /** Small text right of the title (a count, "as of…"). */
  aside?: ReactNode;
  className?: string;
  children: ReactNode;
  testId?: string;
  /** The title's heading, focusable by script (a page moves the focus to it when it opens). */
  headingRef?: Ref<HTMLHeadingElement>;
}

/** A titled panel; its content sits in its own error boundary. */
export function Widget({ title, aside, className, children, testId, headingRef }: Props) {
  return (
    <section className={`widget ${className ?? ''}`} data-testid={testId}>
      <header className="widget-head">
        <h2 ref={headingRef} tabIndex={headingRef ? -1 : undefined}>
          {title}
        </h2>
        {aside !== undefined && <span className="widget-aside">{aside}</span>}
      </header>
      <ErrorBoundary name={title}>{children}</ErrorBoundary>
    </section>
  );
}

/** The designed empty / loading / error body of a widget: never a blank box. */
export function Notice({
  kind,
  title,
  children,
}: {
  kind: 'empty' | 'loading' | 'error';
  title: string;
  children?: ReactNode;
}) {
  return (
    <div className={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      <strong>{title}</strong>
      {children !== undefined && <span>{children}</span>}
    </div>
  );
}
