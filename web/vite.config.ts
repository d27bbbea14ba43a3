/**
 * Vite config for web/. Run from the repo root: `vite build --config web/vite.config.ts`.
 *
 * SvelteKit resolves svelte.config.js, src/ and its outDir from process.cwd() at module load, so
 * the working directory is switched to web/ BEFORE the kit plugin is imported (hence the dynamic
 * import instead of a hoisted static one).
 *
 * The dev server's port comes from the same config loader the services use (the only reader of
 * the environment): `WEB_PORT`, default 5173, validated.
 */
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { defineConfig } from 'vite';
import { int, loadEnv } from '../services/shared/config.ts';

const config = loadEnv({ webPort: int('WEB_PORT', 5173) });

const webDir = dirname(fileURLToPath(import.meta.url));
// Guarded: Kit re-loads this file inside a worker (same cwd by then), where chdir() throws.
if (process.cwd() !== webDir) process.chdir(webDir);
const { sveltekit } = await import('@sveltejs/kit/vite');

export default defineConfig({
  root: webDir,
  plugins: [sveltekit()],
  server: { port: config.webPort, strictPort: false },
});
