using System.Collections.Concurrent;
using System.Net;
using Google.Protobuf;

namespace Jex.FunctionalTests.Cli;

/// <summary>
/// A stand-in OpenTelemetry collector for OTLP over HTTP (protobuf): takes every POST, answers 200,
/// and reads the spans of /v1/traces requests with a small hand-written reader of the OTLP trace
/// messages (no OTLP classes ship in a package here). Metrics posts are counted, not read.
/// </summary>
internal sealed class OtlpReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;

    public OtlpReceiver()
    {
        Port = Member.JexCli.FreeTcpPort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    public ConcurrentQueue<ReceivedSpan> Spans { get; } = new();

    /// <summary>Request paths, in the order they came.</summary>
    public ConcurrentQueue<string> Paths { get; } = new();

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            var path = context.Request.Url?.AbsolutePath ?? "";
            Paths.Enqueue(path);
            if (path.EndsWith("/v1/traces", StringComparison.Ordinal))
            {
                foreach (var span in ReadTraces(body.ToArray()))
                {
                    Spans.Enqueue(span);
                }
            }

            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/x-protobuf";
            context.Response.Close();
        }
    }

    // ExportTraceServiceRequest: resource_spans = 1 { resource = 1 { attributes = 1 }, scope_spans = 2 { scope = 1 { name = 1 }, spans = 2 } }.
    internal static IEnumerable<ReceivedSpan> ReadTraces(byte[] request)
    {
        var spans = new List<ReceivedSpan>();
        foreach (var (field, resourceSpans) in Fields(request))
        {
            if (field != 1)
            {
                continue;
            }

            var service = "";
            foreach (var (f, value) in Fields(resourceSpans))
            {
                if (f == 1)
                {
                    service = Attributes(value, 1).GetValueOrDefault("service.name", "");
                }
                else if (f == 2)
                {
                    var scope = "";
                    foreach (var (sf, sv) in Fields(value))
                    {
                        if (sf == 1)
                        {
                            scope = Fields(sv).Where(x => x.Field == 1).Select(x => x.Value.ToStringUtf8()).FirstOrDefault() ?? "";
                        }
                        else if (sf == 2)
                        {
                            spans.Add(ReadSpan(service, scope, sv));
                        }
                    }
                }
            }
        }

        return spans;
    }

    // Span: trace_id = 1, span_id = 2, parent_span_id = 4, name = 5, attributes = 9.
    private static ReceivedSpan ReadSpan(string service, string scope, ByteString span)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        foreach (var (f, v) in Fields(span))
        {
            switch (f)
            {
                case 1: traceId = Convert.ToHexStringLower(v.Span); break;
                case 2: spanId = Convert.ToHexStringLower(v.Span); break;
                case 4: parent = Convert.ToHexStringLower(v.Span); break;
                case 5: name = v.ToStringUtf8(); break;
            }
        }

        return new ReceivedSpan(service, scope, name, traceId, spanId, parent, Attributes(span, 9));
    }

    // KeyValue: key = 1, value = 2 (AnyValue: string_value = 1, int_value = 3 as varint).
    private static Dictionary<string, string> Attributes(ByteString message, int field)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (f, kv) in Fields(message))
        {
            if (f != field)
            {
                continue;
            }

            string key = "", value = "";
            foreach (var (kf, kvv) in Fields(kv))
            {
                if (kf == 1)
                {
                    key = kvv.ToStringUtf8();
                }
                else if (kf == 2)
                {
                    var input = new CodedInputStream(kvv.ToByteArray());
                    for (uint tag; (tag = input.ReadTag()) != 0;)
                    {
                        switch (WireFormat.GetTagFieldNumber(tag))
                        {
                            case 1: value = input.ReadString(); break;
                            case 3: value = input.ReadInt64().ToString(System.Globalization.CultureInfo.InvariantCulture); break;
                            default: input.SkipLastField(); break;
                        }
                    }
                }
            }

            attributes[key] = value;
        }

        return attributes;
    }

    /// <summary>The length-delimited fields of a message, in order; other wire types are skipped.</summary>
    private static List<(int Field, ByteString Value)> Fields(ByteString message) => Fields(message.ToByteArray());

    private static List<(int Field, ByteString Value)> Fields(byte[] message)
    {
        var fields = new List<(int, ByteString)>();
        var input = new CodedInputStream(message);
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            if (WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                fields.Add((WireFormat.GetTagFieldNumber(tag), input.ReadBytes()));
            }
            else
            {
                input.SkipLastField();
            }
        }

        return fields;
    }
}

internal sealed record ReceivedSpan(string Service, string Scope, string Name, string TraceId, string SpanId, string ParentSpanId, IReadOnlyDictionary<string, string> Attributes);
