/**
 * Build of the portal (web/ -> web/dist), served by every member node at `/`. JSX is compiled by
 * esbuild (no React plugin needed). The portal shares pure modules with the node (the Merkle proof
 * check, log entry decoding, consent typed data); `node:crypto` in them resolves to a small
 * SHA-256 shim over @noble/hashes, and Buffer comes from the `buffer` package.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/',
  logLevel: 'warn',
  esbuild: { jsx: 'automatic' },
  resolve: { alias: { 'node:crypto': here('./src/shims/nodeCrypto.ts') } },
  build: {
    outDir: here('./dist'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 700,
  },
});
