/**
 * @module processor/metrics
 * The processor's Prometheus metrics: the one place they are declared (main.ts feeds them from
 * the work loop's events).
 */
import { counter, defineMetrics, gauge, histogram, labelSets } from "../../shared/metrics";

const KINDS = labelSets({ kind: ["audio", "frame"] });
const OUTCOMES = labelSets({ kind: ["audio", "frame"], outcome: ["done", "retried", "failed", "claim_lost"] });
const STEPS = ["fetch", "decode", "vad", "transcribe", "faces", "quality", "write"] as const;

const declare = defineMetrics("processor", {
  items: counter("candid_processor_items_total", "Analysis items finished, by kind and outcome (done, retried, failed for good, claim_lost).", {
    labelNames: ["kind", "outcome"],
    initial: OUTCOMES,
  }),
  claimed: counter("candid_processor_claimed_items_total", "Items claimed from the metadata service's work queue, by kind.", { labelNames: ["kind"], initial: KINDS }),
  claimFailures: counter("candid_processor_claim_failures_total", "ClaimAnalysisWork calls that failed (metadata away or refusing)."),
  itemDuration: histogram("candid_processor_item_duration_seconds", "Time of one step of analysing an item, by kind and step.", {
    labelNames: ["kind", "step"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  }),
  itemTotal: histogram("candid_processor_item_seconds", "Time from claim to result written (or failure reported) of one item, by kind.", {
    labelNames: ["kind"],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  }),
  inFlight: gauge("candid_processor_in_flight", "Items being analysed now."),
});

export const processorMetrics = declare;
export const PROCESSOR_STEPS = STEPS;
export type ProcessorMetrics = ReturnType<typeof processorMetrics>;
