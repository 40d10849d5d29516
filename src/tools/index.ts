/**
 * Every tool definition, imported eagerly, in tools/list order: for the listing and README
 * generators and the tests. The server lists the same tools from catalog.ts, which imports each
 * module on first call.
 */
import { AUDIT_TOOLS } from './audit.js';
import { AUDIT_LOG_TOOLS } from './audit-log.js';
import { CERT_TOOLS } from './certs.js';
import { CMEK_TOOLS } from './cmek.js';
import type { ToolDef } from './define-tool.js';
import { KMS_TOOLS } from './kms.js';
import { SQL_TOOLS } from './sql.js';

/** All tool definitions. Read-only and toolset filtering happen in define-tool.ts (toolPolicy). */
export const ALL_TOOLS: readonly ToolDef[] = [...CMEK_TOOLS, ...KMS_TOOLS, ...CERT_TOOLS, ...SQL_TOOLS, ...AUDIT_TOOLS, ...AUDIT_LOG_TOOLS];
