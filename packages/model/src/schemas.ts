import type { TSchema } from 'typebox';
import { Command } from './command.ts';
import { Device } from './device.ts';
import { Group, Membership } from './group.ts';
import { Enrolment, Program, ProgramEvent } from './program.ts';
import { Reading } from './reading.ts';
import { Setpoint, SetpointRequest } from './setpoint.ts';
import { Site } from './site.ts';

/**
 * Every top-level schema of the canonical model by name. `npm run schemas -w @gridseam/model`
 * writes them to packages/model/schemas/*.schema.json for non-TypeScript consumers; a test
 * fails when the committed files drift from these definitions.
 */
export const MODEL_SCHEMAS: Readonly<Record<string, TSchema>> = {
  Site,
  Device,
  Reading,
  Setpoint,
  SetpointRequest,
  Command,
  Program,
  ProgramEvent,
  Enrolment,
  Group,
  Membership,
};

/** A schema as a standalone JSON Schema document (draft 2020-12 compatible, draft-07 keywords). */
export function toJsonSchemaDocument(name: string, schema: TSchema): Record<string, unknown> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: name,
    ...JSON.parse(JSON.stringify(schema)),
    $id: `https://gridseam.dev/schemas/${name}.schema.json`,
  };
}
