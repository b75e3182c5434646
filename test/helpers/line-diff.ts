/** Lines removed from `before` and added in `after`, outside their common prefix and suffix. */
export function lineDiff(before: string, after: string): { at: number; removed: string[]; added: string[] } {
  const a = before.split(/\r?\n/);
  const b = after.split(/\r?\n/);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  return { at: start, removed: a.slice(start, endA), added: b.slice(start, endB) };
}
