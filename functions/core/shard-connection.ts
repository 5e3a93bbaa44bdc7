/**
 * The connection string of one shard's replica set, made from the pipe's own: the same user,
 * password, database (the default authSource) and options (TLS, CA file, authSource,
 * authMechanism…), the shard's hosts as `listShards` names them and `replicaSet=<setName>`.
 */

/** Options that name the mongos deployment, not a replica set: left out of a shard's string. */
const MONGOS_ONLY = new Set([
  'replicaset',
  'directconnection',
  'loadbalanced',
  'srvservicename',
  'srvmaxhosts',
]);

const URI = /^(mongodb(?:\+srv)?):\/\/([^@/?#]*@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i;

/** The hosts of a `listShards` `host`: `<setName>/h1:p1,h2:p2` (or a bare host list). */
export function shardHostList(listed: string): string {
  const slash = listed.indexOf('/');
  return slash >= 0 ? listed.slice(slash + 1) : listed;
}

/**
 * `mongodb://[user:pass@]<hosts>[/db]?<the pipe's options>&replicaSet=<setName>`. A `mongodb+srv`
 * string turns TLS on, as its scheme does, unless it says otherwise; options its DNS TXT record
 * would add (authSource, replicaSet) are not read. Null when the pipe's string does not parse.
 */
export function shardConnectionString(pipeUri: string, hosts: string, setName: string): string | null {
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
  options.push(`replicaSet=${encodeURIComponent(setName)}`);
  return `mongodb://${userinfo}${hosts}${path || '/'}?${options.join('&')}`;
}
