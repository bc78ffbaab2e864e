namespace Jex.Member.Sessions;

/// <summary>The job cannot go on, and restarting the runtime would not help; the message says why.</summary>
internal sealed class JobFailedException : Exception
{
    public JobFailedException(string message, Exception? inner = null) : base(message, inner) { }
}
