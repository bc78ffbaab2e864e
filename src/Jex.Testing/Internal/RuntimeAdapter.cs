using System.Buffers;
using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using Google.Protobuf;
using Jex.Hazelcast;
using Jex.Hazelcast.Compact;
using Jex.Hazelcast.Json;
using Jex.Hazelcast.Serialization;
using Jex.Protocol.V1;
using Jex.Runtime.Dispatch;
using Jex.Runtime.UserCode;
using Jex.Runtime.UserCode.Hazelcast;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jex.Testing.Internal;

/// <summary>
/// The only place the kit touches the runtime's internals (Jex.Runtime.Core, Jex.Hazelcast): loading
/// and binding (UserCodeLoader), the per-item path (InvocationContext, FunctionInvoker) and the
/// codecs. Everything else in the kit is public API built on this file.
/// </summary>
internal static class RuntimeAdapter
{
    // One catalog per assembly or path, as the runtime loads its user code once per process: startup
    // hooks run once, and every test of the run shares the bound functions.
    private static readonly ConcurrentDictionary<Assembly, Lazy<FunctionCatalog>> ByAssembly = new();
    private static readonly ConcurrentDictionary<string, Lazy<FunctionCatalog>> ByPath = new(StringComparer.Ordinal);

    public static JsonSerializerOptions JsonOptions { get; } = PayloadCodecs.CreateDefault().Json;

    public static LoadedFunction Load(Assembly assembly, string name)
    {
        var catalog = Catalog(ByAssembly.GetOrAdd(assembly, a => new Lazy<FunctionCatalog>(
            () => UserCodeLoader.LoadAssembly(a, NullLoggerFactory.Instance, PayloadCodecs.CreateDefault()))), assembly.Location);
        return Find(catalog, name, $"assembly '{assembly.GetName().Name}' ({assembly.Location})");
    }

