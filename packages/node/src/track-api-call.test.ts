/**
 * `trackApiCall` against the real platform: what the call returns or throws is untouched, and one event per
 * call reaches the event log with the reference's fields.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StoredEvent } from '@deepref/schema';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeeprefClient } from './client.ts';
import { defaultClient, init } from './default-client.ts';
import type { defineDocumentService } from './test-support/decorated-service.ts';
import { type RealCollector, startRealCollector } from './test-support/real-collector.ts';
import { trackApiCall } from './track-api-call.ts';

let collector: RealCollector;
let client: DeeprefClient;

beforeAll(async () => {
  collector = await startRealCollector();
  client = new DeeprefClient({ writeKey: collector.writeKey, endpoint: collector.url, flushOnExit: false });
});

afterAll(async () => {
  await client.shutdown();
  await collector.close();
});

async function stored(eventName: string): Promise<StoredEvent[]> {
  await client.flush();
  return (await collector.events()).filter((event) => event.eventName === eventName);
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

class TimeoutError extends Error {}

const props = (event: StoredEvent | undefined) => event?.properties as Record<string, unknown>;

describe('trackApiCall as a higher-order function', () => {
  it('returns the result and records a success', async () => {
    const add = trackApiCall('add_call', { client })((a: number, b: number) => a + b);
    expect(add(2, 3)).toBe(5);
    expect(add.name).toBe('');
    const [event, ...rest] = await stored('add_call');
    expect(rest).toEqual([]);
    expect(event!.properties).toEqual({
      function_name: 'anonymous',
      request_id: expect.stringMatching(uuid),
      duration_ms: expect.any(Number),
      status: 'success',
    });
    expect(props(event).duration_ms).toBeGreaterThanOrEqual(0);
    expect(event!.context?.library).toEqual({ name: '@deepref/node', version: '0.1.0' });
  });

  it('rethrows the very same error and records its type and message', async () => {
    const failure = new RangeError('page out of range');
    function paginate(): never {
      throw failure;
    }
    const tracked = trackApiCall('paginate_call', { client })(paginate);
    expect(tracked.name).toBe('paginate');
    let caught: unknown;
    try {
      tracked();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBe(failure);
    const [event] = await stored('paginate_call');
    expect(event!.properties).toMatchObject({
      function_name: 'paginate',
      status: 'error',
      error_type: 'RangeError',
      error_message: 'page out of range',
    });
  });

  it('returns the same promise, and records when it settles', async () => {
    let release!: (value: string) => void;
    const gate = new Promise<string>((resolve) => {
      release = resolve;
    });
    const fetchDocument = trackApiCall('fetch_document_call', { client })(async function fetchDocument() {
      return gate;
    });
    const pending = fetchDocument();
    expect(await stored('fetch_document_call')).toEqual([]);
    release('doc-1');
    expect(await pending).toBe('doc-1');
    const [event] = await stored('fetch_document_call');
    expect(event!.properties).toMatchObject({ function_name: 'fetchDocument', status: 'success' });
  });

  it('lets a rejection reach the caller unchanged, and records the error class', async () => {
    const failure = new TimeoutError('model did not answer');
    const promise = Promise.reject(failure);
    const ask = trackApiCall('ask_model_call', { client })(function askModel() {
      return promise;
    });
    const returned = ask();
    expect(returned).toBe(promise);
    await expect(returned).rejects.toBe(failure);
    const [event] = await stored('ask_model_call');
    expect(event!.properties).toMatchObject({
      status: 'error',
      error_type: 'TimeoutError',
      error_message: 'model did not answer',
    });
  });

  it('leaves the message out when told to, and names thrown non-errors by their type', async () => {
    const quiet = trackApiCall('quiet_call', {
      client,
      errorMessages: false,
      functionName: 'billing.charge',
    })(() => {
      throw new Error('card 4242 declined');
    });
    expect(() => quiet()).toThrow('card 4242 declined');
    const odd = trackApiCall('odd_call', { client })(() => {
      throw 'plain string';
    });
    expect(() => odd()).toThrow('plain string');
    const [quietEvent] = await stored('quiet_call');
    expect(quietEvent!.properties).toEqual({
      function_name: 'billing.charge',
      request_id: expect.stringMatching(uuid),
      duration_ms: expect.any(Number),
      status: 'error',
      error_type: 'Error',
    });
    const [oddEvent] = await stored('odd_call');
    expect(oddEvent!.properties).toMatchObject({ error_type: 'string', error_message: 'plain string' });
  });
});

describe('the default client', () => {
  it('is the one init() made, for trackApiCall without a client', async () => {
    const made = init({ writeKey: collector.writeKey, endpoint: collector.url, flushOnExit: false });
    expect(defaultClient()).toBe(made);
    const ping = trackApiCall('ping_call')(() => 'pong');
    expect(ping()).toBe('pong');
    await made.shutdown();
    const events = (await collector.events()).filter((event) => event.eventName === 'ping_call');
    expect(events.map((event) => props(event).status)).toEqual(['success']);
  });
});

describe('trackApiCall as a decorator', () => {
  let DocumentService: ReturnType<typeof defineDocumentService>;

  beforeAll(async () => {
    // TypeScript compiles the decorators, as an application's build does (see decorated-service.ts).
    const source = fs.readFileSync(new URL('./test-support/decorated-service.ts', import.meta.url), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    });
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-decorators-'));
    const file = path.join(directory, 'decorated-service.mjs');
    fs.writeFileSync(file, outputText);
    const compiled = (await import(/* @vite-ignore */ pathToFileURL(file).href)) as {
      defineDocumentService: typeof defineDocumentService;
    };
    DocumentService = compiled.defineDocumentService(trackApiCall, client);
    fs.rmSync(directory, { recursive: true, force: true });
  });

  it('keeps `this`, returns the result and names the method by its class', async () => {
    const service = new DocumentService();
    expect(await service.create('notes')).toBe('team-a/notes');
    expect(DocumentService.count()).toBe(42);
    const [created] = await stored('document_create_call');
    expect(created!.properties).toMatchObject({ function_name: 'DocumentService.create', status: 'success' });
    const [counted] = await stored('document_count_call');
    expect(counted!.properties).toMatchObject({ function_name: 'DocumentService.count', status: 'success' });
  });

  it('rethrows from a method and records the failure', async () => {
    const service = new DocumentService();
    expect(() => service.delete('d-9')).toThrow(TypeError);
    const [event] = await stored('document_delete_call');
    expect(event!.properties).toMatchObject({
      function_name: 'DocumentService.delete',
      status: 'error',
      error_type: 'TypeError',
      error_message: 'cannot delete d-9',
    });
  });

  it('refuses to decorate anything but a method', () => {
    const decorate = trackApiCall('x', { client }) as unknown as (
      value: unknown,
      context: unknown,
    ) => unknown;
    expect(() => decorate(() => 1, { kind: 'getter', name: 'size' })).toThrow(
      'decorates methods, not a getter',
    );
  });
});
