// A protobuf decoder that reads the wire format straight into plain objects, driven by the message
// descriptors @grpc/proto-loader already holds. It gives the same objects as proto-loader's own
// deserializer with PROTO_LOADER_OPTIONS (protobufjs decode, then toObject with keepCase, longs as
// Number, enums as String, no defaults, no oneof virtuals) without building the protobufjs message
// and then copying it: on the collector's hot path that intermediate copy and its Long objects cost
// about a third of the decoding. Differences: keys come in wire order rather than declaration order
// (same keys, same values), for well-formed messages. Malformed input (truncated, lengths past the
// end, bad wire types) throws, as protobufjs does (grpc-js then ends the call); a known field sent
// with the wrong wire type is skipped like an unknown one.
import type * as protoLoader from '@grpc/proto-loader';

type Kind =
  | 'double' | 'float' | 'int64' | 'uint64' | 'int32' | 'fixed64' | 'fixed32' | 'bool' | 'string'
  | 'message' | 'bytes' | 'uint32' | 'enum' | 'sfixed32' | 'sfixed64' | 'sint32' | 'sint64';

interface FieldSpec {
  name: string;
  kind: Kind;
  repeated: boolean;
  /** The wire type the field is written with, and whether it may also come packed (wire type 2). */
  wireType: number;
  packable: boolean;
  /** Message fields: the nested message's fields; enum fields: number → name. */
  message?: MessageSpec;
  enumNames?: Map<number, string>;
}

interface MessageSpec {
  /** Field numbers below DENSE_LIMIT in an array (fast), the rest (Cilium's 1000, 21001…) in a Map. */
  dense: (FieldSpec | undefined)[];
  sparse: Map<number, FieldSpec>;
}

const DENSE_LIMIT = 128;

const WIRE_TYPE: Record<Kind, number> = {
  double: 1, fixed64: 1, sfixed64: 1,
  float: 5, fixed32: 5, sfixed32: 5,
  string: 2, bytes: 2, message: 2,
  int64: 0, uint64: 0, int32: 0, uint32: 0, bool: 0, enum: 0, sint32: 0, sint64: 0,
};

interface FieldDescriptor {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}

/** `TYPE_UINT64` → `uint64`. */
function kindOf(type: string): Kind {
  return type.slice(5).toLowerCase() as Kind;
}

export class WireError extends Error {}

export class ProtoDecoder {
  private readonly specs = new Map<string, MessageSpec>();

  constructor(private readonly definition: protoLoader.PackageDefinition) {}

  /** A function from the wire bytes of `typeName` (e.g. `observer.GetFlowsResponse`) to a plain object. */
  decoderFor(typeName: string): (bytes: Uint8Array) => Record<string, unknown> {
    const spec = this.spec(typeName);
    return (bytes) => {
      const reader = new Reader(bytes);
      return reader.message(spec, bytes.length);
    };
  }

  private spec(typeName: string): MessageSpec {
    const known = this.specs.get(typeName);
    if (known) return known;
    const entry = this.definition[typeName] as { type?: { field?: FieldDescriptor[] } } | undefined;
    if (!entry?.type?.field) throw new Error(`unknown message type ${typeName}`);
    const spec: MessageSpec = { dense: [], sparse: new Map() };
    this.specs.set(typeName, spec); // before the fields, so recursive messages resolve
    const pkg = typeName.slice(0, typeName.lastIndexOf('.'));
    for (const field of entry.type.field) {
      const kind = kindOf(field.type);
      const repeated = field.label === 'LABEL_REPEATED';
      const wireType = WIRE_TYPE[kind];
      const fieldSpec: FieldSpec = { name: field.name, kind, repeated, wireType, packable: repeated && wireType !== 2 };
      if (kind === 'message') fieldSpec.message = this.spec(this.resolve(field.typeName, pkg));
      if (kind === 'enum') fieldSpec.enumNames = this.enumNames(this.resolve(field.typeName, pkg));
      if (field.number < DENSE_LIMIT) spec.dense[field.number] = fieldSpec;
      else spec.sparse.set(field.number, fieldSpec);
    }
    for (let i = 0; i < DENSE_LIMIT; i++) spec.dense[i] ??= undefined; // packed array, no holes
    return spec;
  }

