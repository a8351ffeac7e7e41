import { type FSWatcher, watch } from "node:fs";

const DEBOUNCE_MS = 150;

/**
 * Calls `onChange` (debounced) when a source file under any of `dirs` changes. Test files are
 * ignored: they are not part of any handler bundle. A watcher that fails is reported, not fatal.
 */
export function watchSources(
  dirs: readonly string[],
  onChange: () => void,
  onError: (dir: string, error: Error) => void,
): { close(): void } {
  let timer: NodeJS.Timeout | undefined;
  const trigger = (filename: string | null) => {
    if (filename && (filename.endsWith(".test.ts") || !/\.(ts|mts|js|mjs|json)$/.test(filename))) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, DEBOUNCE_MS);
  };
  const watchers: FSWatcher[] = [];
  for (const dir of dirs) {
    try {
      const watcher = watch(dir, { recursive: true }, (_event, filename) => trigger(filename));
      watcher.on("error", (error) => onError(dir, error));
      watchers.push(watcher);
    } catch (error) {
      onError(dir, error as Error);
    }
  }
  return {
    close() {
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
