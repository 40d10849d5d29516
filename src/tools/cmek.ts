/** The CMEK lifecycle toolset (toolset 'cmek'). */
import { CMEK_READ_TOOLS } from './cmek-read.js';
import { CMEK_WRITE_TOOLS } from './cmek-write.js';
import type { ToolDef } from './define-tool.js';

/** list_clusters, check_cmek_eligibility, get_cmek_status, enable_cmek, rotate_cmek, revoke_cmek. */
export const CMEK_TOOLS: readonly ToolDef[] = [...CMEK_READ_TOOLS, ...CMEK_WRITE_TOOLS];
