/** Google Cross-Account Protection (RISC) receiver: `POST /integrations/google/risc`. */
export { riscReceiver, type RiscDeps, type RiscOutcome, type RiscReceiver } from './receiver.js';
export { riscRoutes, readSet, RISC_BODY_LIMIT } from './routes.js';
export { googleFamily, googleRiscSettings, type RiscConfig } from './settings.js';
export { memoryReplayGuard, redisReplayGuard, replayGuard, type ReplayGuard } from './replay.js';
export { assertRiscConfig, RiscError, type RiscErrorCode } from './verify.js';
export { RISC_EVENTS, actionOf, subjectOf } from './events.js';
