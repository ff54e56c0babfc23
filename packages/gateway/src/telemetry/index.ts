export { type RetentionOptions, startRetention } from './retention.ts';
export { TelemetryWriter, type TelemetryWriterOptions } from './writer.ts';
