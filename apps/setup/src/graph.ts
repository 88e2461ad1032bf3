// Module order from declared dependencies (the original relied on line order and got it wrong).
import { SetupError } from './errors';

/** What the order needs of a module. */
export interface Node {
  id: string;
  dependsOn: readonly string[];
}

/**
 * Orders `wanted` and everything they depend on so that each comes after its dependencies; ties
 * keep the registry order.
 * @param all every known module, in registry order
 * @param wanted ids to include (with their dependencies); all when empty
 * @returns ids in apply order
 * @throws SetupError `SETUP_UNKNOWN_MODULE` for an unknown id (wanted or depended on),
 *   `SETUP_MODULE_CYCLE` naming the cycle
 * @example topoOrder([{ id: 'ssh', dependsOn: ['check'] }, { id: 'check', dependsOn: [] }], []) // ['check', 'ssh']
 */
export function topoOrder(all: readonly Node[], wanted: readonly string[]): string[] {
  const byId = new Map(all.map((n) => [n.id, n]));
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, path: string[]): void => {
    const node = byId.get(id);
    if (!node) {
      throw new SetupError(
        'SETUP_UNKNOWN_MODULE',
        path.length > 0
          ? `module ${path.at(-1)} depends on unknown module ${JSON.stringify(id)}`
          : `no module ${JSON.stringify(id)}; known: ${all.map((n) => n.id).join(', ')}`,
        { details: { module: id } },
      );
    }
    const seen = state.get(id);
    if (seen === 'done') return;
    if (seen === 'visiting') {
      const cycle = [...path.slice(path.indexOf(id)), id];
      throw new SetupError('SETUP_MODULE_CYCLE', `modules depend on each other in a circle: ${cycle.join(' → ')}`, {
        details: { cycle },
      });
    }
    state.set(id, 'visiting');
    for (const dep of node.dependsOn) visit(dep, [...path, id]);
    state.set(id, 'done');
    order.push(id);
  };
  for (const id of wanted.length > 0 ? wanted : all.map((n) => n.id)) visit(id, []);
  return order;
}
