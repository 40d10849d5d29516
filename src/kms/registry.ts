import type { KmsKeyType, KmsProvider, KmsRegistry } from './provider.js';

/** Builds one provider; receives the options the registry was created with. */
export type ProviderLoader = () => Promise<KmsProvider>;

/**
 * Lazily constructs one provider per key type (importing its SDK only then) and reuses it.
 */
export function createKmsRegistry(loaders: Partial<Record<KmsKeyType, ProviderLoader>>): KmsRegistry {
  const providers = new Map<KmsKeyType, Promise<KmsProvider>>();
  return {
    get(type) {
      let provider = providers.get(type);
      if (!provider) {
        const loader = loaders[type];
        if (!loader) return Promise.reject(new Error(`no KMS provider configured for ${type}`));
        provider = loader();
        provider.catch(() => providers.delete(type));
        providers.set(type, provider);
      }
      return provider;
    },
  };
}
