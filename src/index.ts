#!/usr/bin/env node
/**
 * Bin entry: turns on Node's module compile cache where it exists (Node >= 22.1; an IDE spawns
 * this server on every launch), then loads the server. NODE_DISABLE_COMPILE_CACHE=1 opts out.
 */
import module from 'node:module';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
(await import('./main.js')).runMain();
