namespace Jex.Member.Sessions;

/// <summary>The job cannot go on, and restarting the runtime would not help; the message says why.</summary>
internal sealed class JobFailedException : Exception
{
    public JobFailedException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>
    /// The runtime's own exit code when it refused to start for good (2: configuration, 3: user
    /// code did not load); null for other failures.
    /// </summary>
    public int? ExitCode { get; init; }
}
