using System.Diagnostics;
using System.Diagnostics.Metrics;
using Jex.Protocol.V1;
using Jex.Runtime.Dispatch;

namespace Jex.Runtime.Diagnostics;

/// <summary>
/// The runtime's instruments, on the <see cref="Meter"/> <c>Jex.Runtime</c> (docs/observability.md).
/// Every tag value comes from a bounded set: function names from the loaded catalog, transports
/// from <c>TransportKind</c>, outcomes and codes from fixed lists. A Meter needs no configuration:
/// <c>dotnet-counters monitor --counters Jex.Runtime</c> and the OpenTelemetry exporters both
/// listen to it by name.
/// </summary>
internal sealed class RuntimeMetrics : IDisposable
{
    public const string MeterName = "Jex.Runtime";

    private readonly bool _ownsMeter;

    public RuntimeMetrics()
        : this(new Meter(MeterName, RuntimeInfo.Version), ownsMeter: true)
    {
    }

    /// <summary>Instruments on a meter of the caller's (tests use a uniquely named one, so parallel runtimes do not mix).</summary>
    public RuntimeMetrics(Meter meter)
        : this(meter, ownsMeter: false)
    {
    }

    private RuntimeMetrics(Meter meter, bool ownsMeter)
    {
        Meter = meter;
        _ownsMeter = ownsMeter;
        Items = meter.CreateCounter<long>("jex.runtime.items", "{item}", "Items processed, by function and outcome (ok, filtered: ok with no output, error)");
        ItemErrors = meter.CreateCounter<long>("jex.runtime.item.errors", "{item}", "Items that failed, by function and error code");
        Batches = meter.CreateCounter<long>("jex.runtime.batches", "{batch}", "Batches processed, by function and transport");
        BatchDuration = meter.CreateHistogram<double>("jex.runtime.batch.duration", "s", "Time from a batch's start to its result, by function and transport",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        BatchSize = meter.CreateHistogram<long>("jex.runtime.batch.size", "{item}", "Items per batch, by function",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = SizeBuckets });
        InFlight = meter.CreateUpDownCounter<long>("jex.runtime.in_flight", "{batch}", "Batches running now, by function");
        Sessions = meter.CreateUpDownCounter<long>("jex.runtime.sessions", "{session}", "Sessions open now, by transport");
        BytesIn = meter.CreateCounter<long>("jex.runtime.bytes.in", "By", "Bytes of member messages received, by transport");
        BytesOut = meter.CreateCounter<long>("jex.runtime.bytes.out", "By", "Bytes of runtime messages sent, by transport");
        Deploys = meter.CreateCounter<long>("jex.runtime.deploys", "{deploy}", "Code versions deployed, by outcome");
    }

    // Batches take from microseconds (a fast map over 256 items) to the deadline (seconds); the
    // SDK's default buckets start at 5 (seconds, here), which would put every batch in the first.
    private static readonly double[] DurationBuckets =
        [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private static readonly long[] SizeBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536];

    public Meter Meter { get; }

    internal Counter<long> Items { get; }

    internal Counter<long> ItemErrors { get; }

    internal Counter<long> Batches { get; }

    internal Histogram<double> BatchDuration { get; }

    internal Histogram<long> BatchSize { get; }

    internal UpDownCounter<long> InFlight { get; }

    internal UpDownCounter<long> Sessions { get; }

    internal Counter<long> BytesIn { get; }

    internal Counter<long> BytesOut { get; }

    internal Counter<long> Deploys { get; }

    /// <summary>The instruments with one session's tags, built once per session so batches add without allocating.</summary>
    public SessionMetrics ForSession(string function, string transport) => new(this, function, transport);

    /// <summary>
    /// Counts a deploy (live code): <paramref name="outcome"/> is one of a fixed set the caller
    /// owns (e.g. <c>activated</c>, <c>rejected</c>, <c>removed</c>).
    /// </summary>
    public void Deployed(string outcome) => Deploys.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void Dispose()
    {
        if (_ownsMeter)
        {
            Meter.Dispose();
        }
    }
}

