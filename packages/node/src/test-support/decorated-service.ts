/**
 * A class with `@trackApiCall` methods in TC39 standard decorator syntax, type-checked with the rest of the
 * code. The test compiles it with TypeScript itself (`transpileModule`, target ES2022), as an application's
 * build would: Vitest's transformer (oxc) passes standard decorators through unlowered, and Node 20 cannot
 * parse them.
 */
import type { DeeprefClient } from '../client.ts';
import type { trackApiCall as TrackApiCall } from '../track-api-call.ts';

export function defineDocumentService(trackApiCall: typeof TrackApiCall, client: DeeprefClient) {
  class DocumentService {
    readonly owner = 'team-a';

    @trackApiCall('document_create_call', { client })
    async create(title: string): Promise<string> {
      return `${this.owner}/${title}`;
    }

    @trackApiCall('document_delete_call', { client })
    delete(id: string): void {
      throw new TypeError(`cannot delete ${id}`);
    }

    @trackApiCall('document_count_call', { client })
    static count(): number {
      return 42;
    }
  }
  return DocumentService;
}
