/**
 * A minimal HTTP/1.1 keep-alive client over one TLS socket, for the load generator: one request in flight,
 * responses framed by Content-Length only. A chunked response or one without Content-Length is an error
 * (2030.5 peers such as the EPRI client cannot read chunked bodies, so the server must never send one).
 * Cheaper per request than node:https, so the load generator is not the bottleneck of the measurement.
 */
import { type ConnectionOptions, connect, type TLSSocket } from 'node:tls';

export interface RawResponse {
  status: number;
  /** The header block as received, lower-cased. */
  headers: string;
  body: Buffer;
}

const HEADER_END = Buffer.from('\r\n\r\n');

export class KeepAliveConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private pending: { resolve: (r: RawResponse) => void; reject: (e: Error) => void } | undefined;
  private closedError: Error | undefined;

  private constructor(
    private readonly socket: TLSSocket,
    private readonly host: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  static open(host: string, port: number, tls: ConnectionOptions): Promise<KeepAliveConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ ...tls, host, port }, () => {
        socket.off('error', reject);
        socket.setNoDelay(true);
        resolve(new KeepAliveConnection(socket, host));
      });
      socket.once('error', reject);
    });
  }

  /** The negotiated cipher (e.g. ECDHE-ECDSA-AES128-CCM8). */
  get cipher(): string {
    return this.socket.getCipher().name;
  }

  get(path: string): Promise<RawResponse> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (this.pending) return Promise.reject(new Error('one request at a time'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(`GET ${path} HTTP/1.1\r\nHost: ${this.host}\r\nAccept: application/sep+xml\r\n\r\n`);
    });
  }

  close(): void {
    this.closedError ??= new Error('closed');
    this.socket.destroy();
  }

  private fail(error: Error): void {
    this.closedError ??= error;
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const headerEnd = this.buffer.indexOf(HEADER_END);
    if (headerEnd < 0) return;
    const headers = this.buffer.subarray(0, headerEnd).toString('latin1').toLowerCase();
    const status = Number(headers.slice(9, 12));
    if (headers.includes('\r\ntransfer-encoding:')) {
      this.fail(new Error('the server sent a chunked (Transfer-Encoding) response'));
      this.socket.destroy();
      return;
    }
    const match = /\r\ncontent-length: *(\d+)/.exec(headers);
    if (!match) {
      this.fail(new Error('the server sent a response without Content-Length'));
      this.socket.destroy();
      return;
    }
    const bodyStart = headerEnd + HEADER_END.length;
    const bodyEnd = bodyStart + Number(match[1]);
    if (this.buffer.length < bodyEnd) return;
    const body = Buffer.from(this.buffer.subarray(bodyStart, bodyEnd));
    this.buffer = this.buffer.subarray(bodyEnd);
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve({ status, headers, body });
  }
}
