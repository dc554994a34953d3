import { Component, type ErrorInfo, type ReactNode } from 'react';

interface Props {
  /** Shown in the fallback so a person knows which part broke. */
  name: string;
  children: ReactNode;
}
interface State {
  error: Error | null;
}

/**
 * Keeps one broken widget from blanking the whole page (a wall display must keep showing the
 * rest). The fallback says what broke and offers a retry.
 */
export class ErrorBoundary extends Component<Props, State> {
  override state: State = { error: null };

  static getDerivedStateFromError(error: unknown): State {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error(`widget "${this.props.name}" failed`, error, info.componentStack);
  }

  override render(): ReactNode {
    const { error } = this.state;
    if (error === null) return this.props.children;
    return (
      <div className="widget-error" role="alert">
        <strong>{this.props.name} could not be shown.</strong>
        <span className="muted">{error.message}</span>
        <button type="button" onClick={() => this.setState({ error: null })}>
          Try again
        </button>
      </div>
    );
  }
}
