using Jex.Protocol.V1;

namespace Jex.Runtime.UserCode;

/// <summary>
/// Calls one user function for the context's current item and adds its outputs to the context.
/// Exceptions from user code propagate to the caller, which turns them into item errors.
/// </summary>
internal abstract class FunctionInvoker
{
    protected FunctionInvoker(FunctionSignature signature) => Signature = signature;

    /// <summary>The signature at load, with every format a type can bind in (for the load log).</summary>
    public FunctionSignature Signature { get; }

    /// <summary>Describes input and output in a session's formats; null keeps <see cref="Signature"/> as it is.</summary>
    public SignatureLabels? Labels { get; set; }

    /// <summary>The signature a session with these formats sees (its Ready).</summary>
    public FunctionSignature SignatureFor(Format keyFormat, Format valueFormat) =>
        Labels?.For(Signature, keyFormat, valueFormat) ?? Signature;

    public abstract ValueTask InvokeAsync(InvocationContext context);
}

internal sealed class FunctionInvoker<TIn, TRet> : FunctionInvoker
{
    private readonly Func<TIn, InvocationContext, TRet> _call;
    private readonly InputReader<TIn> _input;
    private readonly ResultSink<TRet> _sink;

    public FunctionInvoker(FunctionSignature signature, Func<TIn, InvocationContext, TRet> call, InputReader<TIn> input, ResultSink<TRet> sink)
        : base(signature)
    {
        _call = call;
        _input = input;
        _sink = sink;
    }

    public override ValueTask InvokeAsync(InvocationContext context)
    {
        TIn argument;
        try
        {
            argument = _input.Read(context);
        }
        catch (Exception e) when (e is not PayloadBindingException && ExceptionFilter.IsRecoverable(e))
        {
            // Named in the item's own formats (json:SomeThing, compact:some-thing), not every format the type could take.
            var input = Labels is null ? _input.Description : SignatureFor(context.KeyFormat, context.ValueFormat).Input;
            throw new PayloadBindingException($"cannot bind item to {input}: {e.Message}", e);
        }

        return _sink.AcceptAsync(_call(argument, context), context);
    }
}

/// <summary>The input and output types of a function, described in the formats of one session.</summary>
internal sealed class SignatureLabels(PayloadCodecs codecs, Type input, Type? output)
{
    public FunctionSignature For(FunctionSignature loaded, Format keyFormat, Format valueFormat)
    {
        var signature = loaded.Clone();
        signature.Input = codecs.Describe(input, keyFormat, valueFormat);
        if (output is not null)
        {
            signature.Output = codecs.Describe(output, keyFormat, valueFormat);
        }

        return signature;
    }
}

internal static class ExceptionFilter
{
    /// <summary>Exceptions that must not be turned into an item error.</summary>
    public static bool IsRecoverable(Exception e) =>
        e is not (OutOfMemoryException or StackOverflowException or AccessViolationException or ThreadAbortException);
}
