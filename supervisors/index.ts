/** Supervision's public surface. */
export type {
  ActorStatus,
  BackoffSpec,
  ChildStatus,
  IntensitySpec,
  RestartDecision,
  Strategy,
  Supervisor,
  SupervisorOptions,
  SupervisorSpec,
  SupervisorState,
  SupervisorStatus,
} from './contract.js';
export { STRATEGIES } from './contract.js';
export { backoffBase, backoffBounds, backoffDelay } from './backoff.js';
export { RestartIntensity } from './intensity.js';
export { DEFAULT_BACKOFF, DEFAULT_INTENSITY, DEFAULT_STRATEGY } from './options.js';
export { selectForRestart } from './strategy.js';
