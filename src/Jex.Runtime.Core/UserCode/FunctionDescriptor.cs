using Grpc.Core;
using Jex.Protocol.V1;
using Jex.Runtime.Dispatch;

namespace Jex.Runtime.UserCode;

/// <summary>
/// A loaded function. Its name and signature are known from load; its <see cref="Invoker"/> (the
/// compiled call) is built the first time something reads it, which is the first session Init that
/// names the function (Session reads the signature for Ready through it). The build runs once, however
/// many sessions race for it; later reads are one volatile load.
/// </summary>
internal sealed class FunctionDescriptor
{
    private readonly Lock _gate = new();
    private Func<FunctionInvoker>? _build;
    private FunctionInvoker? _invoker;
    private int _builds;

    /// <summary>A function whose invoker is already built.</summary>
    public FunctionDescriptor(string name, string methodDisplayName, string assemblyPath, FunctionInvoker invoker)
        : this(name, methodDisplayName, assemblyPath, invoker.Signature, build: null) => _invoker = invoker;

    /// <summary>A function from a load-time plan; the call is compiled on first use.</summary>
    public FunctionDescriptor(string name, string methodDisplayName, string assemblyPath, FunctionPlan plan)
        : this(name, methodDisplayName, assemblyPath, plan.Signature, () => FunctionInvokerFactory.Build(plan))
    {
    }

    /// <summary>A function whose invoker <paramref name="build"/> makes on first use.</summary>
    public FunctionDescriptor(string name, string methodDisplayName, string assemblyPath, FunctionSignature signature, Func<FunctionInvoker>? build)
    {
        Name = name;
        MethodDisplayName = methodDisplayName;
        AssemblyPath = assemblyPath;
        Signature = signature;
        _build = build;
    }

    public string Name { get; }

    public string MethodDisplayName { get; }

    public string AssemblyPath { get; }

    /// <summary>The signature (for the load log and Ready), known without compiling anything.</summary>
    public FunctionSignature Signature { get; }

    /// <summary>Whether the invoker has been built.</summary>
    public bool IsBuilt => Volatile.Read(ref _invoker) is not null;

    /// <summary>How many times the invoker was built: 0 before first use, then 1.</summary>
    internal int BuildCount => Volatile.Read(ref _builds);

    /// <summary>
    /// The invoker, built on first read. A build that fails (the call cannot be compiled, which the
    /// load-time checks should have prevented) refuses the session with INTERNAL naming the function,
    /// and the next read tries again.
    /// </summary>
    public FunctionInvoker Invoker => Volatile.Read(ref _invoker) ?? BuildOnce();

    private FunctionInvoker BuildOnce()
    {
        lock (_gate)
        {
            if (_invoker is { } built)
            {
                return built;
            }

            FunctionInvoker invoker;
            try
            {
                Interlocked.Increment(ref _builds);
                invoker = _build!();
            }
            catch (Exception e) when (ExceptionFilter.IsRecoverable(e))
            {
                throw new SessionRejectedException(StatusCode.Internal,
                    $"function '{Name}' ({MethodDisplayName} in '{AssemblyPath}') could not be prepared: {e.GetType().Name}: {e.Message}");
            }

            // Published after it is complete; the plan (binders, target) now lives in the invoker.
            Volatile.Write(ref _invoker, invoker);
            _build = null;
            return invoker;
        }
    }
}
