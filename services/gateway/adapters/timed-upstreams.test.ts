import { expect, test } from "bun:test";
import { AppError } from "../../shared/errors";
import { FakeMetadata, FakeStorage } from "../core/fakes";
import { METADATA_CALLS, timedMetadata, timedStorage } from "./timed-upstreams";

const SID = "0f8fad5b-d9cb-469f-a165-70867728950e";

function recorder() {
  const seen: string[] = [];
  return { seen, timer: { observe: (l: { upstream: string; method: string; outcome: string }, s: number) => seen.push(`${l.upstream}.${l.method}:${l.outcome}:${s >= 0}`) } };
}

test("every call is timed with its outcome; results and errors pass through unchanged", async () => {
  const { seen, timer } = recorder();
  const meta = new FakeMetadata();
  const m = timedMetadata(meta, timer);
  const opened = await m.openSession({ sessionId: SID, interviewSessionId: 1, userId: 2, storagePath: "x", ownerInstance: "gw" } as Parameters<typeof m.openSession>[0]);
  expect(opened.ownerEpoch).toBe(1);
  const err = await m.status("11111111-1111-4111-8111-111111111111").catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe("SESSION_NOT_FOUND");
  const s = timedStorage(new FakeStorage(), timer);
  await s.put({ sessionId: SID, kind: "audio", index: 0, mediaType: "audio/webm" }, new Uint8Array([1]), "a".repeat(64));
  expect(seen).toEqual(["metadata.openSession:ok:true", "metadata.status:SESSION_NOT_FOUND:true", "storage.put:ok:true"]);
  // The wrapper's state is the port's: fields stay readable through it.
  expect((m as FakeMetadata).opens).toBe(1);
});

test("the method list is the port's (compile-time), and every method exists on the real adapter", async () => {
  const { MetadataGrpcClient } = await import("./grpc-clients");
  for (const method of Object.keys(METADATA_CALLS)) expect(typeof (MetadataGrpcClient.prototype as unknown as Record<string, unknown>)[method]).toBe("function");
});
