'use strict';
// Writes test vectors made by hazelcast-client 5.7.0's own serialization service:
//   node gen-vectors.js OUT.json
// Each vector: {name, kind, value (JSON as `jex data decode` prints it), hex, decodeOnly?}.
// The file's "schemas" array is in the `--schemas FILE` format (plus the client's schema id).
const fs = require('fs');
const h = require('./hz');
const { hz, Long } = h;
const { GenericRecords, Fields, BigDecimal, LocalDate, LocalTime, LocalDateTime, OffsetDateTime, UUID, HazelcastJsonValue } = hz;

const vectors = [];
const schemas = new Map();

function collectSchemas(record) {
  const s = record.getSchema();
  schemas.set(s.schemaId.toString(), s);
  for (const f of s.fields) {
    const v = record.values[f.fieldName];
    if (v == null) continue;
    if (f.kind === h.FieldKind.COMPACT) collectSchemas(v);
    if (f.kind === h.FieldKind.ARRAY_OF_COMPACT) v.forEach((x) => x && collectSchemas(x));
  }
}

function add(name, kind, bytes, opts = {}) {
  // The expected value is what the client itself reads back from the bytes.
  const decoded = h.toObject(bytes);
  const value = opts.json !== undefined ? opts.json : h.valueJson(kind, decoded);
  const v = { name, kind, value: JSON.parse(JSON.stringify(value)), hex: bytes.toString('hex') };
  if (opts.decodeOnly) v.decodeOnly = true;
  vectors.push({ text: value, v });
}

const builtin = (name, kind, typeId, value) => add(`${kind}: ${name}`, kind, h.toDataWith(typeId, value));
function compact(name, record, opts) {
  collectSchemas(record);
  add(`compact: ${name}`, 'compact', h.toData(record), opts);
}
const rec = (type, fields, values) => GenericRecords.compact(type, fields, values);

// ---------------- built-in types ----------------
add('null', 'null', h.toData(null));
builtin('true', 'bool', -4, true);
builtin('false', 'bool', -4, false);
for (const v of [0, 1, -1, 127, -128]) builtin(String(v), 'int8', -3, v);
for (const v of [0, -1, 12345, 32767, -32768]) builtin(String(v), 'int16', -6, v);
for (const v of [0, 1, -1, 20, 2147483647, -2147483648]) builtin(String(v), 'int32', -7, v);
for (const v of ['0', '-1', '9007199254740993', '-9007199254740993', '9223372036854775807', '-9223372036854775808']) builtin(v, 'int64', -8, Long.fromString(v));
for (const [n, v] of [['0', 0], ['-0', -0], ['1.5', 1.5], ['0.1', Math.fround(0.1)], ['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity],
  ['max', 3.4028234663852886e38], ['min normal', 1.1754943508222875e-38], ['min subnormal', 1.401298464324817e-45]]) builtin(n, 'float32', -9, v);
for (const [n, v] of [['0', 0], ['-0', -0], ['pi', Math.PI], ['0.1', 0.1], ['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity],
  ['max', Number.MAX_VALUE], ['min subnormal', Number.MIN_VALUE], ['-1e308', -1e308]]) builtin(n, 'float64', -10, v);
for (const [n, v] of [['a', 'a'], ['e acute', 'é'], ['nul', '\u0000'], ['U+FFFF', '\uffff'], ['CJK', '語']]) add(`char: ${n}`, 'char', h.toDataRaw(-5, (o) => o.writeChar(v)));
for (const [n, v] of [['empty', ''], ['ascii', 'hello'], ['latin', 'héllo wörld'], ['cjk', '日本語テキスト'],
  ['non-BMP', 'emoji 😀 and clef 𝄞'], ['controls and quotes', '\u0000\n\t"\\\u001f'], ['1000 chars', 'x'.repeat(1000)],
  ['70000 bytes', 'ü'.repeat(35000)]]) builtin(n, 'string', -11, v);
builtin('empty', 'bytes', -12, Buffer.alloc(0));
builtin('0 1 255', 'bytes', -12, Buffer.from([0, 1, 255]));
builtin('300 bytes', 'bytes', -12, Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff)));
builtin('zero', 'uuid', -21, new UUID(Long.ZERO, Long.ZERO));
builtin('all ones', 'uuid', -21, new UUID(Long.NEG_ONE, Long.NEG_ONE));
builtin('mixed', 'uuid', -21, new UUID(Long.fromString('123e4567e89b12d3', false, 16), Long.fromString('a456426614174000', false, 16)));
for (const [n, v] of [['empty object', '{}'], ['object', '{"a":1,"b":[true,null]}'], ['array', '[1,"x",null]'],
  ['string', '"text"'], ['number', '42'], ['unicode', '{"name":"Zoë 😀"}']]) {
  add(`json: ${n}`, 'json', h.toDataWith(-130, new HazelcastJsonValue(v)), { json: v });
}
builtin('empty', 'array-of-bool', -13, []);
builtin('values', 'array-of-bool', -13, [true, false, true, true, false, false, false, false, true]);
add('array-of-char: abc', 'array-of-char', h.toDataRaw(-14, (o) => o.writeCharArray(['a', 'b', 'ç'])));
builtin('bounds', 'array-of-int16', -15, [0, 32767, -32768]);
builtin('empty', 'array-of-int32', -16, []);
builtin('bounds', 'array-of-int32', -16, [0, 2147483647, -2147483648, 20]);
builtin('bounds', 'array-of-int64', -17, [Long.MAX_VALUE, Long.MIN_VALUE, Long.fromNumber(20)]);
builtin('specials', 'array-of-float32', -18, [1.5, NaN, -0, Infinity]);
builtin('specials', 'array-of-float64', -19, [Math.E, NaN, -0, -Infinity, Number.MIN_VALUE]);
builtin('with null', 'array-of-string', -20, ['a', null, '', '😀']);

