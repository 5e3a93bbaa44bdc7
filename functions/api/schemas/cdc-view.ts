import { z } from '@hono/zod-openapi';
import { CDC_RUN_ENDINGS } from '../../ports/pipe-store.js';
import { dateTime, orNull } from './shared.js';

export const cdcRunSchema = z
  .strictObject({
    startedAt: dateTime,
    endedAt: dateTime.nullable().openapi({ description: 'Null while the run goes on.' }),
    batches: z.number().int().min(0),
    events: z.number().int().min(0),
    eventsPerSecond: z.number().min(0),
    endedBecause: z
      .enum(CDC_RUN_ENDINGS)
      .nullable()
      .openapi({
        description:
          "caught-up; budget (the run's time ended: it handed over if work was left); pipe-state (paused, " +
          'failed or deleted); lease-lost (a step that changed the tables restarted CDC); error (see ' +
          "lastError or the function's log).",
      }),
    handedOver: z.boolean().openapi({
      description: 'The run ended on its budget with work left and started the next run at once.',
    }),
  })
  .openapi('CdcRun', { description: 'The last CDC run (rewritten every minute while a long run goes on).' });

export const cdcStatusSchema = z
  .strictObject({
    mode: z.enum(['scheduled', 'continuous']).openapi({
      description:
        'scheduled: syncIntervalSeconds ≥ 60, a run every interval drains until caught up. continuous: ' +
        'below 60, a run stays on the stream and flushes every syncIntervalSeconds.',
    }),
    running: z.boolean().openapi({ description: "A CDC run holds the pipe's lease now." }),
    lagMs: z
      .number()
      .int()
      .min(0)
      .nullable()
      .openapi({ description: 'Lag at the last commit; null before the first.' }),
    lagMeasuredAt: dateTime
      .nullable()
      .openapi({ description: 'When that lag was measured (the last commit).' }),
    lastCommittedAt: dateTime.nullable().openapi({ description: 'When CDC last committed its position.' }),
    lastChangeAt: dateTime.nullable().openapi({
      description:
        'Cluster time of the newest change committed; now minus this is the lag while changes flow.',
    }),
    lastRun: orNull(cdcRunSchema),
  })
  .openapi('CdcStatus', {
    description:
      'Where CDC stands. Lag is measured by each batch when it commits: now minus the cluster time of the ' +
      'committed position while events were still pending, 0 when the stream was caught up; the ' +
      'CloudWatch CdcLagMs metric reports the same figure.',
  });

const sourceMemberSchema = z.strictObject({
  name: z.string(),
  state: z.string().openapi({
    description:
      'PRIMARY, SECONDARY, RECOVERING, STARTUP, STARTUP2, ARBITER, DOWN, ROLLBACK, REMOVED, UNKNOWN; from ' +
      "the driver's view also OTHER and MONGOS.",
  }),
  health: z.number().nullable(),
});

const shardMembersSchema = z.strictObject({
  shard: z.string().openapi({ description: "The shard's name (listShards), or its replica set's." }),
  setName: z.string(),
  members: z.array(
    z.strictObject({
      name: z.string(),
      state: z.enum(['PRIMARY', 'SECONDARY', 'ARBITER', 'NOT_OK']).openapi({
        description:
          'As the mongos sees the member (connPoolStats): NOT_OK when it cannot use it (down, unreachable, ' +
          'or in a state other than PRIMARY or SECONDARY).',
      }),
    }),
  ),
});

export const sourceHealthSchema = z
  .strictObject({
    checkedAt: dateTime,
    kind: z.enum(['replicaSet', 'sharded', 'unknown']),
    setName: z.string().nullable(),
    primary: z.string().nullable(),
    members: z.array(sourceMemberSchema),
    membersFrom: z.enum(['replSetGetStatus', 'driver']),
    note: z.string().nullable().openapi({
      description: 'Why the exact member states are unknown, e.g. the role lacks clusterMonitor.',
    }),
    shards: z
      .array(shardMembersSchema)
      .optional()
      .openapi({
        description:
          "Through a mongos: each shard's members as the mongos sees them. Absent on a replica set and when " +
          'they could not be read (note says why).',
      }),
  })
  .openapi('SourceHealth', {
    description: "The source's topology and member states as the last CDC run read them.",
  });
