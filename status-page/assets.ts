import { readFile } from 'node:fs/promises';

/**
 * The status page: three hand-written files beside this one, served as they are (no build step).
 * The local API serves them at `/` (local/api/server.ts) and so does `pipes ui` (cli/ui.ts), which
 * forwards the page's API reads to a deployed API with SigV4. The deployed API itself serves no
 * page: it answers IAM-signed requests only, which a browser cannot make.
 */

/** Where the page's files are served; none collides with an API path (`/pipes`, `/preflight`). */
export const STATUS_PAGE_PREFIX = '/status-page/';

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  [`${STATUS_PAGE_PREFIX}status.css`]: { file: 'status.css', type: 'text/css; charset=utf-8' },
  [`${STATUS_PAGE_PREFIX}status.js`]: { file: 'status.js', type: 'text/javascript; charset=utf-8' },
};

/**
 * The page loads only its own files and calls only its own origin; whatever a pipe's name or an
 * error message holds is written as text (status.js never sets HTML), and this policy backs that up.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // Always the files of this checkout: an edited page shows on the next reload.
  'cache-control': 'no-cache',
};

/** Whether a request path is one of the page's files. */
export function isStatusPagePath(pathname: string): boolean {
  return Object.hasOwn(FILES, pathname);
}

/** A GET (or HEAD) of one of the page's files answered; null for every other request. */
export async function statusPageResponse(request: Request): Promise<Response | null> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return null;
  const pathname = new URL(request.url).pathname;
  if (!isStatusPagePath(pathname)) return null;
  const { file, type } = FILES[pathname]!;
  const body = await readFile(new URL(file, import.meta.url));
  return new Response(request.method === 'HEAD' ? null : body, {
    status: 200,
    headers: { 'content-type': type, 'content-length': String(body.length), ...SECURITY_HEADERS },
  });
}
