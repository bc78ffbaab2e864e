using Jex.UserCode;

namespace Jex.Runtime.UserCode;

/// <summary>Takes what a function returned and adds the outputs to the context.</summary>
internal abstract class ResultSink<TRet>
{
    public abstract ValueTask AcceptAsync(TRet result, InvocationContext context);
}

/// <summary>Writes one result value as an output.</summary>
internal abstract class OutputWriter<T>
{
    public abstract void Write(T value, InvocationContext context);
}

internal sealed class ValueOutput<T>(PayloadBinder<T> binder) : OutputWriter<T>
{
    public override void Write(T value, InvocationContext context)
    {
        var bytes = binder.Write(value, context.ValueFormat, context, out var format);
        context.AddOutput(bytes, format);
    }
}

internal sealed class EntryOutput<TKey, TValue>(PayloadBinder<TKey> key, PayloadBinder<TValue> value) : OutputWriter<MapEntry<TKey, TValue>>
{
    public override void Write(MapEntry<TKey, TValue> entry, InvocationContext context)
    {
        // The key's bytes may sit in an encoder buffer the value's write reuses: keep them first.
        var keyBytes = context.Keep(key.Write(entry.Key, context.KeyFormat, context, out var keyFormat).Span);
        var valueBytes = value.Write(entry.Value, context.ValueFormat, context, out var valueFormat);
        context.AddOutput(keyBytes, keyFormat, valueBytes, valueFormat);
    }
}

/// <summary>Map: one output, or none when the function returned null.</summary>
internal sealed class SingleSink<T>(OutputWriter<T> writer) : ResultSink<T>
{
    public override ValueTask AcceptAsync(T result, InvocationContext context)
    {
        if (result is not null)
        {
            writer.Write(result, context);
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>Flat-map over a sequence; null elements are skipped like filtered items.</summary>
internal sealed class EnumerableSink<TRet, T>(OutputWriter<T> writer) : ResultSink<TRet>
    where TRet : IEnumerable<T>?
{
    public override ValueTask AcceptAsync(TRet result, InvocationContext context)
    {
        if (result is not null)
        {
            foreach (var item in result)
            {
                if (item is not null)
                {
                    writer.Write(item, context);
                }
            }
        }

        return ValueTask.CompletedTask;
    }
}

internal sealed class AsyncEnumerableSink<TRet, T>(OutputWriter<T> writer) : ResultSink<TRet>
    where TRet : IAsyncEnumerable<T>?
{
    public override async ValueTask AcceptAsync(TRet result, InvocationContext context)
    {
        if (result is null)
        {
            return;
        }

        await foreach (var item in result.WithCancellation(context.CancellationToken).ConfigureAwait(false))
        {
            if (item is not null)
            {
                writer.Write(item, context);
            }
        }
    }
}

internal sealed class TaskSink<TRet, T>(ResultSink<T> inner) : ResultSink<TRet>
    where TRet : Task<T>
{
    public override ValueTask AcceptAsync(TRet result, InvocationContext context) =>
        result.IsCompletedSuccessfully ? inner.AcceptAsync(result.Result, context) : AwaitAsync(result, context);

    private async ValueTask AwaitAsync(TRet result, InvocationContext context) =>
        await inner.AcceptAsync(await result.ConfigureAwait(false), context).ConfigureAwait(false);
}

internal sealed class ValueTaskSink<T>(ResultSink<T> inner) : ResultSink<ValueTask<T>>
{
    public override ValueTask AcceptAsync(ValueTask<T> result, InvocationContext context) =>
        result.IsCompletedSuccessfully ? inner.AcceptAsync(result.Result, context) : AwaitAsync(result, context);

    private async ValueTask AwaitAsync(ValueTask<T> result, InvocationContext context) =>
        await inner.AcceptAsync(await result.ConfigureAwait(false), context).ConfigureAwait(false);
}

/// <summary>void, Task and ValueTask: no output, but wait for completion so errors surface.</summary>
internal sealed class NoOutputSink<TRet> : ResultSink<TRet>
{
    public override ValueTask AcceptAsync(TRet result, InvocationContext context) => result switch
    {
        Task task => new ValueTask(task),
        ValueTask valueTask => valueTask,
        _ => ValueTask.CompletedTask,
    };
}
