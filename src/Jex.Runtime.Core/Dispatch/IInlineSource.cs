namespace Jex.Runtime.Dispatch;

/// <summary>
/// A source of member messages whose reads may block the calling thread (a shared-memory slot's own
/// thread): the session reads it on the calling thread instead of hopping to the thread pool first,
/// so a small batch is read, run and answered without a thread hand-off. The source ends its reads
/// (MoveNextAsync returns false) when the runtime stops.
/// </summary>
internal interface IInlineSource;
