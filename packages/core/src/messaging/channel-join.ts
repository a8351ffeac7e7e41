import { setTimeout as sleep } from "node:timers/promises";
import { type ChannelStore, type HistoryEntry, type SequenceState, staleMarks } from "../channel/index";
import { CHANNEL_JOIN, CHANNELS } from "../constants/index";
import { frames, type JsonValue } from "../protocol/index";
import type { Messenger } from "./messenger";

/**
 * The second half of a `subscribe`: replay, then hand the connection over to live events, so that it
 * gets every event after its starting point exactly once and in seq order.
 *
 * The connection was marked *joining* on the channel's sequence row before its subscription row was
 * written (the counter stood at `joined.seq` then, and the row records it as `fromSeq`). A publish
 * never sends live an event whose seq is at most `fromSeq`, nor one whose seq it took while the
 * connection was joining. So the replay owns every event up to the seq at which the mark is cleared,
 * and the mark is cleared only while the counter still stands at the last seq replayed: the publishes
 * that take the following seqs find no mark, see the subscription (strongly consistent Query after
 * their ADD) and send live, after the replay has been sent.
 */

export interface JoinContext {
  store: ChannelStore;
  messenger: Messenger;
  now: () => number;
}

export interface HandOffReport {
  /** Events sent by the replay. */
  replayed: number;
  /** Replay rounds before the mark was cleared. */
  rounds: number;
  /** Seqs the replay voided: taken by a publish that did not store its event in time. */
  voided: number;
  /** The hand-off was forced after CHANNEL_JOIN.handoffRounds (live events may then overtake the last replay). */
  forced: boolean;
  /** The connection turned out gone (410) during the replay, which stopped there; the mark is left to the caller. */
  gone: boolean;
}

/** Poll delays while waiting for the history rows of publishes in flight (sums to CHANNEL_JOIN.waitMs). */
function waitSchedule(): number[] {
  const delays: number[] = [];
  let total = 0;
  for (let delay = 10; total < CHANNEL_JOIN.waitMs; delay = Math.min(delay * 2, 250)) {
    const step = Math.min(delay, CHANNEL_JOIN.waitMs - total);
    delays.push(step);
    total += step;
  }
  return delays;
}
const WAIT_SCHEDULE = waitSchedule();

export async function replayAndHandOff(
  { store, messenger, now }: JoinContext,
  connectionId: string,
  channel: string,
  joined: SequenceState,
  since: number | undefined,
): Promise<HandOffReport> {
  const report: HandOffReport = { replayed: 0, rounds: 0, voided: 0, forced: false, gone: false };

  /**
   * Whether a seq with no history row may still get one: its publish took it recently and may be
   * storing it right now. Not when a later seq was taken longer ago than any invocation lives, nor
   * when it is too far behind the head to be a publish in flight.
   */
  function mayBeInFlight(seq: number, latest: number, rows: readonly HistoryEntry[]): boolean {
    if (seq <= latest - CHANNELS.historyEvents) return false;
    const cutoff = now() - CHANNEL_JOIN.inFlightMs;
    if (seq <= joined.seq && joined.takenAt !== undefined && joined.takenAt <= cutoff) return false;
    return !rows.some((row) => row.seq > seq && row.sentAt <= cutoff);
  }

  /** History rows in (after, upTo], after waiting for (and at worst voiding) seqs still being stored. */
  async function rowsOf(after: number, upTo: number): Promise<HistoryEntry[]> {
    let rows = await store.retained(channel, after, upTo);
    const pending = () => {
      const present = new Set(rows.map((row) => row.seq));
      const missing: number[] = [];
      for (let seq = after + 1; seq <= upTo; seq++) {
        if (!present.has(seq) && mayBeInFlight(seq, upTo, rows)) missing.push(seq);
      }
      return missing;
    };
    for (const delay of WAIT_SCHEDULE) {
      if (pending().length === 0) return rows;
      await sleep(delay);
      rows = await store.retained(channel, after, upTo);
    }
    // Still missing: void them, so that a publish that stores one late fails instead of going unseen.
    let lost = false;
    for (const seq of pending()) {
      if (await store.voidSeq(channel, seq)) report.voided += 1;
      else lost = true; // stored after all, just now
    }
    return lost ? store.retained(channel, after, upTo) : rows;
  }

  /** Sends one frame of the replay; notes when the connection is gone (the replay then stops). */
  async function send(frame: Parameters<Messenger["toConnection"]>[1]): Promise<boolean> {
    if ((await messenger.toConnection(connectionId, frame)).gone > 0) report.gone = true;
    return !report.gone;
  }

  async function replay(after: number, upTo: number, withGap: boolean): Promise<void> {
    const rows = await rowsOf(after, upTo);
    const oldest = rows[0]?.seq ?? upTo + 1;
    if (withGap && oldest > after + 1 && !(await send(frames.gap(channel, after, oldest)))) return;
    // One after another: the order of the frames is the order of the events.
    for (const row of rows) {
      if (row.voided) continue;
      if (!(await send(frames.event(channel, row.seq, row.from, row.data as JsonValue, row.sentAt)))) return;
      report.replayed += 1;
    }
  }

  let covered = since ?? joined.seq;
  let first = since !== undefined;
  let target = joined.seq;
  const stale = staleMarks(joined, now());
  for (; report.rounds < CHANNEL_JOIN.handoffRounds; report.rounds++) {
    if (target > covered) {
      await replay(covered, target, first);
      if (report.gone) return report;
      first = false;
      covered = target;
    }
    if (await store.endJoin(channel, connectionId, target, stale)) return report;
    target = Math.max(target, (await store.sequence(channel)).seq);
  }
  // The channel keeps publishing faster than a round: hand off now. Everything up to the seq the
  // counter stood at is replayed (exactly once still); later live events may overtake that replay.
  report.forced = true;
  const last = await store.forceEndJoin(channel, connectionId);
  if (last > covered) await replay(covered, last, first);
  return report;
}
