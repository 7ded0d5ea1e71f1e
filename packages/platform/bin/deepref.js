#!/usr/bin/env node
// The `deepref` command: runs the TypeScript CLI through tsx, so no build step stands between a clone and `npm start`.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
