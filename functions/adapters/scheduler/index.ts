export {
  EventBridgeCdcScheduler,
  type EventBridgeCdcSchedulerConfig,
  rateExpressionOf,
  SCHEDULER_ENV,
  scheduleNameOf,
  schedulerConfigFromEnv,
} from './cdc-scheduler.js';