// ---------------- Compact ----------------
const F = Fields;
// JEX's demo types.
for (const v of [20, 0, -1, 2147483647, -2147483648]) compact(`some-thing ${v}`, rec('some-thing', { value: F.INT32 }, { value: v }));
for (const v of ['__20__', '', null, 'ünï 😀']) compact(`other-thing ${JSON.stringify(v)}`, rec('other-thing', { value: F.STRING }, { value: v }));

const fixedFields = { b: F.BOOLEAN, i8: F.INT8, i16: F.INT16, i32: F.INT32, i64: F.INT64, f32: F.FLOAT32, f64: F.FLOAT64 };
compact('fixed zeros', rec('fixed', fixedFields, { b: false, i8: 0, i16: 0, i32: 0, i64: Long.ZERO, f32: 0, f64: 0 }));
compact('fixed max', rec('fixed', fixedFields, { b: true, i8: 127, i16: 32767, i32: 2147483647, i64: Long.MAX_VALUE, f32: 3.4028234663852886e38, f64: Number.MAX_VALUE }));
compact('fixed min', rec('fixed', fixedFields, { b: false, i8: -128, i16: -32768, i32: -2147483648, i64: Long.MIN_VALUE, f32: -3.4028234663852886e38, f64: -Number.MAX_VALUE }));
compact('fixed specials', rec('fixed', fixedFields, { b: true, i8: -1, i16: -1, i32: -1, i64: Long.NEG_ONE, f32: NaN, f64: -0 }));
compact('fixed infinities', rec('fixed', fixedFields, { b: true, i8: 1, i16: 1, i32: 1, i64: Long.ONE, f32: -Infinity, f64: Infinity }));

// Booleans packed into bits: 9 (two bytes) and 17 (three bytes), alone and among other fields.
const nine = {}; for (let i = 0; i < 9; i++) nine[`flag${i}`] = F.BOOLEAN;
const patterns9 = [0, 0x1ff, 0x155, 0x0aa, 0x001, 0x100, 0x080, 0x101, 0x0ff, 0x1fe];
for (const p of patterns9) {
  const values = {}; for (let i = 0; i < 9; i++) values[`flag${i}`] = ((p >> i) & 1) === 1;
  compact(`9 booleans 0x${p.toString(16)}`, rec('nine-flags', nine, values));
}
const seventeen = {}; for (let i = 0; i < 17; i++) seventeen[`b${String(i).padStart(2, '0')}`] = F.BOOLEAN;
for (const p of [0x1ffff, 0x10001, 0x0aaaa]) {
  const values = {}; for (let i = 0; i < 17; i++) values[`b${String(i).padStart(2, '0')}`] = ((p >> i) & 1) === 1;
  compact(`17 booleans 0x${p.toString(16)}`, rec('seventeen-flags', seventeen, values));
}
const mixedBools = { a: F.BOOLEAN, count: F.INT32, z: F.BOOLEAN, name: F.STRING, big: F.INT64, m: F.BOOLEAN, tiny: F.INT8 };
compact('booleans among fixed and variable fields', rec('mixed-flags', mixedBools, { a: true, count: 7, z: false, name: 'n', big: Long.fromNumber(-5), m: true, tiny: -2 }));
compact('booleans among fixed and variable fields, null string', rec('mixed-flags', mixedBools, { a: false, count: -7, z: true, name: null, big: Long.MAX_VALUE, m: false, tiny: 127 }));

