/**
 * `deepref backup --to DIR`: through the running platform when there is one (its engines copy themselves online),
 * else straight from the stopped data folder. See ops/backup.ts for what is copied and what is left out.
 */
import { dataPaths } from '../config.ts';
import { type BackupManifest, backupDataDir } from '../ops/backup.ts';
import { openDuckdbWarehouse } from '../storage/duckdb/duckdb-warehouse.ts';
import { ControlClientError, controlRequest, controlSocketExists } from './control-client.ts';

export async function runBackup(options: { to: string; dataDir: string }): Promise<void> {
  let manifest: BackupManifest;
  if (controlSocketExists(options.dataDir)) {
    const response = await controlRequest<BackupManifest & { error?: { message: string } }>(
      options.dataDir,
      'POST',
      '/api/v1/backup',
      { to: options.to },
    );
    if (response.status !== 200)
      throw new ControlClientError(response.body.error?.message ?? `HTTP ${response.status}`);
    manifest = response.body;
  } else {
    manifest = await backupDataDir({
      dataDir: options.dataDir,
      to: options.to,
      backupWarehouse: async (target) => {
        const warehouse = await openDuckdbWarehouse(dataPaths(options.dataDir).warehouse);
        try {
          await warehouse.backupTo(target);
        } finally {
          await warehouse.close();
        }
      },
    });
  }
  const bytes = manifest.files.reduce((sum, f) => sum + f.sizeBytes, 0);
  console.log(`Backed up ${manifest.files.length} files (${bytes} bytes) to ${options.to}`);
  console.log(`Left out: ${Object.keys(manifest.excluded).join(', ')} (see backup-manifest.json for why)`);
}