/// <summary>
/// One session's view of <see cref="RuntimeMetrics"/>: the tag lists are made at Init, so the
/// batch path only calls <c>Add(value, in TagList)</c> and <c>Record(value, in TagList)</c>,
/// which allocate nothing. Recorded once per batch, never per item.
/// </summary>
internal sealed class SessionMetrics
{
    private readonly RuntimeMetrics _metrics;
    private readonly string _function;
    private readonly TagList _byFunction;
    private readonly TagList _byFunctionTransport;
    private readonly TagList _byTransport;
    private readonly TagList _ok;
    private readonly TagList _filtered;
    private readonly TagList _error;

    internal SessionMetrics(RuntimeMetrics metrics, string function, string transport)
    {
        _metrics = metrics;
        _function = function;
        _byFunction = new TagList { { "function", function } };
        _byFunctionTransport = new TagList { { "function", function }, { "transport", transport } };
        _byTransport = new TagList { { "transport", transport } };
        _ok = new TagList { { "function", function }, { "outcome", "ok" } };
        _filtered = new TagList { { "function", function }, { "outcome", "filtered" } };
        _error = new TagList { { "function", function }, { "outcome", "error" } };
    }

    public void SessionOpened() => _metrics.Sessions.Add(1, in _byTransport);

    public void SessionClosed() => _metrics.Sessions.Add(-1, in _byTransport);

    public void BatchStarted() => _metrics.InFlight.Add(1, in _byFunction);

    /// <summary>A batch ran: <paramref name="items"/> in all, of which <paramref name="errors"/> failed and <paramref name="filtered"/> succeeded with no output.</summary>
    public void BatchFinished(int items, int errors, int filtered, long elapsedMicros)
    {
        var m = _metrics;
        m.InFlight.Add(-1, in _byFunction);
        m.Batches.Add(1, in _byFunctionTransport);
        m.BatchSize.Record(items, in _byFunction);
        if (elapsedMicros is >= 0 and < long.MaxValue)
        {
            m.BatchDuration.Record(elapsedMicros / 1e6, in _byFunctionTransport);
        }

        var ok = items - errors - filtered;
        if (ok > 0)
        {
            m.Items.Add(ok, in _ok);
        }

        if (filtered > 0)
        {
            m.Items.Add(filtered, in _filtered);
        }

        if (errors > 0)
        {
            m.Items.Add(errors, in _error);
        }
    }

    /// <summary>
    /// Items that got an error without running as a batch (a refused batch): counted as items with
    /// outcome error and by code, but not as a batch.
    /// </summary>
    public void ItemsRefused(ItemError.Types.Code code, int count)
    {
        if (count <= 0)
        {
            return;
        }

        _metrics.Items.Add(count, in _error);
        ItemsFailed(code, count);
    }

    /// <summary><paramref name="count"/> items failed with <paramref name="code"/>. The code's name is a cached string, so this allocates nothing.</summary>
    public void ItemsFailed(ItemError.Types.Code code, int count)
    {
        if (count > 0)
        {
            _metrics.ItemErrors.Add(count, new KeyValuePair<string, object?>("function", _function), new KeyValuePair<string, object?>("code", ErrorCodes.Name(code)));
        }
    }

    public void BytesIn(int bytes) => _metrics.BytesIn.Add(bytes, in _byTransport);

    public void BytesOut(int bytes) => _metrics.BytesOut.Add(bytes, in _byTransport);
}

/// <summary>The item error codes as the proto spells them, without the <c>CODE_</c> prefix (<c>USER_EXCEPTION</c>).</summary>
internal static class ErrorCodes
{
    private static readonly Dictionary<int, string> Names = ItemError.Descriptor.EnumTypes[0].Values
        .ToDictionary(v => v.Number, v => v.Name.StartsWith("CODE_", StringComparison.Ordinal) ? v.Name[5..] : v.Name);

    public static string Name(ItemError.Types.Code code) => Names.TryGetValue((int)code, out var name) ? name : "UNKNOWN";
}
