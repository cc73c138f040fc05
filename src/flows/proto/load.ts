// Loads the observer/flow .proto subset with @grpc/proto-loader. keepCase is on so decoded
// objects use the proto field names (source_port, pod_name, drop_reason_desc…) exactly like
// Hubble's JSON output, and one normalizer reads both.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ProtoDecoder } from './decode.js';

// The .proto files sit next to this module: in src/ in a checkout, copied into dist/ by `npm run build`.
export const PROTO_DIR = fileURLToPath(new URL('.', import.meta.url));
export const PROTO_FILES = ['observer.proto', 'flow.proto'] as const;

/** proto-loader only says ENOENT when a file is missing: name the directory and the fix instead. */
export function checkProtoFiles(dir: string): void {
  const missing = PROTO_FILES.filter((file) => !existsSync(join(dir, file)));
  if (missing.length > 0) {
    throw new Error(`${missing.join(', ')} missing from ${dir}: the build copies the .proto files next to the compiled code (npm run build)`);
  }
}

export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: false,
  includeDirs: [PROTO_DIR],
};

export interface ObserverPackage {
  definition: protoLoader.PackageDefinition;
  service: grpc.ServiceDefinition;
  /** Client constructor for observer.Observer. */
  Client: grpc.ServiceClientConstructor;
}

let cached: ObserverPackage | undefined;

export function loadObserver(): ObserverPackage {
  if (cached) return cached;
  checkProtoFiles(PROTO_DIR);
  const definition = protoLoader.loadSync('observer.proto', PROTO_LOADER_OPTIONS);
  // Flows arrive by the thousand per second: decode them straight into plain objects (same result
  // as proto-loader's decode + toObject, a third cheaper; see decode.ts). grpc-js uses this definition.
  const getFlows = (definition['observer.Observer'] as protoLoader.ServiceDefinition).GetFlows as protoLoader.MethodDefinition<object, object>;
  getFlows.responseDeserialize = new ProtoDecoder(definition).decoderFor('observer.GetFlowsResponse');
  const loaded = grpc.loadPackageDefinition(definition) as unknown as { observer: { Observer: grpc.ServiceClientConstructor } };
  cached = { definition, service: loaded.observer.Observer.service, Client: loaded.observer.Observer };
  return cached;
}

/** protobuf Timestamp from epoch ms (fraction of ms kept to the microsecond). */
export function toTimestamp(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1000) * 1000;
  return nanos >= 1_000_000_000 ? { seconds: seconds + 1, nanos: 0 } : { seconds, nanos };
}

export function fromTimestamp(ts: unknown): number | undefined {
  if (typeof ts !== 'object' || ts === null) return undefined;
  const { seconds, nanos } = ts as { seconds?: unknown; nanos?: unknown };
  const s = typeof seconds === 'string' ? Number(seconds) : typeof seconds === 'number' ? seconds : 0;
  const n = typeof nanos === 'number' ? nanos : 0;
  return Number.isFinite(s) ? s * 1000 + n / 1e6 : undefined;
}
