/** `npm run build -w @deepref/dashboard`: writes dist/ and prints each file's size, minified and gzipped. */
import { buildDashboard, sizeTable } from './build.ts';

console.log(sizeTable(await buildDashboard()));
