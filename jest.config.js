/**
 * Jest in native ESM mode (oidc-provider 9 is ESM-only); ts-jest transpiles, `npm run typecheck` type-checks.
 * Every test file runs in Jest's node environment plus Node's undici global dispatcher
 * (test/support/undici-environment.js), as production runs: without it oidc-provider's and our outbound guards
 * (src/oidc/outbound-fetch.ts) cannot be built and the provider's fetches would go unchecked.
 */
export default {
  testEnvironment: '<rootDir>/test/support/undici-environment.js',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json', isolatedModules: true, diagnostics: false }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  testTimeout: 30000,
  maxWorkers: 2,
};
