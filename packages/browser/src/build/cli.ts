/** `npm run build -w @deepref/browser`: writes dist/, prints the sizes, and fails when the core is over budget. */
import { bundle, distDir, overBudget, sizeTable } from './bundle.ts';

const files = await bundle(distDir);
console.log(sizeTable(files));
const over = overBudget(files);
if (over.length) {
  for (const line of over) console.error(`over budget: ${line}`);
  process.exit(1);
}
