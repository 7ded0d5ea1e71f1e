/**
 * Talks to a running platform over its control socket (`<data-dir>/control.sock`, mode 0600). Whoever may open
 * that file is the operator; no password or token has to be stored anywhere for the CLI to act as admin.
 */
import fs from 'node:fs';
import http from 'node:http';
import { dataPaths } from '../config.ts';

export class ControlClientError extends Error {}

export interface ControlResponse<T> {
  status: number;
  body: T;
}

export function controlSocketExists(dataDir: string): boolean {
  return fs.existsSync(dataPaths(dataDir).controlSocket);
}

export function controlRequest<T = unknown>(
  dataDir: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<ControlResponse<T>> {
  const socketPath = dataPaths(dataDir).controlSocket;
  if (!fs.existsSync(socketPath)) {
    return Promise.reject(
      new ControlClientError(
        `No platform is running on data directory ${dataDir}. Start it with \`deepref start\`.`,
      ),
    );
  }
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        socketPath,
        method,
        path,
        headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: response.statusCode ?? 0, body: (text ? JSON.parse(text) : undefined) as T });
          } catch {
            reject(
              new ControlClientError(
                `The platform answered ${response.statusCode} with: ${text.slice(0, 200)}`,
              ),
            );
          }
        });
      },
    );
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') {
        reject(
          new ControlClientError(`The platform on ${dataDir} is not answering (stale control socket?).`),
        );
      } else reject(error);
    });
    if (payload) request.write(payload);
    request.end();
  });
}
