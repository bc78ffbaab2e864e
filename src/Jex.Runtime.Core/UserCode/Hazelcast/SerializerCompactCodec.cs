using Jex.Hazelcast;
using Jex.Hazelcast.Compact;
using Jex.UserCode.Compact;

namespace Jex.Runtime.UserCode.Hazelcast;

/// <summary>
/// A type with a user <see cref="ICompactSerializer{T}"/>. Its schema is what the first
/// <c>Write</c> writes (recorded once, then reused); later writes must use the same fields.
/// </summary>
internal sealed class SerializerCompactCodec<T> : CompactTypeCodec<T>
{
    private readonly ICompactSerializer<T> _serializer;
    private readonly HazelcastBinding _binding;
    private Schema? _schema;

    public SerializerCompactCodec(ICompactSerializer<T> serializer, HazelcastBinding binding)
    {
        _serializer = serializer;
        _binding = binding;
        TypeName = serializer.TypeName;
        if (string.IsNullOrWhiteSpace(TypeName))
        {
            throw new NotSupportedException($"{serializer.GetType().FullName}.TypeName is empty; a Compact type needs a name");
        }
    }

    public override string TypeName { get; }

    public override Schema SchemaFor(T value) => _schema ?? Record(value);

    public override void WriteBody(CompactWriter writer, T value) => _serializer.Write(new WriterAdapter(writer, _binding), value);

    protected override T ReadBody(CompactReader reader) => _serializer.Read(new ReaderAdapter(reader, _binding));

    private Schema Record(T value)
    {
        var recorder = new SchemaRecorder(_binding);
        _serializer.Write(recorder, value);
        Schema schema;
        try
        {
            schema = new Schema(TypeName, recorder.Fields);
        }
        catch (ArgumentException e)
        {
            throw new HazelcastCodecException($"{_serializer.GetType().Name} wrote an invalid schema for '{TypeName}': {e.Message}", e);
        }

        // Racing first writes record equal schemas; keep one.
        return Interlocked.CompareExchange(ref _schema, schema, null) ?? schema;
    }

    /// <summary>Reads by name with the writer's schema; errors name the field.</summary>
    private sealed class ReaderAdapter(CompactReader reader, HazelcastBinding binding) : ICompactReader
    {
        public string TypeName => reader.Schema.TypeName;

        public bool HasField(string fieldName) => reader.Schema.Find(fieldName) is not null;

        public bool ReadBoolean(string fieldName) => reader.ReadBoolean(fieldName);

        public sbyte ReadInt8(string fieldName) => reader.ReadInt8(fieldName);

        public short ReadInt16(string fieldName) => reader.ReadInt16(fieldName);

        public int ReadInt32(string fieldName) => reader.ReadInt32(fieldName);

        public long ReadInt64(string fieldName) => reader.ReadInt64(fieldName);

        public float ReadFloat32(string fieldName) => reader.ReadFloat32(fieldName);

        public double ReadFloat64(string fieldName) => reader.ReadFloat64(fieldName);

        public string? ReadString(string fieldName) => reader.ReadString(fieldName);

        public TValue? Read<TValue>(string fieldName)
        {
            var field = reader.GetField(fieldName);
            var converter = binding.ConverterFor<TValue>();
            if (!converter.CanRead(field.Kind))
            {
                throw new HazelcastCodecException(
                    $"field '{fieldName}' of '{reader.Schema.TypeName}' is {field.Kind}; it cannot be read as {typeof(TValue).Name}");
            }

            return converter.Read(reader, field);
        }
    }

    /// <summary>Writes by name into the recorded schema; a field or kind not in it is an error naming it.</summary>
    private sealed class WriterAdapter(CompactWriter writer, HazelcastBinding binding) : ICompactWriter
    {
        public void WriteBoolean(string fieldName, bool value) => writer.WriteBoolean(fieldName, value);

        public void WriteInt8(string fieldName, sbyte value) => writer.WriteInt8(fieldName, value);

        public void WriteInt16(string fieldName, short value) => writer.WriteInt16(fieldName, value);

        public void WriteInt32(string fieldName, int value) => writer.WriteInt32(fieldName, value);

        public void WriteInt64(string fieldName, long value) => writer.WriteInt64(fieldName, value);

        public void WriteFloat32(string fieldName, float value) => writer.WriteFloat32(fieldName, value);

        public void WriteFloat64(string fieldName, double value) => writer.WriteFloat64(fieldName, value);

        public void WriteString(string fieldName, string? value) => writer.WriteString(fieldName, value);

        public void Write<TValue>(string fieldName, TValue? value)
        {
            var converter = binding.ConverterFor<TValue>();
            var field = writer.Schema.Find(fieldName)
                ?? throw new HazelcastCodecException($"field '{fieldName}' is not in the schema of '{writer.Schema.TypeName}' that the first write defined");
            if (field.Kind != converter.Kind)
            {
                throw new HazelcastCodecException(
                    $"field '{fieldName}' of '{writer.Schema.TypeName}' is {field.Kind}; a {typeof(TValue).Name} writes {converter.Kind}");
            }

            converter.Write(writer, field, value!);
        }
    }

    /// <summary>Records the names and kinds the first write uses.</summary>
    private sealed class SchemaRecorder(HazelcastBinding binding) : ICompactWriter
    {
        public List<FieldDescriptor> Fields { get; } = [];

        public void WriteBoolean(string fieldName, bool value) => Add(fieldName, FieldKind.BOOLEAN);

        public void WriteInt8(string fieldName, sbyte value) => Add(fieldName, FieldKind.INT8);

        public void WriteInt16(string fieldName, short value) => Add(fieldName, FieldKind.INT16);

        public void WriteInt32(string fieldName, int value) => Add(fieldName, FieldKind.INT32);

        public void WriteInt64(string fieldName, long value) => Add(fieldName, FieldKind.INT64);

        public void WriteFloat32(string fieldName, float value) => Add(fieldName, FieldKind.FLOAT32);

        public void WriteFloat64(string fieldName, double value) => Add(fieldName, FieldKind.FLOAT64);

        public void WriteString(string fieldName, string? value) => Add(fieldName, FieldKind.STRING);

        public void Write<TValue>(string fieldName, TValue? value) => Add(fieldName, binding.ConverterFor<TValue>().Kind);

        private void Add(string fieldName, FieldKind kind)
        {
            ArgumentException.ThrowIfNullOrEmpty(fieldName);
            Fields.Add(new FieldDescriptor(fieldName, kind));
        }
    }
}