// One type per variable-size kind: null, and values at the edges.
const D = (u, s) => new BigDecimal(BigInt(u), s);
const T = (hh, mm, ss, ns) => new LocalTime(hh, mm, ss, ns);
const Dt = (y, m, d) => new LocalDate(y, m, d);
const Ts = (d, t) => new LocalDateTime(d, t);
const Tz = (d, t, o) => new OffsetDateTime(new LocalDateTime(d, t), o);
const L = (s) => Long.fromString(s);
const single = [
  ['STRING', F.STRING, ['', 'x', '日本 😀', 'a'.repeat(300)]],
  ['DECIMAL', F.DECIMAL, [D(0, 0), D(1, 0), D(-1, 0), D(127, 0), D(128, 0), D(-128, 0), D(-129, 0), D(-256, 0), D(12345678, 3), D(-12345678, 3),
    D('123456789012345678901234567890123456789', 10), D(1, 3), D(-5, 20), D(100, 2)]],
  ['TIME', F.TIME, [T(0, 0, 0, 0), T(23, 59, 59, 999999999), T(13, 45, 30, 120000000), T(1, 2, 3, 1)]],
  ['DATE', F.DATE, [Dt(1, 1, 1), Dt(9999, 12, 31), Dt(2024, 2, 29), Dt(1970, 1, 1), Dt(-5, 3, 4), Dt(12345, 6, 7)]],
  ['TIMESTAMP', F.TIMESTAMP, [Ts(Dt(2024, 1, 15), T(13, 45, 30, 120000000)), Ts(Dt(1, 1, 1), T(0, 0, 0, 0)), Ts(Dt(9999, 12, 31), T(23, 59, 59, 999999999))]],
  ['TIMESTAMP_WITH_TIMEZONE', F.TIMESTAMP_WITH_TIMEZONE, [Tz(Dt(2024, 1, 15), T(13, 45, 30, 0), 0), Tz(Dt(2024, 1, 15), T(13, 45, 30, 5000), 19800),
    Tz(Dt(2000, 6, 1), T(0, 0, 0, 0), -64800), Tz(Dt(2000, 6, 1), T(0, 0, 0, 0), 64800), Tz(Dt(2000, 6, 1), T(12, 0, 0, 0), 3630)]],
  ['NULLABLE_BOOLEAN', F.NULLABLE_BOOLEAN, [true, false]],
  ['NULLABLE_INT8', F.NULLABLE_INT8, [0, 127, -128]],
  ['NULLABLE_INT16', F.NULLABLE_INT16, [0, 32767, -32768]],
  ['NULLABLE_INT32', F.NULLABLE_INT32, [0, 2147483647, -2147483648]],
  ['NULLABLE_INT64', F.NULLABLE_INT64, [Long.ZERO, Long.MAX_VALUE, Long.MIN_VALUE]],
  ['NULLABLE_FLOAT32', F.NULLABLE_FLOAT32, [1.5, NaN, -0]],
  ['NULLABLE_FLOAT64', F.NULLABLE_FLOAT64, [Math.PI, -Infinity, -0]],
  ['ARRAY_OF_BOOLEAN', F.ARRAY_OF_BOOLEAN, [[], [true], [true, false, true, false, true, false, true, false, true], Array.from({ length: 17 }, (_, i) => i % 3 === 0)]],
  ['ARRAY_OF_INT8', F.ARRAY_OF_INT8, [Buffer.alloc(0), Buffer.from([0, 127, 128, 255])]],
  ['ARRAY_OF_INT16', F.ARRAY_OF_INT16, [[], [0, 32767, -32768]]],
  ['ARRAY_OF_INT32', F.ARRAY_OF_INT32, [[], [0, 2147483647, -2147483648]]],
  ['ARRAY_OF_INT64', F.ARRAY_OF_INT64, [[], [Long.ZERO, Long.MAX_VALUE, Long.MIN_VALUE]]],
  ['ARRAY_OF_FLOAT32', F.ARRAY_OF_FLOAT32, [[], [1.5, NaN, -0, Infinity]]],
  ['ARRAY_OF_FLOAT64', F.ARRAY_OF_FLOAT64, [[], [Math.PI, NaN, -0, -Infinity]]],
  ['ARRAY_OF_STRING', F.ARRAY_OF_STRING, [[], ['a', null, '', '😀'], [null]]],
  ['ARRAY_OF_DECIMAL', F.ARRAY_OF_DECIMAL, [[], [D(1, 0), null, D(-12345678, 3)]]],
  ['ARRAY_OF_TIME', F.ARRAY_OF_TIME, [[], [T(1, 2, 3, 4), null]]],
  ['ARRAY_OF_DATE', F.ARRAY_OF_DATE, [[], [null, Dt(2024, 2, 29)]]],
  ['ARRAY_OF_TIMESTAMP', F.ARRAY_OF_TIMESTAMP, [[], [Ts(Dt(2024, 1, 15), T(13, 45, 30, 0)), null]]],
  ['ARRAY_OF_TIMESTAMP_WITH_TIMEZONE', F.ARRAY_OF_TIMESTAMP_WITH_TIMEZONE, [[], [null, Tz(Dt(2024, 1, 15), T(13, 45, 30, 0), -3600)]]],
  ['ARRAY_OF_NULLABLE_BOOLEAN', F.ARRAY_OF_NULLABLE_BOOLEAN, [[], [true, null, false]]],
  ['ARRAY_OF_NULLABLE_INT8', F.ARRAY_OF_NULLABLE_INT8, [[], [127, null, -128]]],
  ['ARRAY_OF_NULLABLE_INT16', F.ARRAY_OF_NULLABLE_INT16, [[], [32767, null, -32768]]],
  ['ARRAY_OF_NULLABLE_INT32', F.ARRAY_OF_NULLABLE_INT32, [[], [2147483647, null, -2147483648]]],
  ['ARRAY_OF_NULLABLE_INT64', F.ARRAY_OF_NULLABLE_INT64, [[], [Long.MAX_VALUE, null, Long.MIN_VALUE]]],
  ['ARRAY_OF_NULLABLE_FLOAT32', F.ARRAY_OF_NULLABLE_FLOAT32, [[], [NaN, null, -0]]],
  ['ARRAY_OF_NULLABLE_FLOAT64', F.ARRAY_OF_NULLABLE_FLOAT64, [[], [-0, null, Infinity]]],
];
for (const [name, field, values] of single) {
  const type = 'one-' + name.toLowerCase().replace(/_/g, '-');
  // ARRAY_OF_INT8's null goes through a typed serializer below: the generic record cannot write it.
  if (name !== 'ARRAY_OF_INT8') compact(`${name} null`, rec(type, { v: field }, { v: null }));
  values.forEach((v, i) => compact(`${name} #${i}`, rec(type, { v: field }, { v })));
}

