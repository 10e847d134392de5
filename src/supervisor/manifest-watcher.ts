/**
 * Watches the manifest and the envFiles it names (chokidar: editors save by rename-over, by truncate
 * and write, or by several writes), and reports a burst of changes once, after it has been quiet.
 */
import type { FSWatcher } from 'chokidar';

/** How long a file must be quiet before an edit is read: long enough for an editor's save to finish. */
export const EDIT_DEBOUNCE_MS = 200;

export interface ManifestWatcher {
  /** Replaces the set of watched files. */
  watch(files: readonly string[]): void;
  close(): Promise<void>;
}

/** Watches `files`; `onFirstChange` fires at the start of a burst, `onSettled` once it has been quiet. */
export async function watchManifest(
  files: readonly string[],
  handlers: { onFirstChange(): void; onSettled(files: string[]): void; onError(error: Error): void },
  debounceMs = EDIT_DEBOUNCE_MS,
): Promise<ManifestWatcher> {
  const { watch } = await import('chokidar');
  let watched = new Set(files);
  let timer: NodeJS.Timeout | undefined;
  let changed = new Set<string>();
  const watcher: FSWatcher = watch([...watched], { ignoreInitial: true, persistent: true });
  watcher.on('all', (_event, file) => {
    if (timer === undefined) handlers.onFirstChange();
    else clearTimeout(timer);
    changed.add(file);
    timer = setTimeout(() => {
      timer = undefined;
      const files = [...changed];
      changed = new Set();
      handlers.onSettled(files);
    }, debounceMs);
  });
  watcher.on('error', (error) => handlers.onError(error instanceof Error ? error : new Error(String(error))));
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    watch(next) {
      const wanted = new Set(next);
      const added = [...wanted].filter((f) => !watched.has(f));
      const removed = [...watched].filter((f) => !wanted.has(f));
      if (added.length) watcher.add(added);
      if (removed.length) watcher.unwatch(removed);
      watched = wanted;
    },
    async close() {
      if (timer !== undefined) clearTimeout(timer);
      await watcher.close();
    },
  };
}
