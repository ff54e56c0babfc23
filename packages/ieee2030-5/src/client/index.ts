/** The IEEE 2030.5 client (issue 5): transport, discovery and polling, schedule, responses, reports. */
export * from './canonical.ts';
export * from './client.ts';
export * from './discovery.ts';
export * from './http.ts';
export * from './notifications.ts';
export * from './schedule.ts';
export * from './state.ts';
