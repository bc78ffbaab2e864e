using System.Reflection;
using System.Reflection.Metadata;
using System.Runtime.CompilerServices;
using System.Text;
using Jex.Runtime.UserCode;

namespace Jex.Runtime.Deploy;

/// <summary>
/// One activation of a version: its functions in their own load contexts, and the batches running
/// on it. Activating a version again (a rollback) loads it again into a new instance. Once retired
/// (another activation became current) and with no batch left, it drops its catalog and unloads
/// its contexts.
/// </summary>
internal sealed class LoadedCode
{
    private readonly Action<LoadedCode> _onUnload;
    private FunctionCatalog? _catalog;
    private int _batches;
    private int _retired;
    private int _unloaded;

    public LoadedCode(CodeVersion version, FunctionCatalog catalog, long generation, Action<LoadedCode> onUnload)
    {
        Version = version;
        _catalog = catalog;
        Generation = generation;
        _onUnload = onUnload;
        VersionId = version.Id;
        VersionIdUtf8 = Encoding.UTF8.GetBytes(version.Id);
    }

    public CodeVersion Version { get; }

    /// <summary>What BatchResult.code_version and Ready.code_version carry; empty when deploy is off.</summary>
    public string VersionId { get; }

    /// <summary><see cref="VersionId"/> encoded once, for the hand-written result encoder.</summary>
    public byte[] VersionIdUtf8 { get; }

    /// <summary>Increases with every activation in the runtime; sessions compare it to see a switch.</summary>
    public long Generation { get; }

    /// <summary>The functions; null once unloaded.</summary>
    public FunctionCatalog? Catalog => Volatile.Read(ref _catalog);

    public int Batches => Volatile.Read(ref _batches);

    public bool IsRetired => Volatile.Read(ref _retired) != 0;

    public bool IsUnloaded => Volatile.Read(ref _unloaded) != 0;

    /// <summary>Counts a batch on this code (the caller then checks that it is still current).</summary>
    public void Enter() => Interlocked.Increment(ref _batches);

    /// <summary>A batch on this code ended; the last one on retired code unloads it.</summary>
    public void Exit()
    {
        if (Interlocked.Decrement(ref _batches) == 0 && IsRetired)
        {
            Unload();
        }
    }

    /// <summary>Another activation is current now: unload as soon as no batch runs here.</summary>
    public void Retire()
    {
        Interlocked.Exchange(ref _retired, 1);
        if (Volatile.Read(ref _batches) == 0)
        {
            Unload();
        }
    }

    private void Unload()
    {
        if (Interlocked.Exchange(ref _unloaded, 1) != 0)
        {
            return;
        }

        // Sessions' cached bindings go first, so nothing the runtime holds points into the contexts.
        _onUnload(this);
        var catalog = Interlocked.Exchange(ref _catalog, null);
        if (catalog is not null)
        {
            UnloadContexts(catalog);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void UnloadContexts(FunctionCatalog catalog)
    {
        foreach (var context in catalog.Contexts)
        {
            context.Unload();
        }

        ClearJsonCaches();
        CollectSoon();
    }

    private static int _collectPending;

    /// <summary>
    /// An unloaded context's memory (its JIT code, type data, statics) is freed only when a full
    /// collection finds its loader unreachable and the finalizers have run; a runtime whose heap is
    /// steady may not run one for a long time, so each unload asks for one, off the batch path.
    /// Unloads close together share one.
    /// </summary>
    private static void CollectSoon()
    {
        if (Interlocked.Exchange(ref _collectPending, 1) != 0)
        {
            return;
        }

        _ = Task.Run(static async () =>
        {
            // Lets the batch that retired the code finish first, and coalesces a burst of unloads.
            await Task.Delay(100).ConfigureAwait(false);
            Volatile.Write(ref _collectPending, 0);
            GC.Collect(2, GCCollectionMode.Forced, blocking: true);
            GC.WaitForPendingFinalizers();
            GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        });
    }

    private static readonly Action? ClearJsonCache = FindJsonCacheClear();

    /// <summary>
    /// System.Text.Json keeps the property accessors it emitted in a process-wide cache, keyed by
    /// type, that it trims only while it is being used: the last version's types would stay in it,
    /// and keep their load context alive, until some later JSON binding happened to run more than a
    /// second after them. Its hot-reload hook clears that cache and the shared metadata caches; the
    /// current version's metadata is rebuilt at its next JSON item.
    /// </summary>
    internal static void ClearJsonCaches() => ClearJsonCache?.Invoke();

    private static Action? FindJsonCacheClear()
    {
        foreach (var attribute in typeof(System.Text.Json.JsonSerializer).Assembly.GetCustomAttributes<MetadataUpdateHandlerAttribute>())
        {
            if (attribute.HandlerType.GetMethod("ClearCache", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static, [typeof(Type[])]) is { } clear)
            {
                return () => clear.Invoke(null, [null]);
            }
        }

        return null;
    }
}