  /** Type names in descriptors are relative to the referring message's package or fully qualified. */
  private resolve(name: string, pkg: string): string {
    const bare = name.startsWith('.') ? name.slice(1) : name;
    if (pkg && this.definition[`${pkg}.${bare}`]) return `${pkg}.${bare}`;
    if (this.definition[bare]) return bare;
    throw new Error(`unknown type ${name} referenced from ${pkg}`);
  }

  private enumNames(typeName: string): Map<number, string> {
    const entry = this.definition[typeName] as { type?: { value?: { name: string; number: number }[] } } | undefined;
    const names = new Map<number, string>();
    // First name wins for aliases, as protobufjs's values-by-id table does.
    for (const value of entry?.type?.value ?? []) if (!names.has(value.number)) names.set(value.number, value.name);
    return names;
  }
}

const TWO_32 = 4294967296;

// Buffer's utf8Slice (what protobufjs uses too) skips toString's encoding dispatch; a few strings per field add up.
type FastBuffer = Buffer & { utf8Slice?: (start: number, end: number) => string };

function utf8(buf: FastBuffer, start: number, end: number): string {
  return buf.utf8Slice ? buf.utf8Slice(start, end) : buf.toString('utf8', start, end);
}

class Reader {
  pos = 0;
  private readonly view: DataView;
  private readonly buf: Buffer;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  private fail(what: string): never {
    throw new WireError(`invalid protobuf: ${what} at offset ${this.pos}`);
  }

