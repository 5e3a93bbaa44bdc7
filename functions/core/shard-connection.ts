/**
 * The connection string of one shard's replica set, made from the pipe's own: the same user,
 * password, database and options (TLS, CA file, authSource, authMechanism…), with the shard's
 * hosts as `listShards` names them. The hosts come from the cluster, not from whoever wrote the
 * pipe, so each is held to a strict `host[:port]` form before it goes into the string: a `/`,
 * `?` or `@` in one would otherwise add options of the cluster's choosing (`authMechanism=PLAIN`
 * sends the password in clear; `tlsAllowInvalidCertificates=true` drops the certificate check).
 * The set name is no part of the string: the adapter gives it to the driver as an option.
 */
import { redactText } from './redact.js';

/** Options that name the mongos deployment, not a replica set: left out of a shard's string. */
const MONGOS_ONLY = new Set([
  'replicaset',
  'directconnection',
  'loadbalanced',
  'srvservicename',
  'srvmaxhosts',
]);

const URI = /^(mongodb(?:\+srv)?):\/\/([^@/?#]*@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i;

/** One validated shard host: its name (for the allowlist) and `host:port` as the string holds it. */
export interface ShardHost {
  name: string;
  address: string;
}

export type ShardHosts = { hosts: ShardHost[] } | { refused: string };

/** Underscores too: Docker and some internal DNS name hosts with them, and they add no URI syntax. */
const DNS_LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/i;
const PLAIN_ENTRY = /^([^:[\]]+)(?::(\d{1,5}))?$/;
const BRACKETED_ENTRY = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/i;

/**
 * The hosts of a `listShards` `host` (`<setName>/h1:p1,h2:p2`, or a bare host list), each a DNS
 * name, an IPv4 literal or a bracketed IPv6 literal with an optional port 1–65535; refused, with
 * the entry named, when any is not.
 */
export function shardHosts(listed: string): ShardHosts {
  const slash = listed.indexOf('/');
  const list = slash >= 0 ? listed.slice(slash + 1) : listed;
  const hosts: ShardHost[] = [];
  for (const entry of list.split(',')) {
    const host = validHost(entry);
    if (host === null)
      return {
        refused: redactText(
          `not connected: listShards names a host that is not host[:port] (${JSON.stringify(entry.slice(0, 120))})`,
        ),
      };
    hosts.push(host);
  }
  return { hosts };
}

function validHost(entry: string): ShardHost | null {
  const bracketed = BRACKETED_ENTRY.exec(entry);
  if (bracketed) {
    const [, name = '', port] = bracketed;
    return isIpv6(name) && validPort(port) ? { name, address: entry } : null;
  }
  const plain = PLAIN_ENTRY.exec(entry);
  if (!plain) return null;
  const [, name = '', port] = plain;
  return (isIpv4(name) || isDnsName(name)) && validPort(port) ? { name, address: entry } : null;
}

function validPort(port: string | undefined): boolean {
  if (port === undefined) return true;
  const value = Number(port);
  return value >= 1 && value <= 65_535;
}

function isIpv4(name: string): boolean {
  const parts = name.split('.');
  return parts.length === 4 && parts.every((part) => /^(0|[1-9]\d{0,2})$/.test(part) && Number(part) <= 255);
}

/** Labels of letters, digits and hyphens; all-digit labels are an IPv4 literal or nothing. */
function isDnsName(name: string): boolean {
  const labels = name.replace(/\.$/, '').split('.');
  if (name.length > 254 || !labels.every((label) => DNS_LABEL.test(label))) return false;
  return !labels.every((label) => /^\d+$/.test(label));
}

/** Eight groups of 1–4 hex digits, `::` once for a run of zeros, an IPv4 tail for the last two. */
function isIpv6(name: string): boolean {
  const halves = name.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((half) => (half === '' ? [] : half.split(':')));
  const last = groups.at(-1) ?? '';
  const ipv4Tail = last.includes('.');
  if (ipv4Tail && !isIpv4(last)) return false;
  const hex = ipv4Tail ? groups.slice(0, -1) : groups;
  if (!hex.every((group) => /^[0-9a-f]{1,4}$/i.test(group))) return false;
  const width = hex.length + (ipv4Tail ? 2 : 0);
  return halves.length === 2 ? width <= 7 : width === 8;
}

/**
 * `mongodb://[user:pass@]<hosts>[/db]?<the pipe's options>`. A `mongodb+srv` string turns TLS
 * on, as its scheme does, unless it says otherwise; the authSource its DNS TXT record may add is
 * the adapter's to give (from the pipe's connected client). Null when the pipe's string does not
 * parse or there is no host.
 */
export function shardConnectionString(pipeUri: string, hosts: readonly ShardHost[]): string | null {
  const match = URI.exec(pipeUri.trim());
  if (!match || hosts.length === 0) return null;
  const [, scheme, userinfo = '', , path = '/', query = ''] = match;
  const options = query
    .split('&')
    .filter((option) => option.length > 0)
    .filter((option) => !MONGOS_ONLY.has((option.split('=')[0] ?? '').toLowerCase()));
  const names = new Set(options.map((option) => (option.split('=')[0] ?? '').toLowerCase()));
  if (scheme?.toLowerCase() === 'mongodb+srv' && !names.has('tls') && !names.has('ssl'))
    options.push('tls=true');
  const addresses = hosts.map((host) => host.address).join(',');
  const search = options.length > 0 ? `?${options.join('&')}` : '';
  return `mongodb://${userinfo}${addresses}${path || '/'}${search}`;
}
