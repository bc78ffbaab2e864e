using Jex.Protocol.V1;
using YamlDotNet.RepresentationModel;

namespace Jex.Cli.Run;

/// <summary>The transform stage's scheduling keys: ordering and max-concurrency.</summary>
internal sealed partial class JobFileParser
{
    private static readonly string[] Orderings = ["batch", "key"];

    /// <summary>The largest max-concurrency a job may ask for; the runtime lowers it to its own UserCode:MaxConcurrency.</summary>
    internal const int MaxConcurrencyLimit = 4096;

    /// <summary>
    /// <c>ordering: batch|key</c> (default batch) and <c>max-concurrency: N</c>, which only means
    /// something with key ordering: given with batch ordering it is an error rather than ignored.
    /// </summary>
    private Ordering ParseOrdering(YamlMappingNode stage, string path, out int maxConcurrency)
    {
        var ordering = Choice(stage, "ordering", path, Orderings, "ordering") == "key" ? Ordering.Key : Ordering.Batch;
        maxConcurrency = Int(stage, "max-concurrency", path, 0, 1, MaxConcurrencyLimit);
        if (ordering == Ordering.Batch && Get(stage, "max-concurrency") is { } node)
        {
            throw Error(node, path + ".max-concurrency",
                "max-concurrency applies only to 'ordering: key' (with batch ordering a batch's items run one after another); add 'ordering: key' or remove max-concurrency");
        }

        return ordering;
    }
}
