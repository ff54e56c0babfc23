import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import pg from 'pg';

/**
 * Probes for the services some tests need, so those tests can skip with a clear message on a
 * machine without them. Probes are cached per process.
 */

/** The PostgreSQL used by tests: GRIDSEAM_PG_URL, else the local test database. */
export function pgUrl(): string {
  return process.env.GRIDSEAM_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
}

export const NATS_HOST = '127.0.0.1';
export const NATS_PORT = 4222;

let pgProbe: Promise<boolean> | undefined;

/** True when a connection to pgUrl() can be made and answers a query (2 s timeout). */
export function isPgReachable(): Promise<boolean> {
  pgProbe ??= (async () => {
    const client = new pg.Client({ connectionString: pgUrl(), connectionTimeoutMillis: 2000 });
    // A failure after connect (server going away) must not become an unhandled 'error' event.
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return pgProbe;
}

/** TCP connect probe; resolves false on refusal or after timeoutMs. */
export function isTcpReachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (reachable: boolean) => {
      socket.destroy();
      resolve(reachable);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

let natsProbe: Promise<boolean> | undefined;

/** True when something accepts TCP connections on 127.0.0.1:4222 (NATS). */
export function isNatsReachable(): Promise<boolean> {
  natsProbe ??= isTcpReachable(NATS_HOST, NATS_PORT);
  return natsProbe;
}

/** A fresh schema name for one test's PostgreSQL store: `gs_test_<random hex>`. */
export function pgTestSchema(): string {
  return `gs_test_${randomBytes(6).toString('hex')}`;
}

/** Drops a throwaway schema made by a test (and everything in it). */
export async function dropPgSchema(schema: string): Promise<void> {
  if (!/^gs_test_[a-z0-9_]+$/.test(schema)) throw new Error(`refusing to drop schema ${schema}`);
  const client = new pg.Client({ connectionString: pgUrl(), connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}
