'use strict';
// Puts the schemas of a vectors file into the client's schema service, so the client can read
// Compact bytes that .NET wrote (a connected client would fetch them from the cluster).
const fs = require('fs');
const h = require('./hz');
const { Schema } = require('hazelcast-client/lib/serialization/compact/Schema');
const { FieldDescriptor } = require('hazelcast-client/lib/serialization/generic_record/FieldDescriptor');

const vectorsPath = process.argv[3];
const file = JSON.parse(fs.readFileSync(vectorsPath, 'utf8'));
for (const s of file.schemas) {
  const schema = new Schema(s.typeName, s.fields.map((f) => new FieldDescriptor(f.name, h.FieldKind[f.kind])));
  if (schema.schemaId.toString() !== s.id) throw new Error(`schema ${s.typeName}: client computes id ${schema.schemaId}, file says ${s.id}`);
  h.schemaService.putIfAbsent(schema);
}
