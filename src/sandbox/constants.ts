/** Sandbox names the server needs at start-up, kept apart from the seeded world (loaded with the sandbox). */

/** The sandbox's Cloud API key (not a secret: it only opens the local emulator). */
export const SANDBOX_API_KEY = 'CCDB1_sandbox_local_only_0000000000000000';

/** Name of the sandbox's self-hosted SQL target. */
export const SELF_HOSTED_TARGET = 'selfhosted';

/** How often the Cloud client polls the sandbox's CMEK status (real API: every 10 s); 4/s stays well under its 10/s limit. */
export const SANDBOX_POLL_INTERVAL_MS = 250;
