using Jex.Protocol.V1;
using Jex.Runtime.UserCode;

namespace Jex.Runtime.Deploy;

/// <summary>
/// One session's hold on user code: the function it named, the signature its Ready announced, and
/// its binding to the current code, resolved again only when the current code changed. Registered
/// with <see cref="CodeVersions"/> for the session's life, so an activation can check that the new
/// code still offers this function.
/// </summary>
internal sealed class SessionCode
{
    private readonly CodeVersions _versions;
    private CodeBinding? _binding;

    internal SessionCode(CodeVersions versions, long sessionId, string functionName, Format keyFormat, Format valueFormat, CodeBinding first)
    {
        _versions = versions;
        SessionId = sessionId;
        FunctionName = functionName;
        KeyFormat = keyFormat;
        ValueFormat = valueFormat;
        _binding = first;
        Signature = first.Invoker.SignatureFor(keyFormat, valueFormat);
    }

    public long SessionId { get; }

    public string FunctionName { get; }

    public Format KeyFormat { get; }

    public Format ValueFormat { get; }

    /// <summary>What the session's Ready said; a new version must offer the same kinds.</summary>
    public FunctionSignature Signature { get; }

    /// <summary>The binding the session starts on (its Ready's code_version); null only after it was released.</summary>
    internal CodeBinding? Current => Volatile.Read(ref _binding);

    /// <summary>
    /// The binding for the session's next batch, with the batch counted on its code: release it with
    /// <see cref="CodeBinding.Exit"/> when the batch ends. When the current code did not change this is
    /// an increment, two volatile reads and a compare: no lock, no allocation. Null when the current
    /// code lacks the function (an activation checks this first, so only a race with one can see it).
    /// </summary>
    public CodeBinding? Enter()
    {
        var code = _versions.EnterCurrent();
        var binding = Volatile.Read(ref _binding);
        if (binding is not null && ReferenceEquals(binding.Code, code))
        {
            return binding;
        }

        return Rebind(code);
    }

    private CodeBinding? Rebind(LoadedCode code)
    {
        if (code.Catalog is not { } catalog || !catalog.TryGet(FunctionName, out var function))
        {
            code.Exit();
            return null;
        }

        var binding = new CodeBinding(code, function.Invoker);
        Volatile.Write(ref _binding, binding);
        return binding;
    }

    /// <summary>Drops the cached binding if it is to <paramref name="code"/>, which is being unloaded.</summary>
    internal void Forget(LoadedCode code)
    {
        var binding = Volatile.Read(ref _binding);
        if (binding is not null && ReferenceEquals(binding.Code, code))
        {
            Interlocked.CompareExchange(ref _binding, null, binding);
        }
    }

    /// <summary>The session ended.</summary>
    public void Release()
    {
        _versions.Unregister(this);
        Volatile.Write(ref _binding, null);
    }
}

/// <summary>A session's function in one loaded code: what a batch calls, and the version it reports.</summary>
internal sealed class CodeBinding(LoadedCode code, FunctionInvoker invoker)
{
    public LoadedCode Code { get; } = code;

    public FunctionInvoker Invoker { get; } = invoker;

    public string VersionId => Code.VersionId;

    public void Exit() => Code.Exit();
}
