/**
 * Codec micro-benchmark: decodes per second for a few common models, from register images built
 * with encodeModel (every point implemented). A figure to watch, not a pass/fail target.
 * Run: `npx tsx packages/sunspec/bench/codec.bench.ts [--ms 1000]`.
 */
import { performance } from 'node:perf_hooks';
import { decodeModel, encodeModel, getModelDefinition } from '../src/codec/index.ts';
import type { GroupDef, GroupValues, PointValue } from '../src/codec/types.ts';

const MODELS = [1, 103, 701, 802];
const msArg = process.argv.indexOf('--ms');
const budgetMs = msArg >= 0 ? Number(process.argv[msArg + 1]) : 1000;

/** Plausible values: 1 for sunssf points (raw 0 keeps sf simple), small integers, short strings. */
function values(group: GroupDef): GroupValues {
  const points: Record<string, PointValue> = {};
  let n = 1;
  for (const p of group.points) {
    if (p.name === 'ID' || p.name === 'L') continue;
    n++;
    if (p.type === 'sunssf') points[p.name] = -1;
    else if (p.type === 'string') points[p.name] = `${p.name}-${n}`;
    else if (p.type === 'pad') points[p.name] = null;
    else if (p.type === 'ipaddr') points[p.name] = `10.0.0.${n % 250}`;
    else if (p.type === 'ipv6addr') points[p.name] = 'fe80::1';
    else if (p.type === 'eui48') points[p.name] = '02:00:00:00:00:01';
    else if (p.type === 'float32' || p.type === 'float64') points[p.name] = n + 0.5;
    else points[p.name] = typeof p.sf === 'string' ? n / 10 : n;
  }
  return { points, groups: {} };
}

for (const id of MODELS) {
  const def = getModelDefinition(id);
  if (!def) throw new Error(`model ${id} is not in the bundle`);
  const block = encodeModel(def, values(def.group));
  // Warm-up, then timed rounds of 1000 decodes until the budget is spent.
  for (let i = 0; i < 20_000; i++) decodeModel(def, block, { start: 40000 });
  let decodes = 0;
  let sink = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < budgetMs) {
    for (let i = 0; i < 1000; i++) sink += decodeModel(def, block, { start: 40000 }).length;
    decodes += 1000;
    elapsed = performance.now() - t0;
  }
  const perSecond = Math.round((decodes / elapsed) * 1000);
  const points = def.group.points.length;
  console.log(
    `model ${String(id).padEnd(4)} ${def.group.name.padEnd(20)} L=${String(block.length - 2).padEnd(4)} points=${String(points).padEnd(4)} ${perSecond.toLocaleString('en-US').padStart(10)} decodes/s${sink < 0 ? '!' : ''}`,
  );
}
