"use client";

import { useCallback, useState } from "react";

export type LogTone = "info" | "sent" | "received" | "warn" | "error";

export interface LogEntry {
  id: number;
  at: number;
  tone: LogTone;
  text: string;
}

/** Newest entries kept; older ones drop off so a long session stays light. */
const MAX_ENTRIES = 200;
let nextId = 1;

export function useEventLog() {
  const [entries, setEntries] = useState<LogEntry[]>([]);
  const log = useCallback((tone: LogTone, text: string) => {
    const entry: LogEntry = { id: nextId++, at: Date.now(), tone, text };
    setEntries((previous) => [entry, ...previous].slice(0, MAX_ENTRIES));
  }, []);
  const clear = useCallback(() => setEntries([]), []);
  return { entries, log, clear };
}
