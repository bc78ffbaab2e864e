'use strict';
// Drives hazelcast-client's own serialization service offline: no cluster, no network.
// SerializationServiceV1 is built directly from a SerializationConfigImpl and a SchemaService;
// Compact schemas are put into the schema service when the client asks for them
// (SchemaNotReplicatedError), which is what a connected client does after the cluster acks.
const Long = require('long');
const { SerializationServiceV1 } = require('hazelcast-client/lib/serialization/SerializationService');
const { SerializationConfigImpl } = require('hazelcast-client/lib/config/SerializationConfig');
const { SchemaService } = require('hazelcast-client/lib/serialization/compact/SchemaService');
const { HeapData } = require('hazelcast-client/lib/serialization/HeapData');
const { PositionalObjectDataOutput } = require('hazelcast-client/lib/serialization/ObjectData');
const { SchemaNotReplicatedError } = require('hazelcast-client/lib/core');
const { FieldKind } = require('hazelcast-client/lib/serialization/generic_record/FieldKind');
const BigDecimalUtil = require('hazelcast-client/lib/util/BigDecimalUtil');
const hz = require('hazelcast-client');

// hazelcast-client 5.7.0 encodes a DECIMAL's unscaled value unlike Java's
// BigInteger.toByteArray(): positives get a needless leading 0x00, -1 encodes to zero bytes
// (and then fails to decode), and some negatives come out wrong (-129 -> 0x7f, i.e. +127).
// Java members write the minimal two's complement, so the generator substitutes exactly that
// rule for this one function; vectors built with the client's own encoding are kept as
// decode-only vectors (see gen-vectors.js) so a reader still accepts what it writes.
const clientBigIntToBuffer = BigDecimalUtil.bigIntToBuffer;
function javaBigIntToBuffer(big) {
  // Minimal two's complement, big-endian: the smallest byte count whose range holds the value.
  let n = 1;
  while (!(big >= -(1n << BigInt(8 * n - 1)) && big < (1n << BigInt(8 * n - 1)))) n++;
  let v = big < 0n ? (1n << BigInt(8 * n)) + big : big;
  const out = Buffer.alloc(n);
  for (let i = n - 1; i >= 0; i--) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}
function useJavaDecimalEncoding(on) {
  BigDecimalUtil.bigIntToBuffer = on ? javaBigIntToBuffer : clientBigIntToBuffer;
}
useJavaDecimalEncoding(true);

class NullableInt8ArrayHolder {
  constructor(v) { this.v = v; }
}

function createService() {
  const logger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  const schemaService = new SchemaService({ properties: {} }, () => null, () => null, logger);
  const config = new SerializationConfigImpl();
  // A generic record cannot hold a null ARRAY_OF_INT8 in this client (getArrayOfInt8 does
  // Buffer.from(null) while writing), so that one null is written by an explicit serializer,
  // which goes through DefaultCompactWriter.writeArrayOfInt8 like any typed object.
  config.compact.serializers.push({
    getClass: () => NullableInt8ArrayHolder,
    getTypeName: () => 'typed-array-of-int8',
    read: (reader) => hz.GenericRecords.compact('typed-array-of-int8', { v: hz.Fields.ARRAY_OF_INT8 }, { v: reader.readArrayOfInt8('v') }),
    write: (writer, o) => writer.writeArrayOfInt8('v', o.v),
  });
  const service = new SerializationServiceV1(config, schemaService);
  return { service, schemaService };
}

const { service, schemaService } = createService();

function toData(value) {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      return service.toData(value).toBuffer();
    } catch (e) {
      if (e instanceof SchemaNotReplicatedError) {
        schemaService.putIfAbsent(e.schema);
        continue;
      }
      throw e;
    }
  }
  throw new Error('schemas did not settle after 100 attempts');
}

