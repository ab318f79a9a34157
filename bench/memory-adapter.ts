import type { Adapter, AdapterPayload } from 'oidc-provider';

/**
 * oidc-provider's quick-start memory adapter keeps at most 1000 entries (an LRU), which a benchmark with
 * thousands of pre-minted tokens overflows. This is the same idea without the bound: a Map per process.
 */
const store = new Map<string, AdapterPayload>();
const grants = new Map<string, Set<string>>();

export class UnboundedMemoryAdapter implements Adapter {
  constructor(private readonly model: string) {}
  #key = (id: string) => `${this.model}:${id}`;
  async upsert(id: string, payload: AdapterPayload): Promise<void> {
    const key = this.#key(id);
    store.set(key, payload);
    if (payload.grantId) {
      const set = grants.get(payload.grantId) ?? new Set<string>();
      set.add(key);
      grants.set(payload.grantId, set);
    }
  }
  async find(id: string) {
    return store.get(this.#key(id));
  }
  async findByUid(uid: string) {
    return [...store.values()].find((payload) => payload.uid === uid);
  }
  async findByUserCode(userCode: string) {
    return [...store.values()].find((payload) => payload.userCode === userCode);
  }
  async consume(id: string): Promise<void> {
    const payload = store.get(this.#key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string): Promise<void> {
    store.delete(this.#key(id));
  }
  async revokeByGrantId(grantId: string): Promise<void> {
    for (const key of grants.get(grantId) ?? []) store.delete(key);
    grants.delete(grantId);
  }
}
