/** Target names: what --sql-target accepts. */
export const TARGET_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/i;
