// Runs one async task per item with at most `limit` in flight, in item order. Once a task fails, no new task starts;
// the ones in flight finish. The client's rate limiter still paces the requests the tasks send.
export async function forEachBounded<T>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const errors: { index: number; err: unknown }[] = [];
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        await task(items[i] as T, i);
      } catch (err) {
        failed = true;
        errors.push({ index: i, err });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  // The failure of the earliest item is the one reported, as a serial loop would have.
  errors.sort((a, b) => a.index - b.index);
  if (errors.length > 0) throw errors[0]!.err;
}
