using Jex.Protocol.Contract;
using Jex.Protocol.V1;

namespace Jex.Member.Sessions;

/// <summary>What the member tells the runtime in Init.</summary>
internal sealed record SessionSettings
{
    public required string JobId { get; init; }

    public required string JobName { get; init; }

    public required string StageName { get; init; }

    public required string Function { get; init; }

    public Format KeyFormat { get; init; } = Format.Text;

    public Format ValueFormat { get; init; } = Format.Json;

    /// <summary>Largest batch the member sends, in encoded bytes.</summary>
    public uint MaxBatchBytes { get; init; } = 1024 * 1024;

    public uint MaxInFlight { get; init; } = 4;

    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>
    /// ORDERING_BATCH (a batch's items one after another, the default) or ORDERING_KEY (items run
    /// concurrently except those with equal keys, which keep their order).
    /// </summary>
    public Ordering Ordering { get; init; } = Ordering.Batch;

    /// <summary>With ORDERING_KEY: items running at once in the session; 0 leaves it to the runtime (UserCode:MaxConcurrency).</summary>
    public uint MaxConcurrency { get; init; }

    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    public Init ToInit(string token)
    {
        var init = new Init
        {
            ProtocolVersion = ProtocolContract.Version,
            Token = token,
            JobId = JobId,
            JobName = JobName,
            StageName = StageName,
            Function = Function,
            KeyFormat = KeyFormat,
            ValueFormat = ValueFormat,
            MaxBatchBytes = MaxBatchBytes,
            LogLevel = LogLevel,
            MaxInFlight = MaxInFlight,
            Ordering = Ordering,
            MaxConcurrency = Ordering == Ordering.Key ? MaxConcurrency : 0,
        };
        foreach (var (key, value) in Settings)
        {
            init.Settings[key] = value;
        }

        return init;
    }
}