// Built-in serializers by id, written exactly as toData writes (partition hash 0, type id, payload):
// JavaScript numbers would otherwise all go through the default number type (double).
function toDataWith(typeId, value) {
  const serializer = service.findSerializerById(typeId);
  const out = new PositionalObjectDataOutput(service, true);
  out.writeIntBE(0);
  out.writeIntBE(serializer.id);
  serializer.write(out, value);
  return out.toBuffer();
}

// hazelcast-client reads char and char[] but its serializers write nothing for them (a no-op
// write); those payloads are written with the client's ObjectDataOutput primitives instead.
function toDataRaw(typeId, write) {
  const out = new PositionalObjectDataOutput(service, true);
  out.writeIntBE(0);
  out.writeIntBE(typeId);
  write(out);
  return out.toBuffer();
}

function toObject(buffer) {
  return service.toObject(new HeapData(buffer));
}

// ---------- JSON text in the shape `jex data decode` prints ----------
function num(v) {
  if (Number.isNaN(v)) return '"NaN"';
  if (v === Infinity) return '"Infinity"';
  if (v === -Infinity) return '"-Infinity"';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}
const str = (s) => JSON.stringify(s);
const pad = (n, w) => String(Math.abs(n)).padStart(w, '0');

function dateText(d) {
  const y = d.year < 0 ? '-' + pad(d.year, 4) : d.year > 9999 ? '+' + d.year : pad(d.year, 4);
  return `${y}-${pad(d.month, 2)}-${pad(d.date, 2)}`;
}
function timeText(t) {
  let s = `${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}`;
  if (t.nano !== 0) s += '.' + String(t.nano).padStart(9, '0').replace(/0+$/, '');
  return s;
}
function dateTimeText(dt) { return dateText(dt.localDate) + 'T' + timeText(dt.localTime); }
function offsetText(sec) {
  const a = Math.abs(sec);
  let s = (sec < 0 ? '-' : '+') + pad(Math.floor(a / 3600), 2) + ':' + pad(Math.floor(a / 60) % 60, 2);
  if (a % 60) s += ':' + pad(a % 60, 2);
  return s;
}
function decimalText(d) {
  const neg = d.unscaledValue < 0n;
  let digits = (neg ? -d.unscaledValue : d.unscaledValue).toString();
  const scale = d.scale;
  let s;
  if (scale <= 0) s = digits + (d.unscaledValue === 0n ? '' : '0'.repeat(-scale));
  else if (digits.length > scale) s = digits.slice(0, digits.length - scale) + '.' + digits.slice(digits.length - scale);
  else s = '0.' + '0'.repeat(scale - digits.length) + digits;
  return (neg ? '-' : '') + s;
}
function uuidText(u) { return u.toString(); }

