import { expect, test } from "bun:test";
import { AppError } from "../../shared/errors";
import { FakeMetadata } from "./fakes";
import { type Owner, SessionRegistry } from "./registry";

const A = "0f8fad5b-d9cb-469f-a165-70867728950e";
const B = "1f8fad5b-d9cb-469f-a165-70867728950e";

function setup() {
  const metadata = new FakeMetadata();
  const events: string[] = [];
  const reg = new SessionRegistry("gw-1", metadata, {
    held: (n) => events.push(`held:${n}`),
    takenOver: (w) => events.push(`taken:${w}`),
    failed: (c) => events.push(`failed:${c}`),
  });
  const owner = (name: string): Owner & { told: number } => {
    const o = { told: 0, takenOver: () => void o.told++, name };
    return o;
  };
  const open = async (sid: string, o: Owner) => {
    const { ownerEpoch } = await metadata.openSession({ sessionId: sid, interviewSessionId: null, userId: null, ownerInstance: "gw-1" });
    reg.claim(sid, ownerEpoch, o);
  };
  return { metadata, events, reg, owner, open };
}

test("held count, local takeover, remote takeover learnt from a renewal, release in metadata", async () => {
  const { metadata, events, reg, owner, open } = setup();
  const a1 = owner("a1");
  const a2 = owner("a2");
  const b = owner("b");
  await open(A, a1);
  await open(B, b);
  await open(A, a2); // a reconnect on this gateway
  expect(a1.told).toBe(1);
  expect(reg.size).toBe(2);
  metadata.takeOver(B, "gw-2"); // another replica
  await reg.renew();
  expect(b.told).toBe(1);
  expect(reg.holds(B)).toBe(false);
  reg.release(A, a1); // not the holder any more: nothing
  expect(reg.holds(A)).toBe(true);
  reg.release(A, a2);
  await reg.stop();
  expect(metadata.sessions.get(A)?.owner).toBeNull();
  expect(metadata.sessions.get(B)?.owner).toBe("gw-2");
  expect(events).toEqual(["held:1", "held:2", "held:2", "taken:local", "held:1", "taken:remote", "held:0"]);
});

test("a lease re-claimed while a renewal ran is not dropped by that renewal's answer", async () => {
  const { reg, owner, open } = setup();
  const first = owner("first");
  const second = owner("second");
  await open(A, first);
  const renewing = reg.renew(); // sends epoch 1
  await open(A, second); // epoch 2 before the answer is used
  await renewing;
  expect(reg.holds(A)).toBe(true);
  expect(second.told).toBe(0);
});

test("a failed renewal changes nothing and is reported", async () => {
  const metadata = new FakeMetadata({ fault: (op) => (op === "renew" ? new AppError("UPSTREAM_UNAVAILABLE") : null) });
  const failed: string[] = [];
  const reg = new SessionRegistry("gw-1", metadata, { held: () => {}, takenOver: () => {}, failed: (c) => failed.push(c) });
  const o = { takenOver: () => failed.push("told") };
  const { ownerEpoch } = await metadata.openSession({ sessionId: A, interviewSessionId: null, userId: null, ownerInstance: "gw-1" });
  reg.claim(A, ownerEpoch, o);
  await reg.renew();
  expect(failed).toEqual(["renew"]);
  expect(reg.holds(A)).toBe(true);
});
