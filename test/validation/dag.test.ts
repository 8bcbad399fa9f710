import { describe, expect, it } from 'vitest';
import { findCycle, topologicalOrder, type DependencyGraph } from '../../operator/src/validation/dag.ts';

/** `{ a: ['b'] }` → a depends on b; keys keep their order, which the functions promise to respect. */
const graph = (edges: Record<string, string[]>): DependencyGraph => new Map(Object.entries(edges));

describe('findCycle', () => {
  it.each<[string, Record<string, string[]>]>([
    ['an empty graph', {}],
    ['nodes without edges', { a: [], b: [], c: [] }],
    ['a chain', { a: ['b'], b: ['c'], c: [] }],
    ['a diamond', { top: ['left', 'right'], left: ['bottom'], right: ['bottom'], bottom: [] }],
    ['two nodes sharing a dependency', { a: ['shared'], b: ['shared'], shared: [] }],
    ['edges to unknown nodes only', { a: ['ghost'], b: ['a', 'phantom'] }],
  ])('finds no cycle in %s', (_name, edges) => {
    expect(findCycle(graph(edges))).toBeNull();
  });

  it.each<[string, Record<string, string[]>, string[]]>([
    ['a self-loop', { a: ['a'] }, ['a', 'a']],
    ['a self-loop behind other nodes', { a: ['b'], b: ['b'] }, ['b', 'b']],
    ['a 2-cycle', { a: ['b'], b: ['a'] }, ['a', 'b', 'a']],
    ['a 3-cycle', { a: ['b'], b: ['c'], c: ['a'] }, ['a', 'b', 'c', 'a']],
    ['a 3-cycle inserted from another node', { c: ['a'], a: ['b'], b: ['c'] }, ['c', 'a', 'b', 'c']],
    ['a cycle reached through a node outside it', { entry: ['x'], x: ['y'], y: ['z'], z: ['x'] }, ['x', 'y', 'z', 'x']],
    ['a cycle among later nodes', { free: [], p: ['q'], q: ['p'] }, ['p', 'q', 'p']],
    ['a cycle next to an edge to an unknown node', { a: ['ghost', 'b'], b: ['a'] }, ['a', 'b', 'a']],
  ])('names %s as a closed path', (_name, edges, cycle) => {
    expect(findCycle(graph(edges))).toEqual(cycle);
  });

  it('names the first cycle in insertion order when there are several', () => {
    const edges = { a: ['b'], b: ['a'], c: ['d'], d: ['c'] };
    expect(findCycle(graph(edges))).toEqual(['a', 'b', 'a']);
    expect(findCycle(graph({ c: ['d'], d: ['c'], a: ['b'], b: ['a'] }))).toEqual(['c', 'd', 'c']);
  });

  it('names the same cycle on every call', () => {
    const g = graph({ api: ['db'], web: ['api', 'cache'], cache: ['web'], db: [] });
    const first = findCycle(g);
    expect(first).toEqual(['web', 'cache', 'web']);
    for (let i = 0; i < 5; i++) expect(findCycle(g)).toEqual(first);
  });

  it('follows dependencies in their listed order', () => {
    expect(findCycle(graph({ a: ['b', 'c'], b: ['a'], c: ['a'] }))).toEqual(['a', 'b', 'a']);
    expect(findCycle(graph({ a: ['c', 'b'], b: ['a'], c: ['a'] }))).toEqual(['a', 'c', 'a']);
  });
});

describe('topologicalOrder', () => {
  /** Every node with known dependencies comes after each of them. */
  const expectRespects = (edges: Record<string, string[]>, order: string[]) => {
    for (const [node, deps] of Object.entries(edges)) {
      for (const dep of deps) {
        if (dep in edges) expect(order.indexOf(dep), `${dep} before ${node}`).toBeLessThan(order.indexOf(node));
      }
    }
  };

  it.each<[string, Record<string, string[]>]>([
    ['a chain listed backwards', { a: ['b'], b: ['c'], c: [] }],
    ['a diamond', { top: ['left', 'right'], left: ['bottom'], right: ['bottom'], bottom: [] }],
    ['a wide fan-in', { deploy: ['backup', 'stop', 'migrate'], backup: [], stop: ['backup'], migrate: ['backup'] }],
    ['independent groups', { x2: ['x1'], y2: ['y1'], x1: [], y1: [] }],
  ])('orders %s so that dependencies come first', (_name, edges) => {
    const order = topologicalOrder(graph(edges));
    expect([...order].sort()).toEqual(Object.keys(edges).sort());
    expectRespects(edges, order);
  });

  it('places a chain exactly in dependency order', () => {
    expect(topologicalOrder(graph({ a: ['b'], b: ['c'], c: [] }))).toEqual(['c', 'b', 'a']);
  });

  it('keeps the insertion order of independent nodes', () => {
    expect(topologicalOrder(graph({ b: [], a: [], c: [] }))).toEqual(['b', 'a', 'c']);
  });

  it('leaves out dependencies on unknown nodes', () => {
    expect(topologicalOrder(graph({ a: ['ghost'], b: ['a'] }))).toEqual(['a', 'b']);
  });

  it('returns nothing for an empty graph', () => {
    expect(topologicalOrder(graph({}))).toEqual([]);
  });

  it.each<[string, Record<string, string[]>, string]>([
    ['a 2-cycle', { a: ['b'], b: ['a'] }, 'dependency cycle: a -> b -> a'],
    ['a self-loop', { solo: ['solo'] }, 'dependency cycle: solo -> solo'],
    ['a 3-cycle behind an acyclic node', { start: ['x'], x: ['y'], y: ['z'], z: ['x'] }, 'dependency cycle: x -> y -> z -> x'],
  ])('throws naming %s', (_name, edges, message) => {
    expect(() => topologicalOrder(graph(edges))).toThrow(message);
  });
});
