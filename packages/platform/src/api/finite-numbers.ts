/**
 * Refuses ±Infinity where a route's schema asks for a number. Ajv coerces `?limit=1e309` to Infinity and then skips
 * `minimum`/`maximum` for a non-finite value (a body's string `"1e309"` too), so the schema alone lets it through
 * to SQL (`LIMIT Infinity`) and to arithmetic. This runs after validation, on the parts a schema checked.
 */
import type { FastifyRequest } from 'fastify';
import { DeeprefError } from '../errors.ts';

/**
 * The path of the first non-finite number in `value`, or undefined when every number is finite. With an explicit
 * stack, and each path written only when found: a body nested deeper than the call stack must not turn into a 500,
 * nor into a path string per level.
 */
function nonFinitePath(value: unknown, root: string): string | undefined {
  // Visited containers' keys and parents, to write the path of the one number found.
  const keys: string[] = [root];
  const parents: number[] = [-1];
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [next, node] = stack.pop()!;
    if (typeof next === 'number') {
      if (Number.isFinite(next)) continue;
      const path: string[] = [];
      for (let at = node; at >= 0; at = parents[at]!) path.push(keys[at]!);
      return path.reverse().join('/');
    }
    if (typeof next !== 'object' || next === null) continue;
    const entries = Object.entries(next);
    // Reversed onto the stack, so that the first non-finite number in document order is the one named.
    for (let i = entries.length - 1; i >= 0; i--) {
      keys.push(entries[i]![0]);
      parents.push(node);
      stack.push([entries[i]![1], keys.length - 1]);
    }
  }
  return undefined;
}

/** A route's pre-handler, on the routes with a schema (platform.ts); the parts its schema checked are read. */
export async function refuseNonFiniteNumbers(request: FastifyRequest): Promise<void> {
  const schema = request.routeOptions.schema;
  if (!schema) return;
  const inUrl =
    (schema.querystring ? nonFinitePath(request.query, 'querystring') : undefined) ??
    (schema.params ? nonFinitePath(request.params, 'params') : undefined);
  if (inUrl) throw new DeeprefError('DEEPREF_INVALID_QUERY', { detail: `${inUrl} must be a finite number` });
  const found = schema.body ? nonFinitePath(request.body, 'body') : undefined;
  if (found) throw new DeeprefError('DEEPREF_INVALID_BODY', { detail: `${found} must be a finite number` });
}
