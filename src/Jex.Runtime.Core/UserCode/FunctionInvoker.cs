using Jex.Protocol.V1;

namespace Jex.Runtime.UserCode;

/// <summary>
/// Calls one user function for the context's current item and adds its outputs to the context.
/// Exceptions from user code propagate to the caller, which turns them into item errors.
/// </summary>
internal abstract class FunctionInvoker
{
    protected FunctionInvoker(FunctionSignature signature) => Signature = signature;

    public FunctionSignature Signature { get; }

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
            throw new PayloadBindingException($"cannot bind item to {_input.Description}: {e.Message}", e);
        }

        return _sink.AcceptAsync(_call(argument, context), context);
    }
}

internal static class ExceptionFilter
{
    /// <summary>Exceptions that must not be turned into an item error.</summary>
    public static bool IsRecoverable(Exception e) =>
        e is not (OutOfMemoryException or StackOverflowException or AccessViolationException or ThreadAbortException);
}
