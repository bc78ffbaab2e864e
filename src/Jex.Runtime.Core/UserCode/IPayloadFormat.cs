using Jex.Protocol.V1;

namespace Jex.Runtime.UserCode;

/// <summary>
/// A payload format that keeps state per session (Compact schemas are one): the dispatcher starts
/// one <see cref="IFormatSession"/> per accepted Init and knows nothing else about the format.
/// </summary>
internal interface IPayloadFormat
{
    /// <summary>The capability Ready advertises for this format (e.g. <c>compact</c>).</summary>
    string Capability { get; }

    /// <summary>Called once per session, when its Init is accepted.</summary>
    IFormatSession StartSession();
}

/// <summary>One session's state of an <see cref="IPayloadFormat"/>; thread-safe, as batches run concurrently.</summary>
internal interface IFormatSession
{
    /// <summary>
    /// Takes the schemas the member announced in a Schemas message. Every valid one is kept; the bad
    /// ones are named in one <see cref="PayloadBindingException"/>.
    /// </summary>
    void AcceptSchemas(Schemas schemas);

    /// <summary>
    /// After a batch ran: the message that must reach the member before that batch's result, or
    /// null when there is none. Returning null costs no allocation, so a batch that created no new
    /// schema pays nothing for the hook.
    /// </summary>
    RuntimeMessage? TakePending();
}
