/** Background work: our own jobs table (SKIP LOCKED) + the worker loop that also delivers the outbox. */
export {
  enqueueJob,
  registerJobHandler,
  registeredJobNames,
  runDueJobs,
  registerPeriodicTask,
  runPeriodicTasks,
  type PeriodicTask,
  JOBS_CHANNEL,
  type EnqueueJobOptions,
  type JobContext,
  type JobHandler,
  type JsonValue,
  type RegisterJobOptions,
  type RunJobsOptions,
  type RunJobsResult,
} from './queue';
export { startWorker, type WorkerOptions, type WorkerHandle } from './worker';