for (const v of [null, Buffer.from([1, 255])]) {
  const bytes = h.toData(new h.NullableInt8ArrayHolder(v));
  collectSchemas(h.toObject(bytes));
  add(`compact: ARRAY_OF_INT8 through a typed serializer, ${v === null ? 'null' : 'values'}`, 'compact', bytes);
}

// The client's own DECIMAL encoding (leading 0x00 on positives): readers must accept it; .NET writes Java's form.
h.useJavaDecimalEncoding(false);
for (const u of [5, 127, 12345678]) compact(`DECIMAL ${u} in the client's own encoding`, rec('one-decimal', { v: F.DECIMAL }, { v: D(u, 2) }), { decodeOnly: true });
h.useJavaDecimalEncoding(true);

// Nesting three deep, with nulls at every level.
const leafF = { id: F.INT32, label: F.STRING };
const middleF = { leaf: F.GENERIC_RECORD, n: F.NULLABLE_INT64 };
const outerF = { middle: F.GENERIC_RECORD, name: F.STRING };
const leaf = (id, label) => rec('leaf', leafF, { id, label });
const middle = (l, n) => rec('middle', middleF, { leaf: l, n });
compact('nested 3 deep', rec('outer', outerF, { middle: middle(leaf(7, 'deep 😀'), L('42')), name: 'top' }));
compact('nested, null leaf', rec('outer', outerF, { middle: middle(null, null), name: 'no leaf' }));
compact('nested, null middle', rec('outer', outerF, { middle: null, name: null }));
compact('nested, leaf with null label', rec('outer', outerF, { middle: middle(leaf(-1, null), L('-1')), name: '' }));

