/**
 * Event rules of the 2.0b VEN, pure (the instant and the random draw are passed in).
 *
 * - Status now (ei:EventStatusEnumeratedType far / near / active / completed / cancelled): cancelled when the VTN
 *   says so (or the event vanished from a later distribution), completed after the active period (start + the
 *   VEN's randomisation offset + duration; duration 0 = open-ended), active inside it, near within the ramp-up
 *   (x-eiRampUp) or notification (x-eiNotification) period before the start or when the VTN says near, far before.
 * - What needs an answer (oadrResponseRequired 'always'): a new event or a new modificationNumber, once; an older
 *   modificationNumber is stale and ignored; events already over when they arrive are not answered (their
 *   outcome cannot change).
 * - Randomisation (xcal tolerance/tolerate/startafter): one uniform draw in [0, startafter] per event, kept
 *   across modifications and restarts.
 */

import { activeEnd } from '../canonical.ts';
import type { EventStatus, OadrEvent } from '../codec/types.ts';
import type { OptWindow } from './state.ts';

export type VenEventStatus = 'far' | 'near' | 'active' | 'completed' | 'cancelled';

/** The effective start of an event, epoch ms. */
export function effectiveStart(event: OadrEvent, offsetS: number): number {
  return event.eiActivePeriod.dtstart + Math.max(0, offsetS) * 1000;
}

/** The effective end of an event, epoch ms. */
export function effectiveEnd(event: OadrEvent, offsetS: number): number {
  return activeEnd(event) + Math.max(0, offsetS) * 1000;
}

export function eventStatusAt(event: OadrEvent, vtnStatus: EventStatus, offsetS: number, now: number): VenEventStatus {
  if (vtnStatus === 'cancelled') return 'cancelled';
  if (vtnStatus === 'completed') return 'completed';
  const start = effectiveStart(event, offsetS);
  const end = effectiveEnd(event, offsetS);
  if (now >= end) return 'completed';
  if (now >= start) return 'active';
  const lead = Math.max(event.eiActivePeriod.rampUp ?? 0, event.eiActivePeriod.notification ?? 0) * 1000;
  if (vtnStatus === 'near' || vtnStatus === 'active' || (lead > 0 && now >= start - lead)) return 'near';
  return 'far';
}

/** The next instant after `now` at which the status of the event can change by itself, or undefined. */
export function nextStatusChange(event: OadrEvent, offsetS: number, now: number): number | undefined {
  const start = effectiveStart(event, offsetS);
  const lead = Math.max(event.eiActivePeriod.rampUp ?? 0, event.eiActivePeriod.notification ?? 0) * 1000;
  const candidates = [start - lead, start, effectiveEnd(event, offsetS)].filter((t) => t > now);
  return candidates.length === 0 ? undefined : Math.min(...candidates);
}

/** The randomisation draw for an event: uniform in [0, startafter] seconds, whole seconds. */
export function drawStartOffset(event: OadrEvent, random: () => number): number {
  const window = event.eiActivePeriod.startafter ?? 0;
  if (!(window > 0)) return 0;
  return Math.min(window, Math.floor(random() * (window + 1)));
}

/** Whether an event's effective window overlaps any of the windows (half-open intervals). */
export function overlapsWindows(event: OadrEvent, offsetS: number, windows: readonly OptWindow[]): boolean {
  const start = effectiveStart(event, offsetS);
  const end = effectiveEnd(event, offsetS);
  return windows.some((w) => w.start < end && start < w.start + w.durationS * 1000);
}

/** Whether a testEvent value marks a test event (any value other than "false", conformance). */
export function isTestEvent(event: OadrEvent): boolean {
  const value = event.eventDescriptor.testEvent;
  return value !== undefined && value.trim().toLowerCase() !== 'false';
}
