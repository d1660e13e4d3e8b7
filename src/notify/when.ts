// Custom triggers (pure): a `trigger.<name>` whose conditions are `when` expressions over the object, as Argo CD's and
// Argo Rollouts' notification controllers evaluate them (`app.status.health.status == 'Degraded'`,
// `rollout.status.phase in ['Degraded']`). The builtin trigger names keep their state-based firing (decide.ts); any
// other subscribed name fires here. A condition without `oncePer` fires once each time it turns true (its sent key is
// dropped when it turns false again); with `oncePer` it fires once per value of that expression.
import { Condition, ExpressionError, type Value } from '../analysis/expressions/evaluate.ts';
import type { KubeObject } from '../kube/client.ts';
import type { NotificationConfig, TriggerCondition } from './config.ts';

/** The sent-key prefix of custom triggers: `when:<held conditions>[=<oncePer values>]:<trigger>:<service>:<recipient>`. */
export const WHEN_PREFIX = 'when:';

export interface CustomFiring {
  /** trigger → oncePer key, for the triggers whose conditions hold now (merged with the builtin ones by the caller). */
  fired: Map<string, string>;
  /** trigger → the templates of the conditions that hold. */
  templates: Map<string, string[]>;
  /** Sent keys to drop: conditions without oncePer that no longer hold, so they fire again when they next turn true. */
  disarm: string[];
  /** A trigger key and why it cannot be evaluated (an Event names it). */
  errors: { key: string; message: string }[];
}

/** The name a trigger's expressions see the object under: Argo CD's `app`, Argo Rollouts' `rollout`. */
export const bindingName = (kind: 'rollout' | 'app'): string => (kind === 'app' ? 'app' : 'rollout');

/** Parsed conditions, cached by source: a reconcile evaluates the same few expressions again and again. */
const parsed = new Map<string, Condition | ExpressionError>();
function compile(source: string): Condition {
  let c = parsed.get(source);
  if (c === undefined) {
    try {
      c = Condition.parse(source);
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      c = err;
    }
    if (parsed.size > 1000) parsed.clear();
    parsed.set(source, c);
  }
  if (c instanceof ExpressionError) throw c;
  return c;
}

/** One condition's verdict: held (with its oncePer value, if any) or not. Throws ExpressionError. */
function judge(cond: TriggerCondition, bindings: Readonly<Record<string, Value>>): { held: boolean; oncePer?: string } {
  if (cond.when === undefined) throw new ExpressionError('parse', '', 'a custom trigger needs a when expression');
  const v = compile(cond.when).evaluateWith(bindings);
  if (typeof v !== 'boolean') throw new ExpressionError('type', cond.when, `when must evaluate to a boolean, got ${typeof v === 'object' ? 'an object' : String(v)}`);
  if (!v || cond.oncePer === undefined) return { held: v };
  const once = compile(cond.oncePer).evaluateWith(bindings);
  return { held: true, oncePer: once === undefined || once === null ? '' : typeof once === 'object' ? JSON.stringify(once) : String(once) };
}

/**
 * Evaluates the subscribed custom triggers of `obj` against the first config that defines each (the object's own
 * namespace first, as the caller orders them). `sentKeys`: the keys in the object's notified annotation.
 */
export function customTriggers(kind: 'rollout' | 'app', obj: KubeObject, triggers: readonly string[], configs: readonly NotificationConfig[], sentKeys: readonly string[]): CustomFiring {
  const out: CustomFiring = { fired: new Map(), templates: new Map(), disarm: [], errors: [] };
  // The object as plain data: what a condition reads is JSON (a KubeObject is a parsed API response).
  const bindings = { [bindingName(kind)]: obj as unknown as Value };
  for (const trigger of new Set(triggers)) {
    const conditions = configs.map((c) => c.triggers.get(trigger)).find((t) => t !== undefined);
    if (conditions === undefined) continue; // the caller reports "not configured" when it plans the send
    const held: string[] = [];
    const send = new Set<string>();
    let hasOncePer = false;
    try {
      conditions.forEach((cond, i) => {
        const v = judge(cond, bindings);
        hasOncePer ||= cond.oncePer !== undefined;
        if (!v.held) return;
        held.push(v.oncePer === undefined ? `c${i}` : `c${i}=${v.oncePer}`);
        for (const t of cond.send) send.add(t);
      });
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      out.errors.push({ key: `trigger.${trigger}`, message: `${err.message} (${bindingName(kind)} is the ${kind === 'app' ? 'Application' : 'Rollout'})` });
      continue;
    }
    if (held.length > 0) {
      out.fired.set(trigger, `${WHEN_PREFIX}${held.join(',')}`);
      out.templates.set(trigger, [...send]);
    } else if (!hasOncePer) {
      out.disarm.push(
        ...sentKeys.filter((k) => {
          if (!k.startsWith(WHEN_PREFIX)) return false;
          const [held, name] = k.slice(WHEN_PREFIX.length).split(':');
          return /^c\d+(,c\d+)*$/.test(held ?? '') && name === trigger;
        }),
      );
    }
  }
  return out;
}
