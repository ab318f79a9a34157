import { TestEnvironment } from 'jest-environment-node';

/**
 * Jest's node environment plus what a plain Node process has and Jest's VM context lacks: the global dispatcher of
 * Node's bundled undici (`Symbol.for('undici.globalDispatcher.1')`, `.2` in later Node versions). oidc-provider and
 * src/oidc/outbound-fetch.ts take the Agent class from it to build their SSRF guards; without it neither guard
 * exists and the provider's fetches go anywhere. A test file opts in with the docblock
 * `@jest-environment ./test/support/undici-environment.js`.
 */
export default class UndiciEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    void Response; // makes Node load its bundled undici, which installs the global dispatcher
    for (const key of [Symbol.for('undici.globalDispatcher.1'), Symbol.for('undici.globalDispatcher.2')]) {
      if (globalThis[key] !== undefined) this.global[key] = globalThis[key];
    }
  }
}
