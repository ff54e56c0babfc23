/**
 * One child process of the OCPP benchmark, forked with the same tsx loader as this process and an
 * IPC channel; its stdout and stderr are kept (the tail) for error messages.
 *
 * Open files: 5,000 WebSockets need 5,000 descriptors on each side, above the common default soft
 * limit of 1,024. Node raises its own soft limit to the hard limit when it starts (POSIX), so only
 * the hard limit matters; each child reports the limit it runs with (protocol.ts openFilesLimit).
 */
import { type ChildProcess, fork } from 'node:child_process';

/** How much of a child's stdout/stderr is kept for error messages. */
const OUTPUT_TAIL = 4000;

interface Waiter {
  type: string;
  resolve: (message: { type: string }) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class BenchChild<Command extends { type: string }, Message extends { type: string }> {
  readonly name: string;
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private readonly inbox: Message[] = [];
  private waiter: Waiter | undefined;
  private output = '';
  private exitCode: number | null | undefined;

  constructor(name: string, script: string, settings: object, extraExecArgv: readonly string[] = []) {
    this.name = name;
    const execArgv = [...process.execArgv, ...extraExecArgv];
    const argument = JSON.stringify(settings);
    this.child = fork(script, [argument], { execArgv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.child.on('message', (message: Message) => this.receive(message));
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        this.exitCode = code;
        const waiter = this.waiter;
        if (waiter) {
          this.waiter = undefined;
          clearTimeout(waiter.timer);
          waiter.reject(new Error(`${this.name} exited (code ${code}) before '${waiter.type}':\n${this.output}`));
        }
        resolve(code);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  send(command: Command): void {
    this.child.send(command);
  }

  /** The next message of `type` (earlier messages of other types are an error: the protocol is a sequence). */
  next<T extends Message['type']>(type: T, timeoutMs: number): Promise<Extract<Message, { type: T }>> {
    return new Promise((resolve, reject) => {
      const queued = this.inbox.shift();
      if (queued) {
        this.settle(queued, type, resolve as (m: { type: string }) => void, reject);
        return;
      }
      if (this.exitCode !== undefined) {
        reject(new Error(`${this.name} has exited (code ${this.exitCode}):\n${this.output}`));
        return;
      }
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`${this.name}: no '${type}' within ${Math.round(timeoutMs / 1000)} s:\n${this.output}`));
      }, timeoutMs);
      this.waiter = { type, resolve: resolve as (m: { type: string }) => void, reject, timer };
    });
  }

  /** Ends the child if it is still running: SIGTERM, then SIGKILL after 5 s. */
  async stop(): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }

  private receive(message: Message): void {
    const waiter = this.waiter;
    if (!waiter) {
      this.inbox.push(message);
      return;
    }
    this.waiter = undefined;
    clearTimeout(waiter.timer);
    this.settle(message, waiter.type, waiter.resolve, waiter.reject);
  }

  private settle(
    message: { type: string; message?: unknown },
    type: string,
    resolve: (m: { type: string }) => void,
    reject: (error: Error) => void,
  ): void {
    if (message.type === type) resolve(message);
    else if (message.type === 'failed') reject(new Error(`${this.name} failed: ${String(message.message)}`));
    else reject(new Error(`${this.name}: expected '${type}', got '${message.type}'`));
  }
}
