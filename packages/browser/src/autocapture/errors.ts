/** `javascript_error` for uncaught errors and unhandled promise rejections, with a cap so that a loop cannot flood. */
import { cap } from '../context.ts';
import { type Cleanup, listen } from './listen.ts';
import type { CaptureApi } from './options.ts';

/** Per page: at most this many error events, and at most `maxRepeats` of one message at one place. */
const maxErrors = 50;
const maxRepeats = 5;

export function captureErrors(api: CaptureApi): Cleanup[] {
  let count = 0;
  const seen = new Map<string, number>();

  const report = (error: unknown, message: string, source?: string, line?: number, column?: number) => {
    const key = `${message}@${source}:${line}:${column}`;
    const repeats = seen.get(key) ?? 0;
    if (count >= maxErrors || repeats >= maxRepeats) return;
    count++;
    seen.set(key, repeats + 1);
    const properties: Record<string, unknown> = {
      message: cap(message || 'Unknown error'),
      user_agent: cap(navigator.userAgent, 1024),
      handled: false,
    };
    if (error instanceof Error) {
      properties.error_type = cap(error.name, 128);
      if (error.stack) properties.stack = cap(error.stack, 32_768);
    }
    if (source) properties.source = cap(source);
    if (line) properties.line = line;
    if (column) properties.column = column;
    api.track('javascript_error', properties);
  };

  return [
    listen<ErrorEvent>(window, 'error', (event) => {
      // Failed <img> or <script> loads reach window's capture phase as plain Events: not JavaScript errors.
      if (event instanceof ErrorEvent)
        report(event.error, event.message, event.filename, event.lineno, event.colno);
    }),
    listen<PromiseRejectionEvent>(window, 'unhandledrejection', (event) => {
      const reason = event.reason as unknown;
      report(
        reason,
        reason instanceof Error
          ? `Unhandled rejection: ${reason.message}`
          : `Unhandled rejection: ${String(reason)}`,
      );
    }),
  ];
}
