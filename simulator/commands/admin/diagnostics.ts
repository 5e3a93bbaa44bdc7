/**
 * Diagnostic and handshake-adjacent commands drivers and tools send: ping, buildInfo,
 * getParameter, serverStatus, hostInfo, getCmdLineOpts, whatsmyuri, getLog, connectionStatus,
 * listCommands, and the authentication commands this auth-less server refuses.
 */
import os from 'node:os';
import { type Document, Long } from 'bson';
import { type CommandContext, CommandError, type CommandHandler } from '../../contract.js';
import { commandKind } from '../../server/command-kinds.js';
import { MAX_BSON_OBJECT_SIZE } from '../../wire/protocol.js';
import { type AdminDeps, portOf, requireAdmin } from './deps.js';

export const SERVER_VERSION = '7.0.14';

const PARAMETERS: Readonly<Record<string, unknown>> = {
  featureCompatibilityVersion: { version: '7.0' },
  authenticationMechanisms: ['SCRAM-SHA-1', 'SCRAM-SHA-256'],
  transactionLifetimeLimitSeconds: 60,
  maxTransactionLockRequestTimeoutMillis: 5,
  changeStreamOptions: { preAndPostImages: { expireAfterSeconds: 'off' } },
  logLevel: 0,
  quiet: false,
};

function getParameter(ctx: CommandContext): Document {
  requireAdmin(ctx.db, 'getParameter');
  if (
    ctx.body.getParameter === '*' ||
    (ctx.body.getParameter as Document | undefined)?.allParameters === true
  ) {
    return { ...PARAMETERS };
  }
  const requested = Object.keys(ctx.body).filter(
    (key) => key !== 'getParameter' && !key.startsWith('$') && key !== 'lsid',
  );
  const found = Object.fromEntries(
    requested.filter((key) => key in PARAMETERS).map((key) => [key, PARAMETERS[key]]),
  );
  if (Object.keys(found).length === 0) throw new CommandError(72, 'InvalidOptions', 'no option found to get');
  return found;
}

function buildInfo(): Document {
  return {
    version: SERVER_VERSION,
    gitVersion: '0000000000000000000000000000000000000000',
    versionArray: [7, 0, 14, 0],
    bits: 64,
    debug: false,
    maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
    storageEngines: ['devnull', 'wiredTiger'],
    javascriptEngine: 'mozjs',
    allocator: 'tcmalloc',
    modules: [],
    sysInfo: 'deprecated',
    openssl: { running: 'disabled', compiled: 'disabled' },
    buildEnvironment: { target_os: 'linux', target_arch: 'x86_64' },
  };
}

function hostInfo(): Document {
  return {
    system: {
      currentTime: new Date(),
      hostname: os.hostname(),
      cpuAddrSize: 64,
      memSizeMB: Long.fromNumber(Math.round(os.totalmem() / 1024 / 1024)),
      numCores: os.cpus().length,
      cpuArch: os.arch(),
      numaEnabled: false,
    },
    os: { type: os.type(), name: os.type(), version: os.release() },
    extra: {},
  };
}

function getLog(ctx: CommandContext): Document {
  requireAdmin(ctx.db, 'getLog');
  const which = ctx.body.getLog;
  if (which === '*') return { names: ['global', 'startupWarnings'] };
  if (which === 'global' || which === 'startupWarnings') return { totalLinesWritten: 0, log: [] };
  throw new CommandError(2, 'BadValue', `no RamLog named: ${String(which)}`);
}

function refuseAuthentication(): never {
  throw new CommandError(18, 'AuthenticationFailed', 'Authentication failed.');
}

export function diagnosticCommands(deps: AdminDeps): Record<string, CommandHandler> {
  const serverStatus = (ctx: CommandContext): Document => {
    const started = deps.topology.startedAt(ctx.memberName);
    const uptimeMillis = Date.now() - started;
    const window = deps.oplogWindow();
    const current = deps.connectionCount(ctx.memberName);
    return {
      host: ctx.memberName,
      version: SERVER_VERSION,
      process: 'mongod',
      pid: Long.fromNumber(process.pid),
      uptime: Math.floor(uptimeMillis / 1000),
      uptimeMillis: Long.fromNumber(uptimeMillis),
      localTime: new Date(),
      connections: { current, available: 838_860 - current, totalCreated: current, active: 1 },
      repl: {
        setName: deps.topology.config.setName,
        isWritablePrimary: ctx.memberState === 'PRIMARY',
        secondary: ctx.memberState === 'SECONDARY',
        hosts: deps.topology.hosts(),
        primary: deps.topology.primary,
        me: ctx.memberName,
        topologyVersion: deps.topology.topologyVersion(ctx.memberName),
      },
      logicalSessionRecordCache: { activeSessionsCount: deps.sessions.activeCount },
      storageEngine: { name: 'wiredTiger', supportsCommittedReads: true, persistent: false },
      ...(ctx.body.oplog ? { oplog: { earliestOptime: window.earliest, latestOptime: window.latest } } : {}),
    };
  };

  const listCommands = (): Document => {
    const commands: Document = {};
    for (const name of deps.registry.names()) {
      commands[name] = {
        help: '',
        requiresAuth: false,
        secondaryOk: commandKind(name, {}) !== 'write',
        adminOnly: false,
      };
    }
    return { commands };
  };

  return {
    ping: () => ({}),
    buildInfo,
    buildinfo: buildInfo,
    getParameter,
    serverStatus,
    hostInfo,
    getCmdLineOpts: (ctx) => {
      requireAdmin(ctx.db, 'getCmdLineOpts');
      const port = portOf(ctx.memberName);
      const replSet = deps.topology.config.setName;
      return {
        argv: ['mongod', '--replSet', replSet, '--bind_ip', '127.0.0.1', '--port', String(port)],
        parsed: { net: { bindIp: '127.0.0.1', port }, replication: { replSet } },
      };
    },
    whatsmyuri: (ctx) => ({
      you: (ctx as CommandContext & { remoteAddress?: string }).remoteAddress ?? 'unknown',
    }),
    getLog,
    connectionStatus: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] } }),
    listCommands,
    logout: () => ({}),
    saslStart: refuseAuthentication,
    saslContinue: refuseAuthentication,
    authenticate: refuseAuthentication,
  };
}
