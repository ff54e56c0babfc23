/** The OpenADR 2.0b VEN (simple HTTP pull): registration, events, reports, opts. */
export * from './events.ts';
export * from './reports.ts';
export * from './state.ts';
export * from './transport.ts';
export * from './ven.ts';
