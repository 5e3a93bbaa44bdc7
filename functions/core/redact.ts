/**
 * Credentials never leave the product: every URI or message that may hold one goes through here
 * before it is logged, returned in a report, put in an error, a pipe's lastError or its history.
 */

const MONGO_USERINFO = /(mongodb(?:\+srv)?:\/\/)([^@/\s]+)@/gi;
const HTTP_USERINFO = /(https?:\/\/)([^@/\s]+)@/gi;
const SECRET_OPTION = /((?:password|AWS_SESSION_TOKEN|secret)[=:])[^&,\s]+/gi;
const AUTH_HEADER = /\b(Basic|Bearer)\s+[A-Za-z0-9+/=._~-]+/g;

/** The longest message from a remote endpoint (or any error) the product repeats anywhere. */
export const MAX_ERROR_MESSAGE = 1_000;

export function redactUri(uri: string): string {
  return redactText(uri);
}

/** Masks the user-info of any MongoDB or HTTP URL in `text`, secret-looking options and auth headers. */
export function redactText(text: string): string {
  const maskUserInfo = (_match: string, scheme: string, userinfo: string) => {
    const user = userinfo.split(':')[0] ?? '';
    return `${scheme}${user ? `${user}:` : ''}***@`;
  };
  return text
    .replace(MONGO_USERINFO, maskUserInfo)
    .replace(HTTP_USERINFO, maskUserInfo)
    .replace(SECRET_OPTION, '$1***')
    .replace(AUTH_HEADER, '$1 ***');
}

/** What may be stored or shown of an error message: redacted first, then cut short. */
export function sanitizeMessage(text: string): string {
  const redacted = redactText(text);
  return redacted.length > MAX_ERROR_MESSAGE ? `${redacted.slice(0, MAX_ERROR_MESSAGE)}… (cut)` : redacted;
}

/** The hosts of a URI without credentials or options, for messages. */
export function hostsOfUri(uri: string): string {
  const match = /^mongodb(?:\+srv)?:\/\/(?:[^@/]*@)?([^/?]*)/i.exec(uri);
  return match?.[1] ?? '(unparsable URI)';
}
