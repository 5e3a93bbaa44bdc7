export {
  executionArnOf,
  executionNameOf,
  STATE_MACHINE_ARN_ENV,
  StepFunctionsStarter,
  stateMachineArnsFromEnv,
} from './starter.js';