// Arrays of Compact, with nulls, empty, nested.
const listF = { items: F.ARRAY_OF_GENERIC_RECORD, title: F.STRING };
compact('array of compact', rec('leaf-list', listF, { items: [leaf(1, 'a'), leaf(2, 'b')], title: 't' }));
compact('array of compact with nulls', rec('leaf-list', listF, { items: [null, leaf(3, null), null], title: null }));
compact('empty array of compact', rec('leaf-list', listF, { items: [], title: 'empty' }));
compact('null array of compact', rec('leaf-list', listF, { items: null, title: 'none' }));
compact('array of nested compact', rec('middle-list', { items: F.ARRAY_OF_GENERIC_RECORD }, { items: [middle(leaf(1, 'x'), null), null, middle(null, L('9'))] }));

// The three offset widths: data under 255 bytes, under 64 KiB, and larger; and the edges.
const sizedF = { text: F.STRING, count: F.INT32, tags: F.ARRAY_OF_STRING };
for (const [n, len] of [['tiny', 5], ['edge 240', 240], ['edge 250', 250], ['edge 260', 260], ['medium 1000', 1000], ['edge 65500', 65500], ['edge 65530', 65530], ['large 70000', 70000], ['huge 200000', 200000]]) {
  compact(`offsets ${n}`, rec('sized', sizedF, { text: 'a'.repeat(len), count: len, tags: ['x', null, 'y'] }));
}
compact('array offsets short width', rec('sized', sizedF, { text: null, count: 0, tags: Array.from({ length: 40 }, (_, i) => (i % 7 === 3 ? null : `tag-${i}-${'z'.repeat(i)}`)) }));
compact('array offsets int width', rec('sized', sizedF, { text: '', count: -1, tags: [null, 'q'.repeat(70000), 'r'] }));

// Field-name order: ordinal UTF-16 order, as Java's String.compareTo and the clients sort.
const orderF = { Zeta: F.INT32, alpha: F.INT32, 'Älpha': F.STRING, _x: F.INT8, a: F.STRING, 'a.b': F.BOOLEAN, B: F.NULLABLE_INT32 };
compact('field order', rec('ordering', orderF, { Zeta: 1, alpha: 2, 'Älpha': 'ä', _x: 3, a: 'a', 'a.b': true, B: null }));
compact('no fields', rec('empty-type', {}, {}));
compact('unicode type name', rec('тип-😀', { 'поле': F.STRING }, { 'поле': 'значение' }));

// Every field kind in one type.
const all = {}, allNull = {}, allSet = {};
for (const [name, field, values] of single) { all[name.toLowerCase()] = field; allNull[name.toLowerCase()] = null; allSet[name.toLowerCase()] = values[values.length - 1]; }
Object.assign(all, fixedFields, { nested: F.GENERIC_RECORD, nesteds: F.ARRAY_OF_GENERIC_RECORD });
// A null ARRAY_OF_INT8 is covered above (the client's generic record cannot write one).
Object.assign(allNull, { array_of_int8: Buffer.alloc(0), b: false, i8: 0, i16: 0, i32: 0, i64: Long.ZERO, f32: 0, f64: 0, nested: null, nesteds: null });
Object.assign(allSet, { b: true, i8: -128, i16: 32767, i32: -2147483648, i64: Long.MAX_VALUE, f32: -0, f64: NaN, nested: leaf(5, 'five'), nesteds: [leaf(6, null), null] });
compact('every kind, nulls', rec('every-kind', all, allNull));
compact('every kind, values', rec('every-kind', all, allSet));

const out = process.argv[2];
if (!out) { console.error('usage: node gen-vectors.js OUT.json'); process.exit(2); }
// One vector per line, with the expected value's JSON text kept verbatim (int64 stay exact).
const lines = vectors.map(({ text, v }) => {
  const { value, ...rest } = v;
  const head = JSON.stringify(rest);
  return head.slice(0, -1) + ',"value":' + text + '}';
});
const schemaList = [...schemas.values()].map(h.schemaJson);
const doc = '{"generator":"hazelcast-client ' + require('hazelcast-client/package.json').version + '",\n'
  + '"schemas":' + JSON.stringify(schemaList) + ',\n'
  + '"vectors":[\n' + lines.join(',\n') + '\n]}\n';
fs.mkdirSync(require('path').dirname(out), { recursive: true });
fs.writeFileSync(out, doc);
console.error(`wrote ${vectors.length} vectors and ${schemaList.length} schemas to ${out}`);
