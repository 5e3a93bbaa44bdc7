import { type ClickHouseClient, createClient } from '@clickhouse/client';
import { classifyDestinationError } from '../../core/classify.js';

export interface ClickHouseConnection {
  /** e.g. https://abc.clickhouse.cloud:8443 or http://127.0.0.1:8123 for the embedded engine. */
  url: string;
  username?: string;
  password?: string;
  requestTimeoutMs?: number;
}

export function createClickHouseClient(connection: ClickHouseConnection): ClickHouseClient {
  let parsed: URL;
  try {
    parsed = new URL(connection.url);
  } catch (err) {
    throw classifyDestinationError(
      new Error(`ClickHouse URL ${JSON.stringify(connection.url)} is not a URL`, { cause: err }),
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw classifyDestinationError(new Error(`ClickHouse URL must be http(s), got ${parsed.protocol}`));
  }
  return createClient({
    url: connection.url,
    username: connection.username ?? 'default',
    password: connection.password ?? '',
    request_timeout: connection.requestTimeoutMs ?? 300_000,
    compression: { request: false, response: true },
    // Keeps load balancers (ClickHouse Cloud) from cutting a long insert or OPTIMIZE as idle.
    clickhouse_settings: { send_progress_in_http_headers: 1, http_headers_progress_interval_ms: '60000' },
  });
}

/** Run one ClickHouse call and turn whatever it throws into the named destination errors. */
export async function destinationCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw classifyDestinationError(err);
  }
}
