import { it } from 'vitest';
import { startSandbox } from '../src/sandbox/index.js';
it('t', async () => { const t = Date.now(); const sb = await startSandbox({}); console.log('start ms', Date.now() - t); const t2 = Date.now(); await sb.sql.connectionString(); console.log('sql ms', Date.now()-t2); await sb.stop(); });
