import type { EventStatus } from '@gridseam/model';

/**
 * Allowed event status changes. Follows the IEEE 2030.5 event life cycle (Scheduled -> Active ->
 * completed, or Cancelled / Superseded at any point before the end); opted-out is the
 * participant's choice (OpenADR optIn/optOut) and can be reverted while the event is live.
 * completed, cancelled and superseded are final.
 */
const EVENT_TRANSITIONS: Readonly<Record<EventStatus, readonly EventStatus[]>> = {
  scheduled: ['active', 'cancelled', 'superseded', 'opted-out'],
  active: ['completed', 'cancelled', 'superseded', 'opted-out'],
  'opted-out': ['scheduled', 'active', 'completed', 'cancelled', 'superseded'],
  completed: [],
  cancelled: [],
  superseded: [],
};

export function canTransitionEvent(from: EventStatus, to: EventStatus): boolean {
  return EVENT_TRANSITIONS[from].includes(to);
}
