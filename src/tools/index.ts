/** The tool registry: every tool the server offers, in tools/list order. */
import { AUDIT_TOOLS } from './audit.js';
import { AUDIT_LOG_TOOLS } from './audit-log.js';
import { CERT_TOOLS } from './certs.js';
import { CMEK_TOOLS } from './cmek.js';
import type { ToolDef } from './define-tool.js';
import { KMS_TOOLS } from './kms.js';
import { SQL_TOOLS } from './sql.js';

/** All tool definitions. Read-only and toolset filtering happen in define-tool.ts. */
export const ALL_TOOLS: readonly ToolDef[] = [...CMEK_TOOLS, ...KMS_TOOLS, ...CERT_TOOLS, ...SQL_TOOLS, ...AUDIT_TOOLS, ...AUDIT_LOG_TOOLS];
