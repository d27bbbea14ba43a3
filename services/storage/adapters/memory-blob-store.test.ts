import { blobStoreContract } from "../../../test/contract/blob-store.contract";
import { MemoryBlobStore } from "./memory-blob-store";

blobStoreContract("MemoryBlobStore", async () => ({ store: new MemoryBlobStore(), cleanup: async () => {} }));
