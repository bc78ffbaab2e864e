using Jex.UserCode;

namespace Jex.Runtime.UserCode;

/// <summary>Produces a function's argument from the context's current item.</summary>
internal abstract class InputReader<T>
{
    public abstract string Description { get; }

    public abstract T Read(InvocationContext context);
}

internal sealed class ValueInput<T>(PayloadBinder<T> binder, string description) : InputReader<T>
{
    public override string Description => description;

    public override T Read(InvocationContext context) => binder.Read(context.Value, context.ValueFormat, context);
}

internal sealed class EntryInput<TKey, TValue>(PayloadBinder<TKey> key, PayloadBinder<TValue> value, string description)
    : InputReader<MapEntry<TKey, TValue>>
{
    public override string Description => description;

    public override MapEntry<TKey, TValue> Read(InvocationContext context) => new(
        key.Read(context.Key, context.KeyFormat, context),
        value.Read(context.Value, context.ValueFormat, context));
}
