/**
 * Which subscriptions a committed change concerns, and the notification each gets (Definition §Subscriptions;
 * `notification` schema). A subscription matches when one of its objectOperations names the object's type and
 * the operation (CREATE, UPDATE, DELETE), its programID (if any) is the object's program, and its owner may see
 * the object: BL everything, a VEN its own objects and the programs and events targeted at it, evaluated with
 * the subscription's targets as request targets (3.1.0 §Object Privacy "When evaluating whether to send a
 * notification ..."). The object is rendered as that subscriber would read it (target hiding).
 *
 * The notification's `operation` is CREATE/UPDATE/DELETE in 3.1.0 and the HTTP verb POST/PUT/DELETE in 3.0.1
 * (its notification.operation enum). One notification per distinct callbackUrl per subscription.
 */
import { subscriptionTargetFilter } from './access.ts';
import type { VtnAuth } from './auth.ts';
import { type JsonObject, type Oadr3Version, OBJECT_TYPES, type VtnPrincipal } from './contract.ts';
import type { ChangeOperation, ObjectChange, ObjectService } from './objects.ts';
import type { Entry, VtnState } from './state.ts';
import type { WebhookSender } from './webhooks.ts';

const VERB_301: Readonly<Record<ChangeOperation, string>> = { CREATE: 'POST', UPDATE: 'PUT', DELETE: 'DELETE' };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class Notifier {
  constructor(
    private readonly version: Oadr3Version,
    private readonly state: VtnState,
    private readonly objects: ObjectService,
    private readonly auth: VtnAuth,
    private readonly sender: WebhookSender,
  ) {}

  /** The subscriber of a subscription entry. */
  #subscriber(subscription: Entry): VtnPrincipal {
    const object = subscription.doc.object;
    const owner = subscription.doc.owner;
    const clientId = typeof object.clientID === 'string' ? object.clientID : (owner?.clientId ?? '');
    return this.auth.principalFor(clientId, owner?.role ?? 'ven', owner?.venName);
  }

  /** Queues the notifications a committed change causes. Never throws (a failure is the sender's to log). */
  changed(changes: readonly ObjectChange[]): void {
    for (const change of changes)
      if (change.entry.kind === 'subscription' && change.operation === 'DELETE') this.sender.forget(change.entry.id);
    if (changes.length === 0 || this.state.count('subscription') === 0) return;
    const subscriptions = [...this.state.all('subscription')];
    for (const subscription of subscriptions) {
      const object = subscription.doc.object;
      const operations = Array.isArray(object.objectOperations) ? object.objectOperations : [];
      if (operations.length === 0) continue;
      let subscriber: VtnPrincipal | undefined;
      let granted: ReadonlySet<string> | undefined;
      const filter = subscriptionTargetFilter(this.version, object);
      const programId = typeof object.programID === 'string' ? object.programID : undefined;
      for (const change of changes) {
        const objectType = OBJECT_TYPES[change.entry.kind];
        const targets = new Map<string, string | undefined>();
        for (const operation of operations) {
          if (!isObject(operation) || typeof operation.callbackUrl !== 'string') continue;
          const objects = Array.isArray(operation.objects) ? operation.objects : [];
          const verbs = Array.isArray(operation.operations) ? operation.operations : [];
          if (!objects.includes(objectType) || !verbs.includes(change.operation)) continue;
          if (!targets.has(operation.callbackUrl))
            targets.set(
              operation.callbackUrl,
              typeof operation.bearerToken === 'string' ? operation.bearerToken : undefined,
            );
        }
        if (targets.size === 0) continue;
        if (programId !== undefined && change.entry.kind !== 'ven' && change.entry.kind !== 'resource') {
          if (this.objects.programOf(change.entry) !== programId) continue;
        }
        subscriber ??= this.#subscriber(subscription);
        const targeted = change.entry.kind === 'program' || change.entry.kind === 'event';
        if (targeted && subscriber.role === 'ven') granted ??= this.objects.access.grantedTargets(subscriber);
        const viewed = this.objects.view(change.entry, subscriber, targeted ? filter : undefined, granted);
        if (viewed === undefined) continue;
        const notification: JsonObject = {
          objectType,
          operation: this.version === '3.0.1' ? VERB_301[change.operation] : change.operation,
          object: viewed,
        };
        if (targeted && Array.isArray(viewed.targets) && viewed.targets.length > 0)
          notification.targets = viewed.targets;
        const body = JSON.stringify(notification);
        for (const [url, bearerToken] of targets) this.sender.enqueue(subscription.id, url, bearerToken, body);
      }
    }
  }
}
