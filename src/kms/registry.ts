import type { KmsKeyType, KmsProvider, KmsRegistry } from './provider.js';

/** Builds the client of one provider (importing its SDK then). */
export type ProviderLoader = (type: KmsKeyType) => Promise<KmsProvider>;

/**
 * Lazily constructs one provider client per key type on first use and reuses it; a failed
 * construction is retried on the next use.
 */
export function createKmsRegistry(load: ProviderLoader): KmsRegistry {
  const providers = new Map<KmsKeyType, Promise<KmsProvider>>();
  return {
    get(type) {
      let provider = providers.get(type);
      if (!provider) {
        provider = load(type);
        provider.catch(() => providers.delete(type));
        providers.set(type, provider);
      }
      return provider;
    },
  };
}
