// SvelteKit config for the Candid capture client. vite.config.ts switches the working directory to
// web/ before SvelteKit loads (Kit reads its config and resolves src/ from process.cwd()).
import adapterNode from '@sveltejs/adapter-node';
import { fileURLToPath } from 'node:url';

const webDir = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

// adapter-node reads ./package.json (to externalise dependencies) from the working directory,
// and the only package.json is at the repo root: run its adapt() from there.
const node = adapterNode({ out: `${webDir}build` });
const adapter = {
  ...node,
  async adapt(builder) {
    const prev = process.cwd();
    process.chdir(repoRoot);
    try {
      await node.adapt(builder);
    } finally {
      process.chdir(prev);
    }
  },
};

/** @type {import('@sveltejs/kit').Config} */
const config = {
  kit: {
    adapter,
    // PUBLIC_GATEWAY_URL is read at runtime through $env/dynamic/public.
    env: { publicPrefix: 'PUBLIC_' },
  },
};

export default config;