  /** Varint as an unsigned 32-bit number (higher bits dropped, like protobufjs's uint32()). */
  uint32(): number {
    const buf = this.buf;
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= buf.length) this.fail('truncated varint');
      const b = buf[this.pos++] as number;
      if (shift < 32) value |= (b & 0x7f) << shift;
      if (b < 0x80) return value >>> 0;
    }
    // 64-bit varints (negative int32s): skip the remaining bytes, keep the low 32 bits.
    for (let i = 0; i < 5; i++) {
      if (this.pos >= buf.length) this.fail('truncated varint');
      if ((buf[this.pos++] as number) < 0x80) return value >>> 0;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** Varint as [low 32 bits, high 32 bits], both unsigned. */
  private varint64(): [number, number] {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= buf.length) this.fail('truncated varint');
      const b = buf[this.pos++] as number;
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if (b < 0x80) return [lo >>> 0, hi >>> 0];
    }
    return this.fail('varint longer than 10 bytes');
  }

  private fixed32(): number {
    if (this.pos + 4 > this.buf.length) this.fail('truncated fixed32');
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** The Number protobufjs's LongBits.toNumber gives (precision lost above 2^53, as there). */
  private static longToNumber(lo: number, hi: number, signed: boolean): number {
    if (signed && hi >>> 31) {
      let nlo = (~lo + 1) >>> 0;
      let nhi = ~hi >>> 0;
      if (!nlo) nhi = (nhi + 1) >>> 0;
      nlo = nlo >>> 0;
      return -(nlo + nhi * TWO_32);
    }
    return lo + hi * TWO_32;
  }

  private scalar(kind: Kind): unknown {
    switch (kind) {
      case 'string': {
        const end = this.lengthEnd();
        const start = this.pos;
        this.pos = end;
        return start === end ? '' : utf8(this.buf, start, end);
      }
      case 'uint32':
        return this.uint32();
      case 'int32':
        return this.uint32() | 0;
      case 'enum':
        return this.uint32() | 0;
      case 'bool':
        return this.uint32() !== 0; // low 32 bits, as protobufjs's bool()
      case 'sint32': {
        const v = this.uint32();
        return ((v >>> 1) ^ -(v & 1)) | 0;
      }
      case 'uint64': {
        const [lo, hi] = this.varint64();
        return Reader.longToNumber(lo, hi, false);
      }
      case 'int64': {
        const [lo, hi] = this.varint64();
        return Reader.longToNumber(lo, hi, true);
      }
      case 'sint64': {
        const [lo, hi] = this.varint64();
        // zigzag decode on the 64-bit pair
        const mask = -(lo & 1);
        const dlo = (((lo >>> 1) | (hi << 31)) ^ mask) >>> 0;
        const dhi = ((hi >>> 1) ^ mask) >>> 0;
        return Reader.longToNumber(dlo, dhi, true);
      }
      case 'fixed32':
        return this.fixed32();
      case 'sfixed32':
        return this.fixed32() | 0;
      case 'fixed64':
      case 'sfixed64': {
        const lo = this.fixed32();
        const hi = this.fixed32();
        return Reader.longToNumber(lo, hi, kind === 'sfixed64');
      }
      case 'float': {
        if (this.pos + 4 > this.buf.length) this.fail('truncated float');
        const v = this.view.getFloat32(this.pos, true);
        this.pos += 4;
        return v;
      }
      case 'double': {
        if (this.pos + 8 > this.buf.length) this.fail('truncated double');
        const v = this.view.getFloat64(this.pos, true);
        this.pos += 8;
        return v;
      }
      case 'bytes': {
        const end = this.lengthEnd();
        const start = this.pos;
        this.pos = end;
        return this.buf.subarray(start, end);
      }
      default:
        return this.fail(`unsupported field kind ${kind}`);
    }
  }

  /** Reads a length prefix and returns where the value ends (checked against the buffer). */
  private lengthEnd(): number {
    const length = this.uint32();
    const end = this.pos + length;
    if (end > this.buf.length) this.fail('length beyond the end of the message');
    return end;
  }

  message(spec: MessageSpec, end: number): Record<string, unknown> {
    const object: Record<string, unknown> = {};
    while (this.pos < end) {
      const tag = this.uint32();
      const number = tag >>> 3;
      const wireType = tag & 7;
      const field = number < DENSE_LIMIT ? spec.dense[number] : spec.sparse.get(number);
      // Precomputed per field: a wire-type check costs two comparisons.
      if (!field || (wireType !== field.wireType && !(field.packable && wireType === 2))) {
        this.skip(wireType, number);
        continue;
      }
      if (field.kind === 'message') {
        const stop = this.lengthEnd();
        const value = this.message(field.message as MessageSpec, stop);
        if (this.pos !== stop) this.fail('nested message overruns its length');
        if (field.repeated) this.push(object, field.name, value);
        else object[field.name] = value; // a repeated singular message replaces, as protobufjs decode does
        continue;
      }
      if (field.packable && wireType === 2) {
        // Packed repeated scalars.
        const stop = this.lengthEnd();
        while (this.pos < stop) this.push(object, field.name, this.value(field));
        if (this.pos !== stop) this.fail('packed field overruns its length');
        continue;
      }
      const value = this.value(field);
      if (field.repeated) this.push(object, field.name, value);
      else object[field.name] = value;
    }
    if (this.pos > end) this.fail('field overruns the message');
    return object;
  }

  private value(field: FieldSpec): unknown {
    const raw = this.scalar(field.kind);
    if (field.kind !== 'enum') return raw;
    // enums: String: the name when known, else the number (as protobufjs's toObject does).
    return field.enumNames?.get(raw as number) ?? raw;
  }

  private push(object: Record<string, unknown>, name: string, value: unknown): void {
    const list = object[name] as unknown[] | undefined;
    if (list) list.push(value);
    else object[name] = [value];
  }

  private skip(wireType: number, number: number): void {
    switch (wireType) {
      case 0:
        this.varint64();
        return;
      case 1:
        if (this.pos + 8 > this.buf.length) this.fail('truncated fixed64');
        this.pos += 8;
        return;
      case 2:
        this.pos = this.lengthEnd();
        return;
      case 3:
        // Group: skip fields until the matching end-group tag.
        for (;;) {
          if (this.pos >= this.buf.length) this.fail('unterminated group');
          const tag = this.uint32();
          if ((tag & 7) === 4) {
            if (tag >>> 3 !== number) this.fail('mismatched end of group');
            return;
          }
          this.skip(tag & 7, tag >>> 3);
        }
      case 5:
        if (this.pos + 4 > this.buf.length) this.fail('truncated fixed32');
        this.pos += 4;
        return;
      default:
        this.fail(`invalid wire type ${wireType}`);
    }
  }
}
