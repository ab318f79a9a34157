import { TestEnvironment } from 'jest-environment-node';

/**
 * Jest's node environment plus what a plain Node process has and Jest's VM context lacks: the global dispatcher of
 * Node's bundled undici (`Symbol.for('undici.globalDispatcher.1')`, `.2` in later Node versions). oidc-provider and
 * src/oidc/outbound-fetch.ts take the Agent class from it to build their SSRF guards; without it neither guard
 * exists and the provider's fetches go anywhere. It is the environment of every test file (jest.config.js
 * `testEnvironment`), so the whole suite runs the guards production runs: fixtures on loopback (a JWKS server, a
 * back-channel logout receiver) are reached only as an operator would allow them (an issuer on loopback outside
 * production, or OUTBOUND_ALLOW_PRIVATE_NETWORKS). test/support/undici-environment.test.ts fails if the dispatcher
 * goes missing. A file that needs the plain node environment says so with the docblock `@jest-environment node`.
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
