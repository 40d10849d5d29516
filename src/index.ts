#!/usr/bin/env node
/**
 * Bin entry: turns on Node's module compile cache where it exists (Node >= 22.1; an IDE spawns
 * this server on every launch), then loads the server. NODE_DISABLE_COMPILE_CACHE=1 opts out.
 */
import module from 'node:module';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
// The AWS SDK's documented switch for its multi-line "Node 20 support ends" notice. We test on
// Node 20, 22 and 24 and pin the SDK (README "Node versions"), so the notice is ours to act on,
// not the operator's. Other warnings still print; an operator's own setting wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
(await import('./main.js')).runMain();
