#!/usr/bin/env node
// The gridseam command. The gateway is TypeScript run through tsx, so there is no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv);
process.exitCode = code;
// Everything is closed by now; if a stray handle still holds the event loop, do not hang on it.
setTimeout(() => process.exit(code), 2000).unref();
