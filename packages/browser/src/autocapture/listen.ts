/** Listeners that autocapture adds and takes away again when it stops. */

export type Cleanup = () => void;

/** Adds a passive listener (capturing, so that handlers that stop propagation hide nothing); returns its removal. */
export function listen<E extends Event>(
  target: EventTarget,
  type: string,
  handler: (event: E) => void,
): Cleanup {
  const listener = handler as EventListener;
  target.addEventListener(type, listener, { capture: true, passive: true });
  return () => target.removeEventListener(type, listener, { capture: true });
}

/** Whether the page asked autocapture to leave this element alone. */
export const ignored = (element: Element): boolean => element.closest('[data-deepref-ignore]') !== null;

export const ms = (value: number): number => Math.max(0, Math.round(value));
