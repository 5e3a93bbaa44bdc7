/**
 * Which hosts a deployment lets its pipes reach (docs/security.md): lists of host names or
 * `*.domain` patterns, one for MongoDB sources and one for ClickHouse destinations. An empty
 * list allows every host; a listed host is compared without its port, case-insensitively.
 */
export interface AllowedHosts {
  source: readonly string[];
  destination: readonly string[];
}

export const ANY_HOST: AllowedHosts = { source: [], destination: [] };

export function hostAllowed(host: string, patterns: readonly string[]): boolean {
  if (patterns.length === 0) return true;
  const name = host.toLowerCase().replace(/\.$/, '');
  return patterns.some((pattern) => {
    const wanted = pattern.toLowerCase().trim();
    if (wanted.startsWith('*.')) return name.endsWith(wanted.slice(1)) && name.length > wanted.length - 1;
    return name === wanted;
  });
}

/** The host names of a MongoDB connection string (`mongodb://a:1,b:2/…` or `mongodb+srv://host/…`), ports left out. */
export function mongoHostsOf(uri: string): string[] {
  const match = /^mongodb(?:\+srv)?:\/\/(?:[^@/?#]*@)?([^/?#]+)/.exec(uri);
  if (!match) return [];
  return (match[1] as string).split(',').map((entry) => {
    // An IPv6 literal is bracketed; its own colons are not a port.
    const bracketed = /^\[(.*)\](?::\d+)?$/.exec(entry);
    return bracketed ? (bracketed[1] as string) : entry.replace(/:\d+$/, '');
  });
}

/** The host of an http(s) URL; null when it does not parse. */
export function urlHostOf(url: string): string | null {
  try {
    return new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    return null;
  }
}

/** True when the URL carries a user name or password (`https://user:pw@host`). */
export function hasUserInfo(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username !== '' || parsed.password !== '';
  } catch {
    return false;
  }
}
