/**
 * Every test file gets its own state directory, so audit keys and checkpoints created by tests
 * (and by servers they spawn with this environment) never land in the user's ~/.local/state.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

process.env.XDG_STATE_HOME = mkdtempSync(join(tmpdir(), 'crdb-mcp-state-'));

// In-process tests load the AWS SDK without src/index.ts, which turns its Node 20 notice off for
// the server process; do the same here (test/e2e/audit-command.test.ts spawns the built CLI
// without it and checks stderr stays clean).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
