#!/usr/bin/env node
// The CLI is compiled to dist/ by `npm run build` (run by `prepare` on npm ci/install).
import('../dist/cli.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli.js')) {
    console.error('sarai: dist/ is missing; run `npm run build` (npm ci does it through `prepare`).');
  } else {
    console.error(err);
  }
  process.exit(1);
});
