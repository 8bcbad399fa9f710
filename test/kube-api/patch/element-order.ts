/**
 * `$setElementOrder/<list>`: the order a strategic merge patch asks for. Items the directive names come in
 * its order; items it does not name (server-only items, which the client did not know about) keep their
 * place relative to the live list: each goes before the first ordered item that followed it in the live
 * list, or at the end. That is the "best effort" interleaving the real server describes; items new to the
 * list and missing from the directive (which the real server rejects) go to the end.
 */

export function applyElementOrder<T>(items: T[], live: readonly T[], orderIds: readonly string[], id: (item: T) => string): T[] {
  const rank = new Map<string, number>();
  orderIds.forEach((orderId, i) => {
    if (!rank.has(orderId)) rank.set(orderId, i);
  });
  const liveIndex = new Map<string, number>();
  live.forEach((item, i) => {
    if (!liveIndex.has(id(item))) liveIndex.set(id(item), i);
  });
  const result = items.filter((item) => rank.has(id(item))).sort((a, b) => rank.get(id(a))! - rank.get(id(b))!);
  const rest = items.filter((item) => !rank.has(id(item)));
  let from = 0;
  for (const item of rest) {
    const mine = liveIndex.get(id(item));
    let at = result.length;
    if (mine !== undefined) {
      for (let i = from; i < result.length; i++) {
        const other = liveIndex.get(id(result[i]!));
        if (other !== undefined && other > mine) {
          at = i;
          break;
        }
      }
    }
    result.splice(at, 0, item);
    from = at + 1;
  }
  return result;
}
