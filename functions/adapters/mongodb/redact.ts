/**
 * Credentials never leave the adapter: every URI or message that may hold one goes through here
 * before it is logged, returned in a report or put in an error.
 */

const USERINFO = /(mongodb(?:\+srv)?:\/\/)([^@/\s]+)@/gi;
const SECRET_OPTION = /((?:password|AWS_SESSION_TOKEN|secret)[=:])[^&,\s]+/gi;

export function redactUri(uri: string): string {
  return redactText(uri);
}

/** Replaces the user-info part of any MongoDB URI in `text` and secret-looking options. */
export function redactText(text: string): string {
  return text
    .replace(USERINFO, (_match, scheme: string, userinfo: string) => {
      const user = userinfo.split(':')[0] ?? '';
      return `${scheme}${user ? `${user}:` : ''}***@`;
    })
    .replace(SECRET_OPTION, '$1***');
}

/** The hosts of a URI without credentials or options, for messages. */
export function hostsOfUri(uri: string): string {
  const match = /^mongodb(?:\+srv)?:\/\/(?:[^@/]*@)?([^/?]*)/i.exec(uri);
  return match?.[1] ?? '(unparsable URI)';
}