const K = FieldKind;
function fieldJson(kind, v) {
  if (v === null || v === undefined) return 'null';
  switch (kind) {
    case K.BOOLEAN: case K.NULLABLE_BOOLEAN: return v ? 'true' : 'false';
    case K.INT8: case K.INT16: case K.INT32: case K.NULLABLE_INT8: case K.NULLABLE_INT16: case K.NULLABLE_INT32: return String(v);
    case K.INT64: case K.NULLABLE_INT64: return Long.fromValue(v).toString();
    case K.FLOAT32: case K.FLOAT64: case K.NULLABLE_FLOAT32: case K.NULLABLE_FLOAT64: return num(v);
    case K.STRING: return str(v);
    case K.DECIMAL: return str(decimalText(v));
    case K.TIME: return str(timeText(v));
    case K.DATE: return str(dateText(v));
    case K.TIMESTAMP: return str(dateTimeText(v));
    case K.TIMESTAMP_WITH_TIMEZONE: return str(dateTimeText(v.localDateTime) + offsetText(v.offsetSeconds));
    case K.COMPACT: return recordJson(v);
    case K.ARRAY_OF_BOOLEAN: case K.ARRAY_OF_NULLABLE_BOOLEAN: return arr(v, K.BOOLEAN);
    case K.ARRAY_OF_INT8: return arr(Array.from(v, (x) => (x > 127 ? x - 256 : x)), K.INT8);
    case K.ARRAY_OF_NULLABLE_INT8: return arr(v, K.INT8);
    case K.ARRAY_OF_INT16: case K.ARRAY_OF_NULLABLE_INT16: return arr(v, K.INT16);
    case K.ARRAY_OF_INT32: case K.ARRAY_OF_NULLABLE_INT32: return arr(v, K.INT32);
    case K.ARRAY_OF_INT64: case K.ARRAY_OF_NULLABLE_INT64: return arr(v, K.INT64);
    case K.ARRAY_OF_FLOAT32: case K.ARRAY_OF_NULLABLE_FLOAT32: return arr(v, K.FLOAT32);
    case K.ARRAY_OF_FLOAT64: case K.ARRAY_OF_NULLABLE_FLOAT64: return arr(v, K.FLOAT64);
    case K.ARRAY_OF_STRING: return arr(v, K.STRING);
    case K.ARRAY_OF_DECIMAL: return arr(v, K.DECIMAL);
    case K.ARRAY_OF_TIME: return arr(v, K.TIME);
    case K.ARRAY_OF_DATE: return arr(v, K.DATE);
    case K.ARRAY_OF_TIMESTAMP: return arr(v, K.TIMESTAMP);
    case K.ARRAY_OF_TIMESTAMP_WITH_TIMEZONE: return arr(v, K.TIMESTAMP_WITH_TIMEZONE);
    case K.ARRAY_OF_COMPACT: return arr(v, K.COMPACT);
    default: throw new Error('no JSON form for kind ' + kind);
  }
}
function arr(values, kind) { return '[' + Array.from(values, (x) => fieldJson(kind, x)).join(',') + ']'; }
function recordJson(r) {
  const schema = r.getSchema();
  const parts = [`"$type":${str(schema.typeName)}`];
  for (const f of schema.fields) parts.push(`${str(f.fieldName)}:${fieldJson(f.kind, r.values[f.fieldName])}`);
  return '{' + parts.join(',') + '}';
}

// A top-level value of a given kind, as decoded by the client, to JSON text.
function valueJson(kind, v) {
  switch (kind) {
    case 'null': return 'null';
    case 'bool': return v ? 'true' : 'false';
    case 'int8': return String(v > 127 ? v - 256 : v); // the client reads Java's signed byte as unsigned
    case 'int16': case 'int32': return String(v);
    case 'int64': return Long.fromValue(v).toString();
    case 'float32': case 'float64': return num(v);
    case 'char': case 'string': return str(v);
    case 'bytes': return str(Buffer.from(v).toString('base64'));
    case 'uuid': return str(uuidText(v));
    case 'json': return typeof v === 'object' && v !== null && v.constructor && v.constructor.name === 'HazelcastJsonValue' ? JSON.stringify(JSON.parse(v.toString())) : JSON.stringify(v);
    case 'compact': return recordJson(v);
    case 'array-of-bool': return arr(v, K.BOOLEAN);
    case 'array-of-char': return '[' + Array.from(v, str).join(',') + ']';
    case 'array-of-int16': return arr(v, K.INT16);
    case 'array-of-int32': return arr(v, K.INT32);
    case 'array-of-int64': return arr(v, K.INT64);
    case 'array-of-float32': return arr(v, K.FLOAT32);
    case 'array-of-float64': return arr(v, K.FLOAT64);
    case 'array-of-string': return arr(v, K.STRING);
    default: throw new Error('unknown kind ' + kind);
  }
}

function schemaJson(schema) {
  return {
    typeName: schema.typeName,
    id: schema.schemaId.toString(),
    fields: schema.fields.map((f) => ({ name: f.fieldName, kind: FieldKind[f.kind] })),
  };
}

module.exports = {
  hz, Long, FieldKind, service, schemaService, toData, toDataWith, toDataRaw, toObject, valueJson, schemaJson,
  useJavaDecimalEncoding, NullableInt8ArrayHolder,
};
