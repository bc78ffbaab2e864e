using System.Diagnostics.CodeAnalysis;

namespace Jex.Protocol.Contract;

/// <summary>How a member and a runtime exchange messages.</summary>
internal enum TransportKind
{
    /// <summary>A bidirectional gRPC stream over TCP or a Unix socket; spelled <c>grpc</c>.</summary>
    Grpc,

    /// <summary>The shared-memory ring in /dev/shm (docs/shared-memory.md); spelled <c>shared-memory</c>.</summary>
    SharedMemory,
}

/// <summary>
/// The one place a <see cref="TransportKind"/> meets its spelling in configuration, job files and the ready
/// line. Enum.ToString would give "SharedMemory", which no reader accepts.
/// </summary>
internal static class TransportKinds
{
    public const string GrpcName = "grpc";
    public const string SharedMemoryName = "shared-memory";

    /// <summary>Every spelling, in the order error messages list them.</summary>
    public static readonly IReadOnlyList<string> Names = [GrpcName, SharedMemoryName];

    public static string ToWire(this TransportKind kind) => kind switch
    {
        TransportKind.Grpc => GrpcName,
        TransportKind.SharedMemory => SharedMemoryName,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a transport"),
    };

    /// <summary>Case-insensitive, as configuration keys and values are.</summary>
    public static bool TryParse(string? value, out TransportKind kind)
    {
        if (string.Equals(value, GrpcName, StringComparison.OrdinalIgnoreCase))
        {
            kind = TransportKind.Grpc;
            return true;
        }

        if (string.Equals(value, SharedMemoryName, StringComparison.OrdinalIgnoreCase))
        {
            kind = TransportKind.SharedMemory;
            return true;
        }

        kind = default;
        return false;
    }

    /// <summary>True when <paramref name="value"/> spells <paramref name="kind"/> (any case).</summary>
    public static bool Is([NotNullWhen(true)] string? value, TransportKind kind) =>
        TryParse(value, out var parsed) && parsed == kind;
}
