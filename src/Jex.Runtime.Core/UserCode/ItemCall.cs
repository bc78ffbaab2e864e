namespace Jex.Runtime.UserCode;

/// <summary>
/// One function call for the context's current item, as the dispatcher makes it and the test kit
/// repeats it: a call that completes synchronously costs nothing more; one that is still running
/// when its token fires (deadline or cancel) is abandoned, not awaited, so the batch
/// answers on time.
/// </summary>
internal static class ItemCall
{
    /// <summary>
    /// Runs the call. On abandonment the context is marked (<see cref="InvocationContext.IsAbandoned"/>:
    /// its buffers must never be reused), <paramref name="onAbandoned"/> gets the still-running task
    /// and <paramref name="state"/>, and the <see cref="OperationCanceledException"/> propagates.
    /// Exceptions from binding or user code propagate as they are.
    /// </summary>
    public static ValueTask InvokeAsync(
        FunctionInvoker invoker, InvocationContext context, CancellationToken token, Action<Task, object?>? onAbandoned, object? state)
    {
        var pending = invoker.InvokeAsync(context);
        return pending.IsCompletedSuccessfully ? default : AwaitOrAbandonAsync(pending.AsTask(), context, token, onAbandoned, state);
    }

    private static async ValueTask AwaitOrAbandonAsync(
        Task task, InvocationContext context, CancellationToken token, Action<Task, object?>? onAbandoned, object? state)
    {
        try
        {
            await task.WaitAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!task.IsCompleted)
        {
            context.Abandon();
            onAbandoned?.Invoke(task, state);
            throw;
        }
    }
}