    public static LoadedFunction Load(string path, string name)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full) && !Directory.Exists(full))
        {
            throw new FileNotFoundException($"'{full}' does not exist: give the path of the function library's .dll, or of the folder it was built to (bin/Release/net10.0)", full);
        }

        var catalog = Catalog(ByPath.GetOrAdd(full, p => new Lazy<FunctionCatalog>(
            () => UserCodeLoader.Load(p, NullLoggerFactory.Instance, PayloadCodecs.CreateDefault()))), full);
        return Find(catalog, name, $"'{full}'");
    }

    private static FunctionCatalog Catalog(Lazy<FunctionCatalog> lazy, string where)
    {
        try
        {
            return lazy.Value;
        }
        catch (UserCodeLoadException e)
        {
            throw new InvalidOperationException($"cannot load the functions of '{where}': {e.Message}", e);
        }
    }

    private static LoadedFunction Find(FunctionCatalog catalog, string name, string where)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!catalog.TryGet(name, out var descriptor))
        {
            var names = catalog.Names.Count == 0 ? "none" : string.Join(", ", catalog.Names);
            throw new ArgumentException(
                $"no function named '{name}' in {where} (its functions: {names}); the name is the one in [JexFunction(\"...\")]", nameof(name));
        }

        return new LoadedFunction(descriptor, catalog.Codecs);
    }

    /// <summary>A function bound by the runtime, called the way a batch calls it.</summary>
    internal sealed class LoadedFunction(FunctionDescriptor descriptor, PayloadCodecs codecs)
    {
        public string Name => descriptor.Name;

        public string Method => descriptor.MethodDisplayName;

        public string AssemblyPath => descriptor.AssemblyPath;

        public string Input => descriptor.Signature.Input;

        public string Output => descriptor.Signature.Output;

        /// <summary>
        /// Runs the items in order on one context, as BatchRun does: an exception becomes that
        /// item's error and the next item runs; cancellation stops the rest.
        /// </summary>
        public async Task<IReadOnlyList<JexResult>> InvokeAsync(IReadOnlyList<JexInput> inputs, TestJexContext test)
        {
            var functionName = string.IsNullOrEmpty(test.FunctionName) ? descriptor.Name : test.FunctionName;
            var info = new SessionInfo
            {
                JobId = test.JobId,
                JobName = test.JobName,
                StageName = test.StageName,
                FunctionName = functionName,
                KeyFormat = inputs.Count > 0 ? KeyFormatOf(inputs[0]) : Format.Bytes,
                ValueFormat = inputs.Count > 0 ? (Format)inputs[0].ValueFormat : Format.Bytes,
                Settings = new Dictionary<string, string>(test.Settings, StringComparer.Ordinal),
                Format = codecs.SessionFormat?.StartSession(),
            };
            RegisterInputSchemas(info, inputs);

            var token = test.CancellationToken;
            var batchId = test.BatchId;
            var logger = test.CreateLogger($"UserCode.{descriptor.Name}");
            var invoker = descriptor.Invoker;
            var results = new (List<JexOutput>? Outputs, JexItemError? Error)[inputs.Count];
            var context = new InvocationContext(info, logger, batchId, token);
            try
            {
                for (var i = 0; i < inputs.Count; i++)
                {
                    if (token.IsCancellationRequested)
                    {
                        FillCancelled(results, i, batchId);
                        break;
                    }

                    context.MoveTo(ToItem(inputs[i], test, i));
                    try
                    {
                        // A call still running at cancellation is abandoned, as the runtime does: the
                        // context's buffers are then never reused.
                        await ItemCall.InvokeAsync(invoker, context, token, onAbandoned: null, state: null).ConfigureAwait(false);
                        results[i] = (CopyOutputs(context), null);
                    }
                    catch (OperationCanceledException) when (token.IsCancellationRequested)
                    {
                        FillCancelled(results, i, batchId);
                        break;
                    }
                    catch (Exception e) when (ExceptionFilter.IsRecoverable(e))
                    {
                        results[i] = (null, ToItemError(e));
                    }
                }
            }
            finally
            {
                context.Dispose();
            }

            var schemas = TakeSchemas(info);

            return [.. results.Select(r => new JexResult(r.Outputs ?? [], r.Error, schemas))];
        }

        private void RegisterInputSchemas(SessionInfo info, IReadOnlyList<JexInput> inputs)
        {
            var message = ToSchemasMessage(inputs.SelectMany(i => i.Schemas));
            if (message.Schemas_.Count == 0)
            {
                return;
            }

            if (info.Format is not { } format)
            {
                throw new InvalidOperationException("this build of the runtime has no Hazelcast codec, so Compact schemas cannot be announced");
            }

            try
            {
                format.AcceptSchemas(message);
            }
            catch (PayloadBindingException e)
            {
                throw new ArgumentException($"the inputs' Compact schemas were refused: {e.Message}", nameof(inputs), e);
            }
        }

        private static Format KeyFormatOf(JexInput input) => input.Key is null ? Format.Bytes : (Format)input.KeyFormat;

        private static Item ToItem(JexInput input, TestJexContext test, int index) => new()
        {
            Key = ByteString.CopyFrom((input.Key ?? test.RawKey).Span),
            KeyFormat = KeyFormatOf(input),
            Value = ByteString.CopyFrom(input.Value.Span),
            ValueFormat = (Format)input.ValueFormat,
            TimestampMs = test.Timestamp.ToUnixTimeMilliseconds(),
            Partition = test.Partition,
            Sequence = test.Sequence + index,
        };

        private static List<JexOutput> CopyOutputs(InvocationContext context)
        {
            var outputs = new List<JexOutput>(context.Outputs.Length);
            foreach (var o in context.Outputs)
            {
                outputs.Add(new JexOutput(o.Key.ToArray(), (JexFormat)o.KeyFormat, o.Value.ToArray(), (JexFormat)o.ValueFormat));
            }

            return outputs;
        }

        private static void FillCancelled((List<JexOutput>?, JexItemError?)[] results, int from, long batchId)
        {
            var error = new JexItemError(JexErrorCode.Cancelled, "Jex." + ItemError.Types.Code.Cancelled,
                $"batch {batchId} was cancelled: the TestJexContext's CancellationToken was cancelled", string.Empty);
            for (var i = from; i < results.Length; i++)
            {
                results[i] = (null, error);
            }
        }

        /// <summary>The runtime's own item error for an exception (<see cref="BatchRun.ToItemError"/>).</summary>
        private static JexItemError ToItemError(Exception e)
        {
            var error = BatchRun.ToItemError(e);
            return new JexItemError((JexErrorCode)error.Code, error.Type, error.Message, error.Stack);
        }
    }

    /// <summary>A session of one item in Hazelcast format, for encoding or decoding a value outside a call.</summary>
    private static (PayloadCodecs Codecs, SessionInfo Info, InvocationContext Context) HazelcastScratch(Assembly userAssembly)
    {
        var codecs = PayloadCodecs.CreateDefault();
        codecs.AddUserAssembly(userAssembly);
        var info = new SessionInfo
        {
            JobId = string.Empty,
            JobName = string.Empty,
            StageName = string.Empty,
            FunctionName = string.Empty,
            KeyFormat = Format.Hazelcast,
            ValueFormat = Format.Hazelcast,
            Settings = new Dictionary<string, string>(),
            Format = codecs.SessionFormat?.StartSession(),
        };
        var context = new InvocationContext(info, NullLogger.Instance, 0, CancellationToken.None);
        context.MoveTo(new Item { KeyFormat = Format.Hazelcast, ValueFormat = Format.Hazelcast });
        return (codecs, info, context);
    }

    public static (byte[] Data, IReadOnlyList<JexCompactSchema> Schemas) EncodeCompact<T>(T value)
    {
        var (codecs, info, context) = HazelcastScratch(typeof(T).Assembly);
        using (context)
        {
            var description = codecs.Describe(typeof(T), Format.Hazelcast, Format.Hazelcast);
            if (!description.StartsWith("compact:", StringComparison.Ordinal))
            {
                throw new ArgumentException(
                    $"{typeof(T).FullName} is not a Compact type ({description}): mark it [CompactType(\"name\")] or give its assembly an ICompactSerializer<{typeof(T).Name}>, or send it as JexInput.Json",
                    nameof(value));
            }

            ReadOnlyMemory<byte> bytes;
            try
            {
                bytes = codecs.BinderFor<T>().Write(value, Format.Hazelcast, context, out _);
            }
            catch (PayloadBindingException e)
            {
                throw new ArgumentException($"cannot encode {typeof(T).FullName} as Compact: {e.Message}", nameof(value), e);
            }

            return (bytes.ToArray(), TakeSchemas(info));
        }
    }

    /// <summary>The schemas of Compact types the session's outputs created: what the runtime sends before the result.</summary>
    private static IReadOnlyList<JexCompactSchema> TakeSchemas(SessionInfo info) =>
        info.Format?.TakePending() is { Schemas: { } message }
            ? [.. message.Schemas_.Select(s => FromSchema(SchemaMessages.FromProto(s)))]
            : [];

    public static T DecodeCompact<T>(byte[] data, IReadOnlyList<JexCompactSchema> schemas)
    {
        var (codecs, info, context) = HazelcastScratch(typeof(T).Assembly);
        using (context)
        {
            var state = HazelcastSessionState.For(info);
            foreach (var schema in schemas)
            {
                state.AddFromMember(ToSchema(schema));
            }

            try
            {
                return codecs.BinderFor<T>().Read(data, Format.Hazelcast, context);
            }
            catch (PayloadBindingException e)
            {
                throw new InvalidOperationException($"cannot decode the output as {typeof(T).FullName}: {e.Message}", e);
            }
        }
    }

    public static byte[] EncodeHazelcastString(string value) => HazelcastSerializer.Serialize(value);

    public static string? DecodeHazelcastString(byte[] data)
    {
        try
        {
            return HazelcastSerializer.Deserialize(data, new SchemaRegistry()) as string
                ?? throw new InvalidOperationException("the key is a Hazelcast value but not a string");
        }
        catch (HazelcastCodecException e)
        {
            throw new InvalidOperationException($"the key is not Hazelcast data: {e.Message}", e);
        }
    }

    public static JexCompactSchema CreateSchema(string typeName, IReadOnlyList<JexCompactField> fields)
    {
        ArgumentException.ThrowIfNullOrEmpty(typeName);
        var descriptors = new List<FieldDescriptor>(fields.Count);
        foreach (var f in fields)
        {
            if (!FieldKinds.TryParse(f.Kind, out var kind))
            {
                throw new ArgumentException(
                    $"schema '{typeName}', field '{f.Name}': unknown kind '{f.Kind}'; use a Hazelcast FieldKind name such as INT32, STRING or NULLABLE_INT64",
                    nameof(fields));
            }

            descriptors.Add(new FieldDescriptor(f.Name, kind));
        }

        return FromSchema(new Schema(typeName, descriptors));
    }

    public static IReadOnlyList<JexCompactSchema> ParseSchemas(string json)
    {
        try
        {
            return [.. SchemaJson.Parse(json, "schemas").Select(FromSchema)];
        }
        catch (HazelcastCodecException e)
        {
            throw new ArgumentException(e.Message, nameof(json), e);
        }
    }

    public static string SchemaToJson(JexCompactSchema schema)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            SchemaJson.Write(writer, ToSchema(schema));
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>A member's Schemas message announcing <paramref name="schemas"/>, each id once.</summary>
    public static Schemas ToSchemasMessage(IEnumerable<JexCompactSchema> schemas)
    {
        var message = new Schemas();
        var seen = new HashSet<long>();
        foreach (var schema in schemas)
        {
            if (seen.Add(schema.Id))
            {
                message.Schemas_.Add(SchemaMessages.ToProto(ToSchema(schema)));
            }
        }

        return message;
    }

    private static JexCompactSchema FromSchema(Schema schema) =>
        new(schema.TypeName, schema.Id, [.. schema.Fields.Select(f => new JexCompactField(f.Name, f.Kind.ToString()))]);

    private static Schema ToSchema(JexCompactSchema schema) =>
        new(schema.TypeName, schema.Fields.Select(f => new FieldDescriptor(f.Name, Enum.Parse<FieldKind>(f.Kind))));
}
