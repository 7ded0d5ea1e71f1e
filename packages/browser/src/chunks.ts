/**
 * The lazily loaded parts. Bundlers (and the ESM build) turn each `import()` into its own chunk; the script-tag
 * build swaps this module for `chunks-script-tag.ts`, which loads the same ESM chunks beside the script.
 */
export const loadAutocapture = () => import('./autocapture/index.ts');
export const loadVitals = () => import('./vitals/index.ts');
