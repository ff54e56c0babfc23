/**
 * The registry writes every utility seam makes the same way (2030.5, OpenADR 3, OpenADR 2.0b):
 * a program kept in step with what the utility says, an enrolment created once, and an event written
 * through the registry when no control engine runs in this process. Protocol-free: the seams map
 * their protocol to canonical objects first.
 */
import { createHash } from 'node:crypto';
import type { Enrolment, Program, ProgramEvent } from '@gridseam/model';
import type { FleetRegistry } from '../registry/index.ts';
import type { Store } from '../store/types.ts';

const ID_MAX = 128;

/** A canonical id from free text: itself when it is a valid Id, else a readable slug, else a hash. */
export function canonicalId(prefix: string, text: string): string {
  const slug = text
    .replace(/[^A-Za-z0-9._:-]+/g, '.')
    .replace(/^[.:_-]+|[.:_-]+$/g, '')
    .replace(/\.{2,}/g, '.');
  const id = `${prefix}${slug}`;
  if (slug !== '' && id.length <= ID_MAX) return id;
  return `${prefix}${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
}

/**
 * Creates the program, or updates it when what the seam owns (name, kind, primacy, description,
 * default controls) changed; labels set by an operator are kept. Audited as `actor`.
 */
export async function upsertProgram(
  store: Store,
  registry: FleetRegistry,
  program: Program,
  actor: string,
): Promise<void> {
  const existing = await store.programs.get(program.id);
  if (existing === undefined) {
    await registry.createProgram(program, actor);
    return;
  }
  const changed =
    existing.name !== program.name ||
    existing.kind !== program.kind ||
    existing.primacy !== program.primacy ||
    existing.description !== program.description ||
    JSON.stringify(existing.defaultControls ?? []) !== JSON.stringify(program.defaultControls ?? []);
  if (changed) await registry.updateProgram({ ...existing, ...program, labels: existing.labels ?? {} }, actor);
}

/** Creates the enrolment unless one with its id exists (an operator may have changed or ended it). */
export async function ensureEnrolment(
  store: Store,
  registry: FleetRegistry,
  enrolment: Enrolment,
  actor: string,
): Promise<void> {
  if ((await store.enrolments.get(enrolment.id)) === undefined) await registry.createEnrolment(enrolment, actor);
}

/**
 * Writes an event through the registry (which publishes it on the bus topic 'program.event' for an
 * engine in another process): created when new, else updated with its content, and a status change
 * recorded as a transition with its reason.
 */
export async function writeEventThroughRegistry(
  registry: FleetRegistry,
  event: ProgramEvent,
  existing: ProgramEvent | undefined,
  reason: string | undefined,
  actor: string,
): Promise<void> {
  const { status, statusHistory: _history, ...content } = event;
  if (existing === undefined) {
    await registry.createEvent({ ...content, status }, actor);
    return;
  }
  await registry.updateEvent({ ...content, status: existing.status }, actor);
  if (status !== existing.status)
    await registry.setEventStatus(existing.id, { status, ...(reason === undefined ? {} : { reason }) }, actor);
}
