/** Directed graphs of named nodes (tasks, apps): cycle detection and topological order, without I/O. */

/** Edges: node → the nodes it depends on. */
export type DependencyGraph = ReadonlyMap<string, readonly string[]>;

/**
 * The first cycle found, as a closed path `[a, b, c, a]` meaning a depends on b, b on c, c on a; or null.
 * Nodes are visited in insertion order so the same graph always names the same cycle.
 */
export function findCycle(graph: DependencyGraph): string[] | null {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    const seen = state.get(node);
    if (seen === 'done') return null;
    if (seen === 'visiting') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'visiting');
    stack.push(node);
    for (const dep of graph.get(node) ?? []) {
      if (!graph.has(dep)) continue;
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

/** Nodes ordered so that every node comes after its dependencies; throws on a cycle. */
export function topologicalOrder(graph: DependencyGraph): string[] {
  const cycle = findCycle(graph);
  if (cycle) throw new Error(`dependency cycle: ${cycle.join(' -> ')}`);
  const order: string[] = [];
  const placed = new Set<string>();
  const place = (node: string): void => {
    if (placed.has(node)) return;
    placed.add(node);
    for (const dep of graph.get(node) ?? []) if (graph.has(dep)) place(dep);
    order.push(node);
  };
  for (const node of graph.keys()) place(node);
  return order;
}
