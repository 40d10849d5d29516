/**
 * Every test file gets its own state directory, so audit keys and checkpoints created by tests
 * (and by servers they spawn with this environment) never land in the user's ~/.local/state.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

process.env.XDG_STATE_HOME = mkdtempSync(join(tmpdir(), 'crdb-mcp-state-'));
